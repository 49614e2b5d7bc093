/**
 * The Tensor: a typed array, a shape and a dtype, immutable once made (as in
 * TensorFlow.js). float32 tensors are Float32Array-backed; int32 use
 * Int32Array; bool use Uint8Array (0 or 1).
 */
import { DisposedTensorError, formatShape } from './errors.js';

/** Element types a tensor can hold. */
export type DataType = 'float32' | 'int32' | 'bool';

/** The typed array behind each dtype. */
export interface DataTypeMap {
  float32: Float32Array;
  int32: Int32Array;
  bool: Uint8Array;
}

/** Any typed array a tensor can be made from or hold. */
export type TypedArray = Float32Array | Int32Array | Uint8Array;

/** Nested arrays of numbers or booleans, as `tensor()` accepts them. */
export type TensorLike = number | boolean | TypedArray | RecursiveArray;
/** A (possibly nested) array of numbers or booleans. */
export interface RecursiveArray extends Array<number | boolean | RecursiveArray | TypedArray> {}

/** Nested arrays in the shape of a tensor, as `array()` returns them. */
export type NestedArray = number | NestedArray[];

const DTYPES: readonly DataType[] = ['float32', 'int32', 'bool'];

/** An n-dimensional array. Create with {@link tensor}. */
export class Tensor<D extends DataType = DataType> {
  /** Dimensions, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: D;
  /** Number of elements (product of the shape). */
  readonly size: number;
  /** Number of dimensions. */
  readonly rank: number;
  private values: DataTypeMap[D] | null;

  /** @internal Use {@link tensor}: it checks values against the shape. */
  constructor(values: DataTypeMap[D], shape: readonly number[], dtype: D) {
    this.values = values;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = shapeSize(shape);
    this.rank = shape.length;
  }

  /** True once {@link dispose} has been called. */
  get isDisposed(): boolean {
    return this.values === null;
  }

  /**
   * The values as a typed array (a copy: the tensor stays immutable).
   * Async for TensorFlow.js compatibility; resolves at once.
   */
  async data(): Promise<DataTypeMap[D]> {
    return this.dataSync();
  }

  /** The values as a typed array (a copy). */
  dataSync(): DataTypeMap[D] {
    return this.view().slice() as DataTypeMap[D];
  }

  /** The values as nested arrays in the tensor's shape (a scalar as a number). */
  async array(): Promise<NestedArray> {
    return this.arraySync();
  }

  /** The values as nested arrays in the tensor's shape (a scalar as a number). */
  arraySync(): NestedArray {
    const values = this.view();
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return values[offset];
      const stride = shapeSize(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** Frees the values. Any later use of the tensor throws. */
  dispose(): void {
    this.values = null;
  }

  /**
   * @internal The backing typed array itself, without a copy. The library's
   * own code uses it to hand data to the kernels; it must not be written to.
   */
  view(): DataTypeMap[D] {
    if (this.values === null) throw new DisposedTensorError(`a tensor of shape ${formatShape(this.shape)} was used after dispose()`);
    return this.values;
  }

  /** Returns a tensor with the same values and a new shape of the same size. */
  reshape(shape: readonly number[]): Tensor<D> {
    checkShape(shape, 'shape');
    if (shapeSize(shape) !== this.size) {
      throw new RangeError(`cannot reshape a tensor of shape ${formatShape(this.shape)} (${this.size} elements) to ${formatShape(shape)}`);
    }
    return new Tensor(this.view(), shape, this.dtype);
  }

  /** A short description, e.g. `Tensor float32 [2, 3]`. */
  toString(): string {
    return `Tensor ${this.dtype} ${formatShape(this.shape)}`;
  }
}

/** Product of the dimensions; 1 for a scalar. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: unknown, name: string): asserts shape is number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${name} must be an array of non-negative integers, got ${typeof shape}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new TypeError(`${name} must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
  }
}

function isTypedArray(v: unknown): v is TypedArray | Float64Array | Int8Array | Int16Array | Uint16Array | Uint32Array | Uint8ClampedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function inferShape(values: unknown): number[] {
  const shape: number[] = [];
  let v: unknown = values;
  while (Array.isArray(v) || isTypedArray(v)) {
    shape.push((v as ArrayLike<unknown>).length);
    if ((v as ArrayLike<unknown>).length === 0) break;
    v = (v as ArrayLike<unknown>)[0];
  }
  return shape;
}

function flatten(values: unknown, shape: number[], dim: number, out: (number | boolean)[], path: string): void {
  if (dim === shape.length) {
    if (typeof values !== 'number' && typeof values !== 'boolean') {
      throw new TypeError(`tensor(): element ${path || '[]'} is ${values === null ? 'null' : typeof values}, expected a number or boolean`);
    }
    out.push(values);
    return;
  }
  if (!Array.isArray(values) && !isTypedArray(values)) {
    throw new RangeError(`tensor(): nested arrays are ragged: element ${path || '[]'} should be an array of length ${shape[dim]}`);
  }
  const arr = values as ArrayLike<unknown>;
  if (arr.length !== shape[dim]) {
    throw new RangeError(`tensor(): nested arrays are ragged: element ${path || '[]'} has length ${arr.length}, expected ${shape[dim]}`);
  }
  for (let i = 0; i < arr.length; i++) flatten(arr[i], shape, dim + 1, out, `${path}[${i}]`);
}

function toTyped(flat: ArrayLike<number | boolean>, dtype: DataType): TypedArray {
  const n = flat.length;
  if (dtype === 'float32') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = Number(flat[i]);
    return out;
  }
  if (dtype === 'int32') {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = Number(flat[i]);
      if (!Number.isFinite(v)) throw new RangeError(`tensor(): int32 value at index ${i} is ${v}`);
      out[i] = v;
    }
    return out;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = flat[i] ? 1 : 0;
  return out;
}

/**
 * Creates a tensor, as `tf.tensor` does.
 *
 * @param values a TypedArray, a flat array (with `shape`), nested arrays
 *   (shape inferred) or a single number.
 * @param shape dimensions; required for flat values that are not 1-D.
 * @param dtype `'float32'` (default), `'int32'` or `'bool'`.
 * @throws TypeError for values that are not numbers, RangeError when the
 *   number of values does not match the shape.
 */
export function tensor<D extends DataType = 'float32'>(values: TensorLike, shape?: readonly number[], dtype?: D): Tensor<D> {
  const dt = (dtype ?? inferDtype(values)) as D;
  if (!DTYPES.includes(dt)) throw new TypeError(`tensor(): unknown dtype ${JSON.stringify(dt)}; expected one of ${DTYPES.join(', ')}`);
  if (shape !== undefined) checkShape(shape, 'tensor(): shape');
  if (values === null || values === undefined) throw new TypeError('tensor(): values must be a number, an array or a TypedArray');
  if (typeof values === 'number' || typeof values === 'boolean') {
    const s = shape ?? [];
    if (shapeSize(s) !== 1) throw new RangeError(`tensor(): a single value cannot fill shape ${formatShape(s)}`);
    return new Tensor(toTyped([values], dt) as DataTypeMap[D], s, dt);
  }
  if (!Array.isArray(values) && !isTypedArray(values)) {
    throw new TypeError(`tensor(): values must be a number, an array or a TypedArray, got ${typeof values}`);
  }
  if (isTypedArray(values)) {
    const s = shape ?? [values.length];
    if (shapeSize(s) !== values.length) {
      throw new RangeError(`tensor(): ${values.length} values do not fill shape ${formatShape(s)} (${shapeSize(s)} elements)`);
    }
    return new Tensor(toTyped(values as ArrayLike<number>, dt) as DataTypeMap[D], s, dt);
  }
  const inferred = inferShape(values);
  const flat: (number | boolean)[] = [];
  flatten(values, inferred, 0, flat, '');
  const s = shape ?? inferred;
  if (shapeSize(s) !== flat.length) {
    throw new RangeError(`tensor(): ${flat.length} values do not fill shape ${formatShape(s)} (${shapeSize(s)} elements)`);
  }
  return new Tensor(toTyped(flat, dt) as DataTypeMap[D], s, dt);
}

function inferDtype(values: TensorLike): DataType {
  if (values instanceof Int32Array) return 'int32';
  if (values instanceof Uint8Array) return 'bool';
  if (typeof values === 'boolean') return 'bool';
  return 'float32';
}

/** @internal Makes a float32 tensor that takes ownership of `values` (no copy). */
export function float32Tensor(values: Float32Array, shape: readonly number[]): Tensor<'float32'> {
  if (values.length !== shapeSize(shape)) throw new RangeError(`internal: ${values.length} values for shape ${formatShape(shape)}`);
  return new Tensor(values, shape, 'float32');
}

/** Creates a float32 tensor of zeros. */
export function zeros(shape: readonly number[]): Tensor<'float32'> {
  checkShape(shape, 'zeros(): shape');
  return new Tensor(new Float32Array(shapeSize(shape)), shape, 'float32');
}
