/**
 * BatchNormalization and LayerNormalization on both backends: forward
 * against float64 statistics written out here, the moving statistics'
 * updates and their use at inference, trainable flags, finite differences
 * through the batch statistics (with and without a mask), config
 * round-trips and bad options/inputs.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { setBackend } from '../lib/backend/index.js';
import { BatchNormalization } from '../lib/layers/core/batchNormalization.js';
import { LayerNormalization } from '../lib/layers/core/layerNormalization.js';
import * as layers from '../lib/layers/index.js';
import { tensor, type Tensor } from '../lib/tensor.js';
import { expectFiniteDifferences } from './helpers/finiteDifferences.js';
import { rng, uniform } from './helpers/random.js';

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Multi-index of flat index i in `shape`. */
function unravel(i: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    idx[a] = i % shape[a];
    i = Math.floor(i / shape[a]);
  }
  return idx;
}

/** Per channel of `axis`: (weighted) mean and biased variance in float64; `w` per flat index. */
function channelStats(x: Float32Array, shape: number[], axis: number, w?: (i: number) => number): { mean: number[]; variance: number[] } {
  const C = shape[axis];
  const sum = new Array<number>(C).fill(0), cnt = new Array<number>(C).fill(0), sq = new Array<number>(C).fill(0);
  for (let i = 0; i < x.length; i++) {
    const c = unravel(i, shape)[axis], wi = w ? w(i) : 1;
    sum[c] += wi * x[i];
    cnt[c] += wi;
  }
  const mean = sum.map((s, c) => s / (cnt[c] + (w ? 1e-7 : 0)));
  for (let i = 0; i < x.length; i++) {
    const c = unravel(i, shape)[axis], wi = w ? w(i) : 1;
    sq[c] += wi * (x[i] - mean[c]) ** 2;
  }
  return { mean, variance: sq.map((s, c) => s / (cnt[c] + (w ? 1e-7 : 0))) };
}

describe.each(['native', 'js'] as const)('BatchNormalization on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  const cases = [
    { shape: [6, 3], axis: -1 },
    { shape: [2, 4, 3], axis: -1 },
    { shape: [2, 3, 4], axis: 1 },
  ];

  it.each(cases)('forward (shape $shape, axis $axis): batch statistics in training, moving ones at inference', async ({ shape, axis }) => {
    const next = rng(31);
    const a = axis < 0 ? axis + shape.length : axis;
    const C = shape[a];
    const n = shape.reduce((p, d) => p * d, 1);
    const gamma = uniform(C, 1, next).map((v) => v + 1.5), beta = uniform(C, 1, next);
    const mm0 = uniform(C, 1, next), mv0 = uniform(C, 0.5, next).map((v) => v + 1);
    const bn = layers.batchNormalization({ axis, momentum: 0.9, epsilon: 0.01 });
    bn.setWeights([tensor(gamma), tensor(beta), tensor(mm0), tensor(mv0)].map((t) => t as Tensor));
    let mm = Array.from(mm0), mv = Array.from(mv0);
    for (let call = 0; call < 2; call++) {
      const x = uniform(n, 2, next).map((v, i) => v + (i % 3));
      const y = ((await bn.apply(tensor(x, shape), { training: true })) as Tensor).dataSync();
      const { mean, variance } = channelStats(x, shape, a);
      y.forEach((v, i) => {
        const c = unravel(i, shape)[a];
        expect(v).toBeCloseTo((gamma[c] * (x[i] - mean[c])) / Math.sqrt(variance[c] + 0.01) + beta[c], 5);
      });
      // moving = moving * momentum + batch * (1 - momentum), with the biased variance.
      mm = mm.map((m, c) => m * 0.9 + mean[c] * 0.1);
      mv = mv.map((m, c) => m * 0.9 + variance[c] * 0.1);
      const w = bn.getWeights();
      w[2].dataSync().forEach((v, c) => expect(v).toBeCloseTo(mm[c], 5));
      w[3].dataSync().forEach((v, c) => expect(v).toBeCloseTo(mv[c], 5));
    }
    const x = uniform(n, 2, next);
    const y = ((await bn.apply(tensor(x, shape))) as Tensor).dataSync();
    y.forEach((v, i) => {
      const c = unravel(i, shape)[a];
      expect(v).toBeCloseTo((gamma[c] * (x[i] - mm[c])) / Math.sqrt(mv[c] + 0.01) + beta[c], 5);
    });
    // Inference leaves the moving statistics alone.
    bn.getWeights()[2].dataSync().forEach((v, c) => expect(v).toBeCloseTo(mm[c], 5));
  });

  it.each(cases)('finite differences in training (shape $shape, axis $axis): gamma, beta, x', async ({ shape, axis }) => {
    const next = rng(37);
    const C = shape[axis < 0 ? axis + shape.length : axis];
    const n = shape.reduce((p, d) => p * d, 1);
    const params = [uniform(C, 0.5, next).map((v) => v + 1), uniform(C, 0.5, next)];
    const x = uniform(n, 1.5, next);
    const G = uniform(n, 1, next);
    const bn = new BatchNormalization({ axis });
    const stats = [new Float32Array(C), new Float32Array(C).fill(1)];
    const loss = async (): Promise<number> => {
      bn.setWeights([...params, ...stats].map((p) => tensor(p)));
      return dot(((await bn.apply(tensor(x, shape), { training: true })) as Tensor).dataSync(), G);
    };
    await loss();
    const [dx] = await bn.backwardNode([tensor(G, shape)]);
    const grads = bn.getGradients();
    expect(grads.map((g) => g.shape)).toEqual([[C], [C], [C], [C]]);
    // No gradient for the moving statistics (they are not trained).
    expect(Array.from(grads[2].dataSync()).concat(Array.from(grads[3].dataSync())).every((v) => v === 0)).toBe(true);
    const analytic = [grads[0].dataSync(), grads[1].dataSync(), (dx as Tensor).dataSync()];
    expect(await expectFiniteDifferences([...params, x], analytic, ['gamma', 'beta', 'x'], loss, 100)).toBe(2 * C + n);
  });

  it('with a mask: weighted statistics (Keras 3) and their finite differences', async () => {
    const next = rng(41);
    const shape = [2, 4, 3];
    const maskBits = [1, 1, 0, 1, 1, 0, 0, 1];
    const mask = tensor(maskBits, [2, 4], 'bool');
    const x = uniform(24, 1.5, next), G = uniform(24, 1, next);
    const params = [uniform(3, 0.5, next).map((v) => v + 1), uniform(3, 0.5, next)];
    const bn = new BatchNormalization({ momentum: 0.5 });
    const stats = [new Float32Array(3), new Float32Array(3).fill(1)];
    const run = async (training: boolean): Promise<Float32Array> => {
      bn.setWeights([...params, ...stats].map((p) => tensor(p)));
      return ((await bn.apply(tensor(x, shape), { training, mask })) as Tensor<'float32'>).dataSync();
    };
    const y = await run(true);
    const { mean, variance } = channelStats(x, shape, 2, (i) => maskBits[Math.floor(i / 3)]);
    y.forEach((v, i) => expect(v).toBeCloseTo((params[0][i % 3] * (x[i] - mean[i % 3])) / Math.sqrt(variance[i % 3] + 1e-3) + params[1][i % 3], 5));
    bn.getWeights()[3].dataSync().forEach((v, c) => expect(v).toBeCloseTo(0.5 + 0.5 * variance[c], 5));
    const [dx] = await bn.backwardNode([tensor(G, shape)]);
    const g = bn.getGradients();
    const loss = async (): Promise<number> => dot(await run(true), G);
    expect(await expectFiniteDifferences([...params, x], [g[0].dataSync(), g[1].dataSync(), (dx as Tensor).dataSync()], ['gamma', 'beta', 'x'], loss, 24)).toBeGreaterThan(25);
  });

  it('trainable flags; a frozen layer uses (and keeps) its moving statistics even in training', async () => {
    const bn = layers.batchNormalization({ name: 'bn' });
    bn.build([null, 2]);
    expect(bn.weightNames()).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    expect(bn.trainableWeightFlags()).toEqual([true, true, false, false]);
    bn.setWeights([tensor([2, 1]), tensor([0.5, 0]), tensor([1, -1]), tensor([4, 1])]);
    bn.trainable = false;
    expect(bn.trainableWeightFlags()).toEqual([false, false, false, false]);
    const x = tensor([[3, 0], [1, 2]]);
    const y = ((await bn.apply(x, { training: true })) as Tensor).dataSync();
    const expected = [(2 * (3 - 1)) / Math.sqrt(4.001) + 0.5, (0 + 1) / Math.sqrt(1.001), (2 * (1 - 1)) / Math.sqrt(4.001) + 0.5, (2 + 1) / Math.sqrt(1.001)];
    y.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(Array.from(bn.getWeights()[2].dataSync())).toEqual([1, -1]);
    // Backward through the fixed statistics: dx = dy * gamma / sqrt(var + eps).
    const [dx] = await bn.backwardNode([tensor([[1, 1], [1, 1]])]);
    const d = (dx as Tensor).dataSync();
    expect(d[0]).toBeCloseTo(2 / Math.sqrt(4.001), 5);
    expect(d[1]).toBeCloseTo(1 / Math.sqrt(1.001), 5);
    expect(bn.getGradients()[1].dataSync()[0]).toBeCloseTo(2, 6);
    const noAffine = layers.batchNormalization({ center: false, scale: false });
    noAffine.build([null, 3]);
    expect(noAffine.weightNames()).toEqual(['moving_mean', 'moving_variance']);
    expect(noAffine.trainableWeightFlags()).toEqual([false, false]);
    const onlyBeta = layers.batchNormalization({ scale: false, betaInitializer: 'ones' });
    onlyBeta.build([null, 5, 3]);
    expect(onlyBeta.weightNames()).toEqual(['beta', 'moving_mean', 'moving_variance']);
    expect(Array.from(onlyBeta.getWeights()[0].dataSync())).toEqual([1, 1, 1]);
  });

  it('getConfig round-trips; same outputs after setWeights(getWeights())', async () => {
    const bn = layers.batchNormalization({ axis: 1, momentum: 0.8, epsilon: 1e-4, center: false, gammaInitializer: 'heUniform', gammaRegularizer: 'l2', name: 'norm', inputShape: [3, 4] });
    const again = new BatchNormalization(bn.getConfig() as never);
    expect(again.getConfig()).toEqual(bn.getConfig());
    const x = tensor(uniform(24, 1, rng(2)), [2, 3, 4]);
    await bn.apply(x, { training: true });
    again.setWeights(bn.getWeights());
    expect(Array.from(((await again.apply(x)) as Tensor).dataSync())).toEqual(Array.from(((await bn.apply(x)) as Tensor).dataSync()));
    expect(bn.regularizationLoss()).toBeGreaterThan(0);
  });

  it('rejects bad options, weights and inputs', async () => {
    expect(() => layers.batchNormalization({ momentum: 1.5 })).toThrow(/momentum must be in \[0, 1\]/);
    expect(() => layers.batchNormalization({ epsilon: 0 })).toThrow(/epsilon must be > 0/);
    expect(() => layers.batchNormalization({ axis: 0.5 })).toThrow(/axis must be an integer/);
    expect(() => layers.batchNormalization({ synchronized: true } as never)).toThrow(/unknown option "synchronized"/);
    const bn0 = layers.batchNormalization({ axis: 0 });
    await expect(bn0.apply(tensor(new Float32Array(6), [2, 3]))).rejects.toThrow(/axis 0 must name a non-batch axis/);
    const bn = layers.batchNormalization();
    expect(() => bn.setWeights([tensor([1, 1]), tensor([0, 0]), tensor([0, 0]), tensor([1, -1])])).toThrow(/moving_variance must be >= 0/);
    expect(() => bn.setWeights([tensor([1, 1]), tensor([0, 0]), tensor([0, 0])])).toThrow(/setWeights expects 4 tensor\(s\) \[gamma, beta, moving_mean, moving_variance\]/);
    await bn.apply(tensor(new Float32Array(6), [2, 3]));
    await expect(bn.apply(tensor(new Float32Array(8), [2, 4]))).rejects.toThrow(/has 4 on axis -1, built for 3 channels/);
    await expect(bn.apply(tensor(new Float32Array(3), [3]))).rejects.toThrow(/input must have shape \[batch, \.\.\., channels\]/);
    await expect(bn.apply(tensor([[1, NaN, 0]]))).rejects.toThrow(/input contains NaN/);
    await expect(bn.apply(tensor(new Float32Array(6), [2, 3]), { mask: tensor([1, 0, 1], [3]) })).rejects.toThrow(/mask must have shape \[2\]/);
    await expect(bn.backwardNode([null])).rejects.toThrow(/backward needs a preceding training forward/);
  });
});

describe.each(['native', 'js'] as const)('LayerNormalization on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  const cases = [
    { shape: [4, 5], axis: -1 as number | number[], rmsScaling: false },
    { shape: [2, 3, 4], axis: -1 as number | number[], rmsScaling: false },
    { shape: [2, 3, 4], axis: [1, 2] as number | number[], rmsScaling: false },
    { shape: [2, 3, 4], axis: 1 as number | number[], rmsScaling: false },
    { shape: [2, 3, 4], axis: [2, 1] as number | number[], rmsScaling: false },
    { shape: [2, 3, 4], axis: -1 as number | number[], rmsScaling: true },
  ];

  it.each(cases)('shape $shape axis $axis rmsScaling $rmsScaling: forward vs float64, finite differences', async ({ shape, axis, rmsScaling }) => {
    const next = rng(43);
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
    const param = axes.map((a) => shape[a]);
    const M = param.reduce((p, d) => p * d, 1);
    const n = shape.reduce((p, d) => p * d, 1);
    const params = rmsScaling ? [uniform(M, 0.5, next).map((v) => v + 1)] : [uniform(M, 0.5, next).map((v) => v + 1), uniform(M, 0.5, next)];
    const x = uniform(n, 1.5, next), G = uniform(n, 1, next);
    const ln = new LayerNormalization({ axis, rmsScaling, epsilon: 0.01 });
    const setW = (): void => ln.setWeights(params.map((p) => tensor(p, param)));
    setW();
    expect(ln.getWeights().map((w) => w.shape)).toEqual(params.map(() => param));
    const y = ((await ln.apply(tensor(x, shape))) as Tensor).dataSync();
    // Reference: group by the other axes, parameter index by the normalised axes in `axis` order.
    const groups = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const idx = unravel(i, shape);
      const key = idx.filter((_, a) => !axes.includes(a)).join(',');
      if (!groups.has(key)) groups.set(key, []);
      (groups.get(key) as number[]).push(i);
    }
    for (const members of groups.values()) {
      const mean = members.reduce((s, i) => s + x[i], 0) / M;
      const variance = members.reduce((s, i) => s + (x[i] - mean) ** 2, 0) / M;
      for (const i of members) {
        const idx = unravel(i, shape);
        let p = 0;
        axes.forEach((a, j) => (p = p * param[j] + idx[a]));
        const ref = rmsScaling ? (x[i] * params[0][p]) / Math.sqrt(variance + 0.01) : ((x[i] - mean) * params[0][p]) / Math.sqrt(variance + 0.01) + params[1][p];
        expect(y[i]).toBeCloseTo(ref, 5);
      }
    }
    await ln.apply(tensor(x, shape), { training: true });
    const [dx] = await ln.backwardNode([tensor(G, shape)]);
    const analytic = [...ln.getGradients().map((g) => g.dataSync()), (dx as Tensor).dataSync()];
    const loss = async (): Promise<number> => {
      setW();
      return dot(((await ln.apply(tensor(x, shape))) as Tensor).dataSync(), G);
    };
    const names = rmsScaling ? ['gamma', 'x'] : ['gamma', 'beta', 'x'];
    expect(await expectFiniteDifferences([...params, x], analytic, names, loss, 100)).toBe(params.length * M + n);
    expect(ln.weightNames()).toEqual(names.slice(0, -1));
  });

  it('getConfig round-trips; bad options and inputs', async () => {
    const ln = layers.layerNormalization({ axis: [1, 2], epsilon: 1e-5, center: false, betaRegularizer: 'l1', name: 'ln' });
    const again = new LayerNormalization(ln.getConfig() as never);
    expect(again.getConfig()).toEqual(ln.getConfig());
    const x = tensor(uniform(24, 1, rng(3)), [2, 3, 4]);
    await ln.apply(x);
    expect(ln.weightNames()).toEqual(['gamma']);
    again.setWeights(ln.getWeights());
    expect(Array.from(((await again.apply(x)) as Tensor).dataSync())).toEqual(Array.from(((await ln.apply(x)) as Tensor).dataSync()));
    expect(() => layers.layerNormalization({ axis: [] })).toThrow(/axis must be an integer or a non-empty list/);
    expect(() => layers.layerNormalization({ epsilon: -1 })).toThrow(/epsilon must be > 0/);
    expect(() => layers.layerNormalization({ center: 'yes' as never })).toThrow(/center must be a boolean/);
    await expect(layers.layerNormalization({ axis: [1, -2] }).apply(x)).rejects.toThrow(/names an axis twice/);
    await expect(layers.layerNormalization({ axis: 3 }).apply(x)).rejects.toThrow(/axis 3 must name a non-batch axis/);
    await expect(ln.apply(tensor(new Float32Array(30), [2, 3, 5]))).rejects.toThrow(/built for \[3, 4\]/);
    const mask = tensor([[1, 0, 1]], [1, 3], 'bool');
    expect(ln.computeMask([x], [mask])[0]).toBe(mask);
  });
});
