/**
 * The initial weights follow Keras's definitions: Glorot-uniform kernel,
 * orthogonal recurrent kernel, zero bias, reproducible with a seed.
 */
import { describe, expect, it } from 'vitest';
import { GRU, setBackend } from '../lib/index.js';
import { orthogonal, Random } from '../lib/layers/initializers.js';

function gramError(m: Float32Array, vectors: number, length: number, stride: number, step: number): number {
  // Largest |<v_i, v_j> - delta_ij| over the vectors v_i = m[i*stride + k*step].
  let worst = 0;
  for (let i = 0; i < vectors; i++)
    for (let j = 0; j <= i; j++) {
      let d = 0;
      for (let k = 0; k < length; k++) d += m[i * stride + k * step] * m[j * stride + k * step];
      worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
    }
  return worst;
}

describe.each(['native', 'js'] as const)('initializers on the %s backend', (backendName) => {
  it('builds a GRU with Keras initial weights, reproducible with a seed', () => {
    setBackend(backendName);
    const I = 7, H = 40;
    const a = new GRU({ units: H, seed: 42 });
    a.build([null, null, I]);
    const [kernel, recurrent, bias] = a.getWeights().map((w) => w.dataSync());
    const limit = Math.sqrt(6 / (I + 3 * H));
    expect(Math.max(...kernel.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...kernel.map(Math.abs))).toBeGreaterThan(0.8 * limit);
    // (H, 3H) with orthonormal rows.
    expect(gramError(recurrent, H, 3 * H, 3 * H, 1)).toBeLessThan(1e-5);
    expect(Array.from(bias).every((v) => v === 0)).toBe(true);
    const b = new GRU({ units: H, seed: 42 });
    b.build([null, null, I]);
    expect(b.getWeights().map((w) => Array.from(w.dataSync()))).toEqual([kernel, recurrent, bias].map((w) => Array.from(w)));
    const c = new GRU({ units: H, seed: 43 });
    c.build([null, null, I]);
    expect(Array.from(c.getWeights()[1].dataSync())).not.toEqual(Array.from(recurrent));
  });
});

describe('orthogonal', () => {
  it('has orthonormal columns when rows >= cols, and spans blocks correctly', () => {
    for (const [rows, cols] of [[100, 70], [5, 5], [1, 1], [65, 33]]) {
      const m = orthogonal(rows, cols, new Random(3));
      expect(gramError(m, cols, rows, 1, cols), `${rows}x${cols}`).toBeLessThan(1e-5);
    }
  });

  it('has orthonormal rows when rows < cols, and applies the gain', () => {
    const m = orthogonal(45, 135, new Random(4), 2);
    const scaled = m.map((v) => v / 2);
    expect(gramError(scaled, 45, 135, 135, 1)).toBeLessThan(1e-5);
  });
});
