/**
 * Data given to fit/evaluate/predict: a tensor, nested number arrays, or one
 * of those per model input or output (a list, or an object keyed by name).
 * Converted once to tensors, checked (counts agree, shapes fit, values are
 * finite), then cut into batches.
 */
import { formatShape } from '../errors.js';
import { Tensor, tensor, shapeSize, type DataType, type TensorLike } from '../tensor.js';
import type { Shape } from '../layers/layer.js';

/** What fit/evaluate/predict accept for x or y: one tensor or array, a list, or an object by input/output name. */
export type ModelData = Tensor | TensorLike | Array<Tensor | TensorLike> | Record<string, Tensor | TensorLike>;

/** A slot the data fills: a model input or output. */
export interface DataSlot {
  name: string;
  shape: Shape;
  dtype: DataType;
  /** y for a sparse crossentropy: integer class ids, without the classes dimension (or with it as 1). */
  sparse?: boolean;
}

/**
 * The data as one tensor per slot. `what` names the argument in messages
 * (`x`, `y`, `validationData x`).
 */
export function toTensors(data: unknown, slots: DataSlot[], what: string): Tensor[] {
  if (data === null || data === undefined) throw new TypeError(`${what} is missing`);
  let parts: unknown[];
  if (data instanceof Tensor) parts = [data];
  else if (isPlainObject(data)) {
    const obj = data as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!slots.some((s) => s.name === key)) throw new TypeError(`${what}: no model ${what.startsWith('y') ? 'output' : 'input'} is named ${JSON.stringify(key)}; the names are ${slots.map((s) => s.name).join(', ')}`);
    }
    parts = slots.map((s) => {
      if (!(s.name in obj)) throw new TypeError(`${what}: missing ${JSON.stringify(s.name)}`);
      return obj[s.name];
    });
  } else if (Array.isArray(data)) {
    // One slot: the array is the data itself, unless it is a list of one tensor.
    if (slots.length === 1) parts = data.length === 1 && data[0] instanceof Tensor ? [data[0]] : [data];
    else parts = data;
  } else if (ArrayBuffer.isView(data)) {
    parts = [data];
  } else {
    throw new TypeError(`${what} must be a Tensor, nested number arrays, or a list of them (one per model ${what.startsWith('y') ? 'output' : 'input'}), got ${typeof data}`);
  }
  if (parts.length !== slots.length) {
    throw new RangeError(`${what}: the model has ${slots.length} ${what.startsWith('y') ? 'outputs' : 'inputs'} (${slots.map((s) => s.name).join(', ')}), got ${parts.length} arrays`);
  }
  return parts.map((p, i) => toTensor(p, slots[i], slots.length === 1 ? what : `${what}[${i}] (${slots[i].name})`));
}

function toTensor(value: unknown, slot: DataSlot, what: string): Tensor {
  let t: Tensor;
  if (value instanceof Tensor) {
    if (value.isDisposed) throw new TypeError(`${what} was disposed`);
    t = value;
    if (t.dtype === 'bool') t = castTo(t, slot.dtype);
    else if (slot.dtype === 'float32' && t.dtype !== 'float32') t = castTo(t, 'float32');
  } else {
    try {
      t = tensor(value as TensorLike, undefined, slot.dtype === 'int32' ? 'float32' : slot.dtype);
    } catch (e) {
      throw new TypeError(`${what}: ${(e as Error).message}`);
    }
  }
  if (t.rank === 0) throw new RangeError(`${what} must have a batch dimension, got a scalar`);
  if (t.dtype === 'float32') {
    const v = t.view();
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new RangeError(`${what} contains ${v[i]} at flat index ${i} (sample ${Math.floor(i / (t.size / t.shape[0]))}); every value must be finite`);
    }
  }
  if (slot.sparse) {
    // Class ids (batch, ...) or (batch, ..., 1) for an output (batch, ..., classes).
    const lead = slot.shape.slice(0, -1);
    const ids = t.rank === lead.length ? t : t.rank === slot.shape.length && t.shape[t.rank - 1] === 1 ? t.reshape(t.shape.slice(0, -1)) : null;
    const ok = ids !== null && lead.every((d, i) => i === 0 || d === null || d === ids.shape[i]);
    if (!ok) throw new RangeError(`${what} must hold class ids of shape ${formatShape([null, ...lead.slice(1)])} for a sparse crossentropy, got ${formatShape(t.shape)}`);
    return ids;
  }
  // A flat vector for a (batch, 1) slot: Keras accepts y of shape (n) for a Dense(1) output.
  if (t.rank === 1 && slot.shape.length === 2 && slot.shape[1] === 1) t = t.reshape([t.shape[0], 1]);
  const ok = t.rank === slot.shape.length && slot.shape.every((d, i) => i === 0 || d === null || d === t.shape[i]);
  if (!ok) throw new RangeError(`${what} must have shape ${formatShape([null, ...slot.shape.slice(1)])}, got ${formatShape(t.shape)}`);
  return t;
}

function castTo(t: Tensor, dtype: DataType): Tensor {
  const v = t.view();
  const out = dtype === 'int32' ? new Int32Array(v.length) : new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i];
  return new Tensor(out, t.shape, dtype);
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Number of samples, checked to be the same in every tensor. */
export function sampleCount(tensors: Tensor[], what: string): number {
  const n = tensors[0].shape[0];
  tensors.forEach((t, i) => {
    if (t.shape[0] !== n) throw new RangeError(`${what}: arrays hold different numbers of samples (${n} and ${t.shape[0]} in array ${i})`);
  });
  return n;
}

/** Rows [start, end) of a tensor, without a copy. */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  const row = shapeSize(t.shape.slice(1));
  return new Tensor(t.view().subarray(start * row, end * row), [end - start, ...t.shape.slice(1)], t.dtype);
}

/** The given rows of a tensor, in that order (a copy). */
export function gatherRows(t: Tensor, rows: ArrayLike<number>): Tensor {
  const row = shapeSize(t.shape.slice(1));
  const src = t.view();
  const out = new (src.constructor as { new (n: number): typeof src })(rows.length * row);
  for (let i = 0; i < rows.length; i++) out.set(src.subarray(rows[i] * row, (rows[i] + 1) * row), i * row);
  return new Tensor(out, [rows.length, ...t.shape.slice(1)], t.dtype);
}

/** Tensors of the same trailing shape stacked along the batch dimension. */
export function concatRows(parts: Tensor[]): Tensor {
  const total = parts.reduce((n, p) => n + p.shape[0], 0);
  const first = parts[0];
  const row = shapeSize(first.shape.slice(1));
  const out = new Float32Array(total * row);
  let offset = 0;
  for (const p of parts) {
    out.set(p.view() as Float32Array, offset);
    offset += p.size;
  }
  return new Tensor(out, [total, ...first.shape.slice(1)], 'float32');
}
