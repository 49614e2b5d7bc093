/**
 * requireFinite, the check every input and weight goes through: float
 * arrays take a branch-free pass (v * 0 summed) before the per-value search,
 * so every position of the unrolled loop and of its tail must still be
 * caught, for each kind of non-finite value.
 */
import { describe, expect, it } from 'vitest';
import { NonFiniteError } from '../lib/errors.js';
import { requireFinite } from '../lib/validate.js';

describe('requireFinite', () => {
  for (const Kind of [Float32Array, Float64Array]) {
    it(`${Kind.name}: NaN, Infinity and -Infinity are caught at every position, with their index`, () => {
      for (const n of [1, 3, 4, 5, 8, 11]) {
        for (let at = 0; at < n; at++) {
          for (const bad of [NaN, Infinity, -Infinity]) {
            const v = new Kind(n).fill(0.5);
            v[at] = bad;
            expect(() => requireFinite(v, 'x')).toThrow(NonFiniteError);
            expect(() => requireFinite(v, 'x')).toThrow(new RegExp(`^x contains ${bad} at flat index ${at};`));
          }
        }
      }
    });

    it(`${Kind.name}: finite values pass, the largest, the smallest and -0 included`, () => {
      const big = Kind === Float32Array ? 3.4e38 : 1.7e308;
      expect(() => requireFinite(new Kind([big, -big, 1e-45, -0, 0, 1, -1]), 'x')).not.toThrow();
      expect(() => requireFinite(new Kind(0), 'x')).not.toThrow();
    });
  }

  it('plain arrays are tested value by value (a string is not finite)', () => {
    expect(() => requireFinite([1, 2, '3' as unknown as number], 'x')).toThrow(/x contains 3 at flat index 2/);
    expect(() => requireFinite([1, NaN], 'x')).toThrow(NonFiniteError);
    expect(() => requireFinite([1, 2], 'x')).not.toThrow();
  });
});
