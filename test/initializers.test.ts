/**
 * The initial weights follow Keras's definitions: Glorot-uniform kernel,
 * orthogonal recurrent kernel, zero bias, reproducible with a seed.
 */
import { describe, expect, it } from 'vitest';
import { GRU, layers, setBackend } from '../lib/index.js';
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

describe('initializer options', () => {
  const stats = (v: Float32Array) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, std, max: Math.max(...v.map(Math.abs)) };
  };

  it('draws each Keras initializer with its scale, reproducibly', () => {
    setBackend('js');
    const I = 200, H = 100; // kernel (200, 300)
    const kernelOf = (kernelInitializer: unknown) => {
      const l = new GRU({ units: H, seed: 5, kernelInitializer: kernelInitializer as never });
      l.build([null, null, I]);
      return l.getWeights()[0].dataSync();
    };
    const fanIn = I, fanOut = 3 * H;
    expect(stats(kernelOf('glorotNormal')).std).toBeCloseTo(Math.sqrt(2 / (fanIn + fanOut)), 2);
    expect(stats(kernelOf('heNormal')).std).toBeCloseTo(Math.sqrt(2 / fanIn), 2);
    expect(stats(kernelOf('lecunNormal')).std).toBeCloseTo(Math.sqrt(1 / fanIn), 2);
    expect(stats(kernelOf('heUniform')).max).toBeLessThanOrEqual(Math.sqrt(6 / fanIn));
    expect(stats(kernelOf('lecun_uniform')).max).toBeLessThanOrEqual(Math.sqrt(3 / fanIn));
    const normal = stats(kernelOf({ name: 'randomNormal', mean: 1, stddev: 0.5 }));
    expect(normal.mean).toBeCloseTo(1, 1);
    expect(normal.std).toBeCloseTo(0.5, 1);
    const trunc = kernelOf({ name: 'truncatedNormal', stddev: 0.1 });
    expect(stats(trunc).max).toBeLessThanOrEqual(0.2 + 1e-6);
    const uni = kernelOf({ name: 'randomUniform', minval: 2, maxval: 3 });
    expect(Math.min(...uni)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...uni)).toBeLessThan(3);
    expect(Array.from(kernelOf('ones')).every((v) => v === 1)).toBe(true);
    expect(Array.from(kernelOf('heNormal'))).toEqual(Array.from(kernelOf('heNormal')));
  });

  it('applies bias and recurrent initializers, keeps the LSTM forget bias at 1, and round-trips the config', () => {
    setBackend('native');
    const l = layers.lstm({ units: 3, seed: 1, biasInitializer: 'ones', recurrentInitializer: { name: 'randomUniform', minval: 0, maxval: 0.1 } });
    l.build([null, null, 2]);
    const [, r, b] = l.getWeights().map((w) => w.dataSync());
    expect(Array.from(b).every((v) => v === 1)).toBe(true);
    expect(Math.min(...r)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...r)).toBeLessThan(0.1);
    const again = layers.lstm(l.getConfig() as never);
    again.build([null, null, 2]);
    expect(again.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(l.getWeights().map((w) => Array.from(w.dataSync())));
  });

  it('refuses unknown initializers and bad options', () => {
    expect(() => new GRU({ units: 2, kernelInitializer: 'xavier' as never })).toThrow(/kernelInitializer: unknown initializer "xavier"/);
    expect(() => new GRU({ units: 2, biasInitializer: { name: 'randomNormal', stddev: -1 } })).toThrow(/stddev must be >= 0/);
    expect(() => new GRU({ units: 2, recurrentInitializer: 5 as never })).toThrow(/recurrentInitializer must be an initializer name/);
  });
});
