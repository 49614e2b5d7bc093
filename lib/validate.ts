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

/** Throws RangeError at the first NaN or infinity, naming where it is. */
export function requireFinite(values: ArrayLike<number>, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new NonFiniteError(`${name} contains ${values[i]} at flat index ${i}; every value must be finite`);
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
