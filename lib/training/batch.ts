/**
 * The shape bookkeeping losses and metrics share: yPred (B, ..., C) is read
 * as N = B·M element rows of C values (M the product of the middle
 * dimensions, T for a sequence output), and yTrue and sample weights are
 * checked against it with errors naming the caller and both shapes.
 */

/** yPred's layout: B samples, M element rows per sample, C values per row. */
export interface BatchLayout {
  B: number;
  M: number;
  C: number;
  /** Element rows, B·M. */
  N: number;
}

/**
 * Checks yPred against `shape` and yTrue against yPred: `sparse` targets are
 * one value (a class id) per element row, others one per yPred value. A
 * yPred of shape (B) is read as (B, 1). Targets must be finite.
 */
export function checkBatch(what: string, yTrue: ArrayLike<number>, yPred: Float32Array, shape: readonly number[], sparse: boolean): BatchLayout {
  if (!(yPred instanceof Float32Array)) throw new TypeError(`${what}: yPred must be a Float32Array`);
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new TypeError(`${what}: shape must be yPred's shape, an array of positive integers (batch first), got ${JSON.stringify(shape)}`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== yPred.length) throw new RangeError(`${what}: yPred has ${yPred.length} values for shape [${shape.join(', ')}]`);
  const B = shape[0];
  const C = shape.length === 1 ? 1 : shape[shape.length - 1];
  const N = size / C;
  if (yTrue === null || typeof yTrue !== 'object' || typeof yTrue.length !== 'number') throw new TypeError(`${what}: yTrue must be an array or typed array of numbers`);
  const want = sparse ? N : size;
  if (yTrue.length !== want) {
    const wantShape = sparse ? shape.slice(0, Math.max(1, shape.length - 1)) : shape;
    throw new RangeError(`${what}: yTrue has ${yTrue.length} values but yPred has shape [${shape.join(', ')}]; yTrue must have shape [${wantShape.join(', ')}] (${want} values)${sparse ? ' of class ids' : ''}`);
  }
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i];
    if (typeof y !== 'number' || !Number.isFinite(y)) throw new RangeError(`${what}: yTrue contains ${y} at flat index ${i}; every target must be finite`);
  }
  return { B, M: N / B, C, N };
}

/**
 * Checks sample weights: one per sample (B) or one per element row (B·M,
 * e.g. per timestep), finite. Returns a function giving element row e's
 * weight (1 without weights).
 */
export function sampleWeightOf(what: string, w: ArrayLike<number> | undefined, layout: BatchLayout, shape: readonly number[]): (e: number) => number {
  if (w === undefined) return () => 1;
  if (w === null || typeof w !== 'object' || typeof w.length !== 'number') throw new TypeError(`${what}: sampleWeight must be an array or typed array of numbers`);
  const { B, M, N } = layout;
  if (w.length !== B && w.length !== N) {
    throw new RangeError(`${what}: sampleWeight has ${w.length} values; for yPred of shape [${shape.join(', ')}] it must have ${B} (one per sample)${N !== B ? ` or ${N} (one per sample and step)` : ''}`);
  }
  for (let i = 0; i < w.length; i++) {
    if (typeof w[i] !== 'number' || !Number.isFinite(w[i])) throw new RangeError(`${what}: sampleWeight[${i}] is ${w[i]}; every weight must be a finite number`);
  }
  return w.length === N ? (e) => w[e] : (e) => w[Math.floor(e / M)];
}
