/**
 * What the layers beside the recurrent ones share: the option check, the
 * checks of an input, a mask and an upstream gradient, setWeights' checks,
 * the regularizers' loss and gradients, and the "no training forward yet"
 * error. Each layer adds its options, weights, forward and backward.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { requireFinite, requireInt, requireShape, requireTensor } from '../../validate.js';
import { checkKnownOptions, Layer, LAYER_OPTIONS, type LayerArgs, type Shape } from '../layer.js';
import { addPenaltyGradient, penalty, type Regularizer } from '../regularizers.js';

/** A float32 tensor, what every core layer's output and gradient is. */
export type Float32Tensor = Tensor<'float32'>;

/**
 * The LayerArgs a core layer takes: all but `inputDim`/`inputLength`,
 * which mean features-per-step in the base (recurrent layers); Dense and
 * Embedding give them their tfjs meaning themselves.
 */
export const CORE_LAYER_OPTIONS: readonly string[] = LAYER_OPTIONS.filter((o) => o !== 'inputDim' && o !== 'inputLength');

/** LayerArgs without the recurrent-only `inputDim`/`inputLength`. */
export type CoreLayerArgs = Omit<LayerArgs, 'inputDim' | 'inputLength'>;

/**
 * Throws unless `args` is an object holding only `known` options (plus the
 * common layer options). `factory` is the tfjs factory name for messages.
 */
export function checkArgs(args: unknown, known: readonly string[], label: string, factory: string, example: string): void {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new TypeError(`layers.${factory}(args): args must be an object like ${example}`);
  checkKnownOptions(args, [...CORE_LAYER_OPTIONS, ...known], label);
}

/** An optional seed: an integer in [0, 2^32). */
export function checkSeed(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  return requireInt(value, 'seed', 0, 2 ** 32 - 1);
}

/** A finite number option (or its default). */
export function finiteNumber(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${option} must be a finite number, got ${JSON.stringify(value)}`);
  return value;
}

/** A concrete dimension list (no nulls), for a tensor's shape. */
export function dims(t: Tensor): number[] {
  return [...t.shape];
}

export abstract class CoreLayer extends Layer {
  /** Weight gradients of the last backward, in getWeights() order. */
  protected gradients: Float32Tensor[] | null = null;

  /** @param label the Keras class name used in messages (`Dense`, `Embedding`) */
  protected constructor(
    args: LayerArgs,
    prefix: string,
    protected readonly label: string,
  ) {
    super(args, prefix);
  }

  /** `Dense dense_1`, for messages. */
  protected get what(): string {
    return `${this.label} ${this.name}`;
  }

  /**
   * Checks a float32 input: a live tensor of finite values, of the declared
   * input shape if any (`declared`: false for one of several inputs);
   * returns its values.
   */
  protected floatInput(value: unknown, what = `${this.what} input`, declared = true): Float32Array {
    const t = requireTensor(value, what);
    if (declared) this.checkDeclared(t);
    const v = t.view() as Float32Array;
    requireFinite(v, what);
    return v;
  }

  /** Throws unless the tensor has the declared input shape (when one was declared). */
  protected checkDeclared(t: Tensor): void {
    if (this.batchInputShape) requireShape(t, this.batchInputShape, `${this.what} input (declared inputShape)`);
  }

  /** Checks a float32 input's rank (at least `min`, at most `max`). */
  protected requireRank(t: Tensor, min: number, max: number, expected: string): void {
    if (t.rank < min || t.rank > max) throw new RangeError(`${this.what} input must have shape ${expected}, got ${formatShape(t.shape)}`);
  }

  /**
   * An upstream gradient of the output's `shape`, checked; null when no
   * gradient reaches the output.
   */
  protected upstream(value: Tensor | null | undefined, shape: readonly number[], what = `${this.what} dOutput`): Float32Array | null {
    if (value === null || value === undefined) return null;
    const d = requireTensor(value, what);
    requireShape(d, shape, what);
    const v = d.view() as Float32Array;
    requireFinite(v, what);
    return v;
  }

  /**
   * A mask for an input of `inputShape`: shape `inputShape` without the last
   * axis, bool or numbers (non-zero = valid). Returns 0/1 values.
   */
  protected maskValues(mask: Tensor, inputShape: readonly number[], what = `${this.what} mask`): Uint8Array {
    const m = requireTensor(mask, what, ['bool', 'float32', 'int32']);
    requireShape(m, inputShape.slice(0, -1), what);
    const v = m.view();
    const out = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) {
      if (Number.isNaN(v[i])) throw new RangeError(`${what} contains NaN at flat index ${i}`);
      out[i] = v[i] !== 0 ? 1 : 0;
    }
    return out;
  }

  /**
   * Checks setWeights' list against the expected names and shapes (all
   * finite) and returns copies of the values.
   */
  protected checkedWeights(weights: unknown, expected: Array<{ name: string; shape: number[] }>): Float32Array[] {
    this.checkWeightCount(weights, expected.map((e) => e.name));
    return expected.map(({ name, shape }, i) => {
      const what = `${this.what} ${name}`;
      const t = requireTensor(weights[i], what);
      requireShape(t, shape, what);
      const v = t.view() as Float32Array;
      requireFinite(v, what);
      return v.slice();
    });
  }

  /** Throws unless `weights` is an array of as many entries as `names`. */
  protected checkWeightCount(weights: unknown, names: string[]): asserts weights is unknown[] {
    if (!Array.isArray(weights)) throw new TypeError(`${this.what}: setWeights expects an array of tensors`);
    if (weights.length !== names.length) {
      throw new RangeError(`${this.what}: setWeights expects ${names.length} tensor(s) [${names.join(', ')}], got ${weights.length}`);
    }
  }

  /** The regularizer of each weight, in getWeights() order (null: none). */
  protected weightRegularizers(): Array<Regularizer | null> {
    return [];
  }

  /**
   * The regularizers' penalty on the current weights: add it to the loss.
   * `backwardNode` already adds its gradient to `getGradients()`.
   */
  override regularizationLoss(): number {
    const regs = this.weightRegularizers();
    if (!this.built || !regs.some((r) => r)) return 0;
    return this.getWeights().reduce((sum, w, i) => (regs[i] ? sum + penalty(regs[i] as Regularizer, w.view()) : sum), 0);
  }

  /** Stores backward's weight gradients (shapes as the weights) plus the regularizers' gradients. */
  protected setGradients(values: Float32Array[], shapes: number[][]): void {
    const regs = this.weightRegularizers();
    if (regs.some((r) => r)) {
      const weights = this.getWeights();
      values.forEach((g, i) => {
        const r = regs[i];
        if (r) addPenaltyGradient(r, weights[i].view() as Float32Array, g);
      });
    }
    this.gradients = values.map((g, i) => float32Tensor(g, shapes[i]));
  }

  /** Gradients of the weights from the last backward, in getWeights() order. */
  override getGradients(): Float32Tensor[] {
    if (this.weightNames().length === 0) return [];
    if (!this.gradients) throw new Error(`${this.what}: no gradients yet; run backward after a training forward`);
    return this.gradients;
  }

  protected requireBuilt(what: string): void {
    if (!this.built) throw new Error(`${this.what}: ${what} before the layer is built; call build(inputShape), setWeights() or apply() first`);
  }

  /** The error for a backward without a training forward before it. */
  protected noForward(): Error {
    return new Error(`${this.what}: backward needs a preceding training forward (apply(x, {training: true}))`);
  }

  /** A weightless layer: no weights to set but an empty list. */
  protected noWeights(weights: unknown): void {
    if (!Array.isArray(weights) || weights.length !== 0) {
      throw new RangeError(`${this.what} has no weights: setWeights expects [], got ${Array.isArray(weights) ? `${weights.length} tensor(s)` : typeof weights}`);
    }
  }

  /**
   * Checks a shape given to build/computeOutputShape: one shape (not a
   * list), of non-negative integers or null, of rank >= `minRank`
   * (`expected` describes it in the message); returns it.
   */
  protected checkShape(shape: unknown, minRank: number, expected: string): Shape {
    if (!Array.isArray(shape) || shape.some((d) => Array.isArray(d))) throw new TypeError(`${this.what} takes one input, got ${JSON.stringify(shape)}`);
    for (const d of shape) {
      if (d !== null && (typeof d !== 'number' || !Number.isInteger(d) || d < 0)) throw new RangeError(`${this.what}: input shape must hold non-negative integers or null, got ${formatShape(shape)}`);
    }
    if (shape.length < minRank) throw new RangeError(`${this.what} input must have shape ${expected}, got ${formatShape(shape)}`);
    return shape as Shape;
  }
}

/** Sum of `values` (N, C) over N, in float64, rounded once: (C). */
export function columnSums(values: Float32Array, N: number, C: number): Float32Array {
  const acc = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const o = n * C;
    for (let c = 0; c < C; c++) acc[c] += values[o + c];
  }
  return Float32Array.from(acc);
}

/**
 * Transposes `values` of `shape` so that output axis i is input axis
 * `perm[i]` (as numpy's transpose). Returns a new array.
 */
export function transpose(values: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const n = values.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let a = rank - 1; a >= 0; a--) {
    inStrides[a] = s;
    s *= shape[a];
  }
  const outShape = perm.map((p) => shape[p]);
  const strides = perm.map((p) => inStrides[p]);
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastLen = outShape[last], lastStride = strides[last];
  let src = 0;
  for (let o = 0; o < n; o += lastLen) {
    for (let j = 0; j < lastLen; j++) out[o + j] = values[src + j * lastStride];
    // Odometer over the other axes.
    for (let a = last - 1; a >= 0; a--) {
      idx[a]++;
      src += strides[a];
      if (idx[a] < outShape[a]) break;
      src -= strides[a] * outShape[a];
      idx[a] = 0;
    }
  }
  return out;
}

/** The inverse of a permutation. */
export function invertPermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Product of known dims, or null when any is unknown. */
export function knownSize(shape: Shape): number | null {
  let n = 1;
  for (const d of shape) {
    if (d === null) return null;
    n *= d;
  }
  return n;
}
