/**
 * Embedding, Dropout, Flatten, Concatenate, Masking, RepeatVector, Reshape,
 * Permute and TimeDistributed on both backends: forward against plain
 * index arithmetic, finite differences of every input and weight gradient,
 * masks, config round-trips for every layer, and bad options/inputs.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { setBackend } from '../lib/backend/index.js';
import { Dense } from '../lib/layers/core/dense.js';
import { Dropout } from '../lib/layers/core/dropout.js';
import { Embedding } from '../lib/layers/core/embedding.js';
import { TimeDistributed } from '../lib/layers/core/timeDistributed.js';
import * as layers from '../lib/layers/index.js';
import type { Layer } from '../lib/layers/layer.js';
import { tensor, type Tensor } from '../lib/tensor.js';
import { expectFiniteDifferences } from './helpers/finiteDifferences.js';
import { rng, uniform } from './helpers/random.js';

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * Finite differences of L = sum(output * G) for the layer's inputs (and
 * `params`, set with setWeights before each run): backward after a training
 * forward vs the forward run `training` or not.
 */
async function checkGradients(layer: Layer, xs: Float32Array[], shapes: number[][], opts: { params?: Float32Array[]; paramShapes?: number[][]; training?: boolean; seed?: number } = {}): Promise<number> {
  const params = opts.params ?? [];
  const set = (): void => {
    if (params.length) layer.setWeights(params.map((p, i) => tensor(p, (opts.paramShapes as number[][])[i])));
  };
  const run = async (training: boolean): Promise<Tensor> => {
    set();
    const out = await layer.apply(xs.length === 1 ? tensor(xs[0], shapes[0]) : xs.map((x, i) => tensor(x, shapes[i])), { training });
    return out as Tensor;
  };
  const y = await run(true);
  const G = uniform(y.size, 1, rng(opts.seed ?? 99));
  const dxs = await layer.backwardNode([tensor(G, y.shape)]);
  const grads = params.length ? layer.getGradients().map((g) => g.dataSync()) : [];
  const loss = async (): Promise<number> => dot((await run(opts.training ?? false)).dataSync(), G);
  const analytic = [...grads, ...dxs.map((d) => (d as Tensor).dataSync())];
  dxs.forEach((d, i) => expect((d as Tensor).shape).toEqual(shapes[i]));
  return expectFiniteDifferences([...params, ...xs], analytic, [...params.map((_, i) => `weight ${i}`), ...xs.map((_, i) => `x${i}`)], loss, 100);
}

describe.each(['native', 'js'] as const)('Embedding on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it('looks up rows for int32 and float32 ids of any rank', async () => {
    const E = uniform(10 * 3, 1, rng(1));
    const emb = layers.embedding({ inputDim: 10, outputDim: 3 });
    emb.setWeights([tensor(E, [10, 3])]);
    for (const [ids, shape] of [[[1, 0, 9, 4, 4, 2], [2, 3]], [[7, 3], [2]], [[0, 1, 2, 3, 4, 5, 6, 7], [2, 2, 2]]] as Array<[number[], number[]]>) {
      for (const dtype of ['int32', 'float32'] as const) {
        const y = (await emb.apply(tensor(ids, shape, dtype))) as Tensor;
        expect(y.shape).toEqual([...shape, 3]);
        const v = y.dataSync();
        ids.forEach((id, i) => [0, 1, 2].forEach((d) => expect(v[i * 3 + d]).toBe(E[id * 3 + d])));
      }
    }
  });

  it('backward: scatter-add into the embeddings (finite differences), no gradient for the ids', async () => {
    const emb = new Embedding({ inputDim: 6, outputDim: 4, embeddingsRegularizer: { l2: 0.05 } });
    const E = uniform(24, 1, rng(2));
    const ids = tensor([1, 5, 1, 0, 2, 1], [2, 3], 'int32');
    const G = uniform(24, 1, rng(3));
    emb.setWeights([tensor(E, [6, 4])]);
    await emb.apply(ids, { training: true });
    const d = await emb.backwardNode([tensor(G, [2, 3, 4])]);
    expect(d).toEqual([null]);
    const dE = emb.getGradients()[0].dataSync();
    // Row 1 appears three times; rows 3 and 4 never (only the penalty's gradient).
    for (let k = 0; k < 4; k++) {
      expect(dE[4 + k]).toBeCloseTo(G[k] + G[8 + k] + G[20 + k] + 0.1 * E[4 + k], 5);
      expect(dE[12 + k]).toBeCloseTo(0.1 * E[12 + k], 6);
    }
    const loss = async (): Promise<number> => {
      emb.setWeights([tensor(E, [6, 4])]);
      return dot(((await emb.apply(ids)) as Tensor).dataSync(), G) + emb.regularizationLoss();
    };
    expect(await expectFiniteDifferences([E], [dE], ['embeddings'], loss, 100)).toBe(24);
  });

  it('maskZero gives the mask ids != 0; ids are checked', async () => {
    const emb = layers.embedding({ inputDim: 10, outputDim: 2, maskZero: true, inputLength: 3 });
    expect(emb.batchInputShape).toEqual([null, 3]);
    const ids = tensor([[3, 0, 1], [0, 0, 2]], [2, 3], 'int32');
    const [mask] = emb.computeMask([ids], [null]);
    expect(mask?.dtype).toBe('bool');
    expect(mask?.shape).toEqual([2, 3]);
    expect(Array.from((mask as Tensor).dataSync())).toEqual([1, 0, 1, 0, 0, 1]);
    expect(layers.embedding({ inputDim: 10, outputDim: 2 }).computeMask([ids], [null])).toEqual([null]);
    await expect(emb.apply(tensor([[3, 10, 1]], [1, 3], 'int32'))).rejects.toThrow(/id 10 at \[0, 1\] is out of range \[0, 10\)/);
    await expect(emb.apply(tensor([[3, 1, -2]], [1, 3], 'int32'))).rejects.toThrow(/id -2 at \[0, 2\] is out of range/);
    await expect(emb.apply(tensor([[3, 1.5, 2]], [1, 3]))).rejects.toThrow(/id 1.5 at \[0, 1\] is not an integer id/);
    await expect(emb.apply(tensor([[3, NaN, 2]], [1, 3]))).rejects.toThrow(/id NaN at \[0, 1\]/);
    await expect(emb.apply(tensor([[true, false, true]], [1, 3], 'bool'))).rejects.toThrow(/must have dtype int32 or float32/);
    await expect(emb.apply(tensor([1, 2, 3, 4], [1, 4], 'int32'))).rejects.toThrow(/input \(declared inputShape\) must have shape \[null, 3\], got \[1, 4\]/);
    expect(() => layers.embedding({ inputDim: 0, outputDim: 2 })).toThrow(/inputDim must be an integer >= 1/);
    expect(() => layers.embedding({ inputDim: 3, outputDim: 2, maskzero: true } as never)).toThrow(/unknown option "maskzero"/);
    expect(() => layers.embedding({ inputDim: 3, outputDim: 2 }).setWeights([tensor(new Float32Array(8), [4, 2])])).toThrow(/embeddings must have shape \[3, 2\]/);
    // Keras's default initializer: uniform in [-0.05, 0.05].
    const e = layers.embedding({ inputDim: 50, outputDim: 8, seed: 1 });
    e.build([null, null]);
    const w = e.getWeights()[0].dataSync();
    expect(Math.max(...w)).toBeLessThanOrEqual(0.05);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-0.05);
    expect(Math.max(...w) - Math.min(...w)).toBeGreaterThan(0.08);
    expect(e.weightNames()).toEqual(['embeddings']);
  });
});

describe.each(['native', 'js'] as const)('Dropout on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it('identity at inference; inverted dropout in training, seeded; gradient = mask * scale', async () => {
    const shape = [20, 10, 5];
    const x = uniform(size(shape), 1, rng(4)).map((v) => v + 2);
    const layer = layers.dropout({ rate: 0.3, seed: 7 });
    expect(Array.from(((await layer.apply(tensor(x, shape))) as Tensor).dataSync())).toEqual(Array.from(x));
    const y = ((await layer.apply(tensor(x, shape), { training: true })) as Tensor).dataSync();
    let dropped = 0;
    y.forEach((v, i) => {
      if (v === 0) dropped++;
      else expect(v).toBeCloseTo(x[i] / 0.7, 5);
    });
    expect(dropped / y.length).toBeGreaterThan(0.25);
    expect(dropped / y.length).toBeLessThan(0.35);
    // Same seed, same first mask; the next call draws a new one.
    const again = layers.dropout({ rate: 0.3, seed: 7 });
    expect(Array.from(((await again.apply(tensor(x, shape), { training: true })) as Tensor).dataSync())).toEqual(Array.from(y));
    expect(Array.from(((await again.apply(tensor(x, shape), { training: true })) as Tensor).dataSync())).not.toEqual(Array.from(y));
    const G = uniform(y.length, 1, rng(5));
    const [dx] = await layer.backwardNode([tensor(G, shape)]);
    (dx as Tensor).dataSync().forEach((v, i) => expect(v).toBeCloseTo(y[i] === 0 ? 0 : G[i] / 0.7, 5));
    // Finite differences: each evaluation is the first call of a layer with the same seed.
    const small = [2, 3, 4];
    const xs = uniform(24, 1, rng(6));
    const first = async (): Promise<Tensor> => (await new Dropout({ rate: 0.5, seed: 3 }).apply(tensor(xs, small), { training: true })) as Tensor;
    const d = new Dropout({ rate: 0.5, seed: 3 });
    await d.apply(tensor(xs, small), { training: true });
    const g = uniform(24, 1, rng(8));
    const [dxs] = await d.backwardNode([tensor(g, small)]);
    expect(await expectFiniteDifferences([xs], [(dxs as Tensor).dataSync()], ['x'], async () => dot((await first()).dataSync(), g), 100)).toBe(24);
  });

  it('noiseShape shares one draw along its 1s; the mask passes through', async () => {
    const shape = [3, 6, 4];
    const layer = layers.dropout({ rate: 0.5, noiseShape: [null, 1, null], seed: 2 });
    const y = ((await layer.apply(tensor(new Float32Array(72).fill(1), shape), { training: true })) as Tensor).dataSync();
    for (let b = 0; b < 3; b++) for (let t = 1; t < 6; t++) for (let f = 0; f < 4; f++) expect(y[(b * 6 + t) * 4 + f]).toBe(y[b * 24 + f]);
    expect(new Set(Array.from(y))).toEqual(new Set([0, 2]));
    const mask = tensor([[1, 1, 0, 1, 1, 1]], [1, 6], 'bool');
    expect(layer.computeMask([tensor(new Float32Array(24), [1, 6, 4])], [mask])[0]).toBe(mask);
    await expect(layers.dropout({ rate: 0.5, noiseShape: [null, 2, null] }).apply(tensor(new Float32Array(72), shape), { training: true })).rejects.toThrow(/noiseShape \[null, 2, null\] must hold 1 or the input's size/);
    expect(() => layers.dropout({ rate: 1 })).toThrow(/rate must be a number in \[0, 1\)/);
    expect(() => layers.dropout({ rate: 0.1, noiseShape: [0] })).toThrow(/noiseShape must hold positive integers or null/);
    expect(() => layers.dropout({} as never)).toThrow(/rate must be a number/);
  });
});

describe.each(['native', 'js'] as const)('shape layers on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it('Flatten: row-major, channelsFirst moves axis 1 last; backward; no mask', async () => {
    const x = uniform(24, 1, rng(9));
    const y = ((await layers.flatten().apply(tensor(x, [2, 3, 4]))) as Tensor).dataSync();
    expect(Array.from(y)).toEqual(Array.from(x));
    const cf = ((await layers.flatten({ dataFormat: 'channelsFirst' }).apply(tensor(x, [2, 3, 4]))) as Tensor).dataSync();
    // [b, c, t] -> [b, t, c] flattened.
    for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) for (let t = 0; t < 4; t++) expect(cf[b * 12 + t * 3 + c]).toBe(x[b * 12 + c * 4 + t]);
    expect(((await layers.flatten().apply(tensor([1, 2, 3]))) as Tensor).shape).toEqual([3, 1]);
    expect(await checkGradients(layers.flatten({ dataFormat: 'channelsFirst' }), [x], [[2, 3, 4]])).toBe(24);
    expect(layers.flatten().computeMask([tensor(x, [2, 3, 4])], [tensor([[1, 0, 1], [1, 1, 1]], [2, 3], 'bool')])).toEqual([null]);
  });

  it('Concatenate: along the last and a middle axis, backward splits', async () => {
    const a = uniform(2 * 3 * 2, 1, rng(10)), b = uniform(2 * 3 * 4, 1, rng(11));
    const y = ((await layers.concatenate().apply([tensor(a, [2, 3, 2]), tensor(b, [2, 3, 4])])) as Tensor).dataSync();
    for (let r = 0; r < 6; r++) {
      for (let j = 0; j < 2; j++) expect(y[r * 6 + j]).toBe(a[r * 2 + j]);
      for (let j = 0; j < 4; j++) expect(y[r * 6 + 2 + j]).toBe(b[r * 4 + j]);
    }
    expect(await checkGradients(layers.concatenate(), [a, b], [[2, 3, 2], [2, 3, 4]])).toBe(36);
    const c = uniform(2 * 1 * 4, 1, rng(12));
    const z = (await layers.concatenate({ axis: 1 }).apply([tensor(b, [2, 3, 4]), tensor(c, [2, 1, 4])])) as Tensor;
    expect(z.shape).toEqual([2, 4, 4]);
    expect(Array.from(z.dataSync().subarray(12, 16))).toEqual(Array.from(c.subarray(0, 4)));
    expect(await checkGradients(layers.concatenate({ axis: 1 }), [b, c, b.slice()], [[2, 3, 4], [2, 1, 4], [2, 3, 4]])).toBe(56);
    await expect(layers.concatenate().apply(tensor(a, [2, 3, 2]))).rejects.toThrow(/must be applied to a list of at least 2 inputs/);
    await expect(layers.concatenate().apply([tensor(a, [2, 3, 2]), tensor(b, [3, 2, 4])])).rejects.toThrow(/needs inputs of the same shape except on axis -1/);
    await expect(layers.concatenate({ axis: 0 }).apply([tensor(a, [2, 3, 2]), tensor(a, [2, 3, 2])])).rejects.toThrow(/axis 0 must name a non-batch axis/);
  });

  it('Concatenate: masks as Keras 3 (none without masks; OR along the last axis; concatenated along time)', () => {
    const x = tensor(new Float32Array(12), [2, 3, 2]);
    const m1 = tensor([[1, 1, 0], [1, 0, 0]], [2, 3], 'bool');
    const m2 = tensor([[1, 0, 1], [0, 0, 0]], [2, 3]);
    const last = layers.concatenate();
    expect(last.computeMask([x, x], [null, null])).toEqual([null]);
    expect(Array.from((last.computeMask([x, x], [m1, m2])[0] as Tensor).dataSync())).toEqual([1, 1, 1, 1, 0, 0]);
    // An input without a mask counts as all valid.
    expect(Array.from((last.computeMask([x, x], [m1, null])[0] as Tensor).dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    const time = layers.concatenate({ axis: 1 });
    const mt = time.computeMask([x, tensor(new Float32Array(4), [2, 1, 2])], [m1, null])[0] as Tensor;
    expect(mt.shape).toEqual([2, 4]);
    expect(Array.from(mt.dataSync())).toEqual([1, 1, 0, 1, 1, 0, 0, 1]);
  });

  it('Masking: zeroes masked steps, gives any(x != maskValue) as the mask, gradient through the kept steps', async () => {
    const x = new Float32Array([1, 2, -1, -1, 0, -1, -1, -1, 3, -1, -1, 5]);
    const m = layers.masking({ maskValue: -1 });
    const y = ((await m.apply(tensor(x, [2, 3, 2]))) as Tensor).dataSync();
    expect(Array.from(y)).toEqual([1, 2, 0, 0, 0, -1, 0, 0, 3, -1, -1, 5]);
    expect(Array.from((m.computeMask([tensor(x, [2, 3, 2])], [null])[0] as Tensor).dataSync())).toEqual([1, 0, 1, 0, 1, 1]);
    await m.apply(tensor(x, [2, 3, 2]), { training: true });
    const [dx] = await m.backwardNode([tensor(new Float32Array(12).fill(1), [2, 3, 2])]);
    expect(Array.from((dx as Tensor).dataSync())).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1]);
    // Finite differences away from the mask value.
    expect(await checkGradients(layers.masking({ maskValue: 9 }), [uniform(12, 1, rng(13))], [[2, 3, 2]])).toBe(12);
    expect(() => layers.masking({ maskValue: NaN })).toThrow(/maskValue must be a finite number/);
    await expect(m.apply(tensor([1, 2]))).rejects.toThrow(/input must have shape \[batch, \.\.\., features\]/);
  });

  it('RepeatVector, Reshape, Permute: forward and backward', async () => {
    const x = uniform(6, 1, rng(14));
    const r = ((await layers.repeatVector({ n: 3 }).apply(tensor(x, [2, 3]))) as Tensor).dataSync();
    for (let b = 0; b < 2; b++) for (let k = 0; k < 3; k++) for (let f = 0; f < 3; f++) expect(r[(b * 3 + k) * 3 + f]).toBe(x[b * 3 + f]);
    expect(await checkGradients(layers.repeatVector({ n: 3 }), [x], [[2, 3]])).toBe(6);
    await expect(layers.repeatVector({ n: 2 }).apply(tensor(new Float32Array(8), [2, 2, 2]))).rejects.toThrow(/input must have shape \[batch, features\]/);
    const x24 = uniform(24, 1, rng(15));
    const rs = (await layers.reshape({ targetShape: [-1, 3] }).apply(tensor(x24, [2, 3, 4]))) as Tensor;
    expect(rs.shape).toEqual([2, 4, 3]);
    expect(Array.from(rs.dataSync())).toEqual(Array.from(x24));
    expect(await checkGradients(layers.reshape({ targetShape: [12] }), [x24], [[2, 3, 4]])).toBe(24);
    await expect(layers.reshape({ targetShape: [5] }).apply(tensor(x24, [2, 3, 4]))).rejects.toThrow(/cannot reshape an input of shape \[2, 3, 4\] to \[batch, 5\]/);
    expect(() => layers.reshape({ targetShape: [-1, -1] })).toThrow(/may hold one -1/);
    const p = (await layers.permute({ dims: [2, 1] }).apply(tensor(x24, [2, 3, 4]))) as Tensor;
    expect(p.shape).toEqual([2, 4, 3]);
    const pv = p.dataSync();
    for (let b = 0; b < 2; b++) for (let t = 0; t < 3; t++) for (let f = 0; f < 4; f++) expect(pv[b * 12 + f * 3 + t]).toBe(x24[b * 12 + t * 4 + f]);
    expect(await checkGradients(layers.permute({ dims: [3, 1, 2] }), [uniform(48, 1, rng(16))], [[2, 3, 4, 2]])).toBe(48);
    expect(() => layers.permute({ dims: [0, 1] })).toThrow(/dims must be a permutation of 1..2/);
    await expect(layers.permute({ dims: [2, 1] }).apply(tensor(new Float32Array(6), [2, 3]))).rejects.toThrow(/takes inputs of rank 3/);
  });

  it('TimeDistributed(Dense) equals Dense on (B, T, F); gradients; weights and names are the inner layer\'s', async () => {
    const next = rng(17);
    const K = uniform(3 * 2, 1, next), b = uniform(2, 0.5, next);
    const x = uniform(2 * 4 * 3, 1, next);
    const inner = layers.dense({ units: 2, activation: 'tanh', name: 'proj' });
    const td = layers.timeDistributed({ layer: inner });
    td.setWeights([tensor(K, [3, 2]), tensor(b, [2])]);
    const plain = layers.dense({ units: 2, activation: 'tanh' });
    plain.setWeights([tensor(K, [3, 2]), tensor(b, [2])]);
    const y = (await td.apply(tensor(x, [2, 4, 3]))) as Tensor;
    expect(y.shape).toEqual([2, 4, 2]);
    const ref = ((await plain.apply(tensor(x, [2, 4, 3]))) as Tensor).dataSync();
    y.dataSync().forEach((v, i) => expect(v).toBeCloseTo(ref[i], 6));
    expect(td.weightNames()).toEqual(['kernel', 'bias']);
    expect(td.trainableWeightFlags()).toEqual([true, true]);
    td.trainable = false;
    expect(td.trainableWeightFlags()).toEqual([false, false]);
    td.trainable = true;
    expect(td.countParams()).toBe(8);
    expect(await checkGradients(td, [x], [[2, 4, 3]], { params: [K, b], paramShapes: [[3, 2], [2]] })).toBe(6 + 2 + 24);
    const mask = tensor([[1, 1, 0, 0], [1, 1, 1, 1]], [2, 4], 'bool');
    expect(td.computeMask([tensor(x, [2, 4, 3])], [mask])[0]).toBe(mask);
    // Embedding per timestep: ids (B, T, L) -> (B, T, L, D).
    const tde = layers.timeDistributed({ layer: layers.embedding({ inputDim: 5, outputDim: 2, seed: 1 }) });
    const e = (await tde.apply(tensor([[[1, 2], [3, 4], [0, 0]]], [1, 3, 2], 'int32'))) as Tensor;
    expect(e.shape).toEqual([1, 3, 2, 2]);
    await expect(layers.timeDistributed({ layer: layers.dense({ units: 2 }) }).apply(tensor(new Float32Array(6), [2, 3]))).rejects.toThrow(/input must have shape \[batch, timesteps, \.\.\.\]/);
    expect(() => layers.timeDistributed({ layer: 'dense' as never })).toThrow(/layer must be a layer/);
    expect(() => layers.timeDistributed({ layer: { className: 'Conv9D', config: {} } })).toThrow(/unknown layer class "Conv9D"/);
  });
});

describe.each(['native', 'js'] as const)('config round-trips on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  const made: Array<[string, () => Layer, number[], 'float32' | 'int32']> = [
    ['Dense', () => layers.dense({ units: 3, activation: 'swish', kernelRegularizer: 'l1', seed: 5, name: 'd' }), [2, 4, 3], 'float32'],
    ['Activation', () => layers.activation({ activation: 'softmax' }), [2, 3], 'float32'],
    ['Embedding', () => layers.embedding({ inputDim: 7, outputDim: 3, maskZero: true, inputLength: 4, embeddingsInitializer: 'glorotNormal', seed: 2 }), [2, 4], 'int32'],
    ['Dropout', () => layers.dropout({ rate: 0.25, noiseShape: [null, 1, null], seed: 9 }), [2, 4, 3], 'float32'],
    ['BatchNormalization', () => layers.batchNormalization({ momentum: 0.5, epsilon: 0.1, betaRegularizer: { l1: 0.1 } }), [2, 4, 3], 'float32'],
    ['LayerNormalization', () => layers.layerNormalization({ axis: [-2, -1], rmsScaling: true }), [2, 4, 3], 'float32'],
    ['Flatten', () => layers.flatten({ dataFormat: 'channelsFirst' }), [2, 4, 3], 'float32'],
    ['Masking', () => layers.masking({ maskValue: 0.5 }), [2, 4, 3], 'float32'],
    ['RepeatVector', () => layers.repeatVector({ n: 2 }), [2, 3], 'float32'],
    ['Reshape', () => layers.reshape({ targetShape: [3, -1] }), [2, 4, 3], 'float32'],
    ['Permute', () => layers.permute({ dims: [2, 1] }), [2, 4, 3], 'float32'],
    ['TimeDistributed', () => layers.timeDistributed({ layer: layers.dense({ units: 2, seed: 1 }), name: 'td' }), [2, 4, 3], 'float32'],
  ];

  it.each(made)('%s: new Layer(getConfig()) has the same config, and the same outputs after setWeights(getWeights())', async (className, make, shape, dtype) => {
    const layer = make();
    const cls = layer.constructor as unknown as { className: string; new (c: unknown): Layer };
    expect(cls.className).toBe(className);
    const values = dtype === 'int32' ? Int32Array.from({ length: size(shape) }, (_, i) => (i * 3) % 7) : uniform(size(shape), 1, rng(21));
    const x = tensor(values, shape, dtype);
    const y = (await layer.apply(x, { training: className === 'BatchNormalization' })) as Tensor;
    const again = new cls(JSON.parse(JSON.stringify(layer.getConfig())));
    expect(again.getConfig()).toEqual(layer.getConfig());
    again.build(shape);
    again.setWeights(layer.getWeights());
    expect(again.weightNames()).toEqual(layer.weightNames());
    const y1 = (await layer.apply(x)) as Tensor;
    const y2 = (await again.apply(x)) as Tensor;
    expect(y2.shape).toEqual(y1.shape);
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y1.dataSync()));
    expect(y.shape).toEqual(y1.shape);
  });

  it('Concatenate: getConfig round-trips', async () => {
    const c = layers.concatenate({ axis: 1, name: 'join' });
    const again = new (c.constructor as new (a: unknown) => Layer)(c.getConfig());
    expect(again.getConfig()).toEqual(c.getConfig());
    expect(c.getConfig()).toMatchObject({ name: 'join', axis: 1, trainable: true });
    const xs = [tensor(uniform(6, 1, rng(1)), [1, 2, 3]), tensor(uniform(3, 1, rng(2)), [1, 1, 3])];
    expect(Array.from(((await again.apply(xs)) as Tensor).dataSync())).toEqual(Array.from(((await c.apply(xs)) as Tensor).dataSync()));
  });

  it('TimeDistributed rebuilds its inner layer from {className, config}', () => {
    const td = new TimeDistributed({ layer: { className: 'Dense', config: { units: 4, name: 'inner' } } });
    expect(td.layer).toBeInstanceOf(Dense);
    expect(td.getConfig()).toMatchObject({ layer: { className: 'Dense', config: { units: 4, name: 'inner' } } });
  });
});
