/**
 * Input dropout (Keras semantics: one mask per sequence, fixed across
 * timesteps, training only) and weight regularizers (penalty in
 * regularizationLoss, its gradient in getGradients), on both backends.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GRU, LSTM, setBackend, tensor, type Tensor } from '../lib/index.js';
import { toleranceRatio } from './helpers/golden.js';
import { rng, uniform } from './helpers/random.js';

const B = 3, T = 4, I = 6, H = 5;

describe.each(['native', 'js'] as const)('dropout and regularizers on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it.each(['gru', 'lstm'] as const)('%s: dropout drops whole input features for the sequence, only in training', async (kind) => {
    const p = 0.5;
    const make = (dropout: number) => (kind === 'gru' ? new GRU({ units: H, returnSequences: true, dropout, seed: 21 }) : new LSTM({ units: H, returnSequences: true, dropout, seed: 21 }));
    const withDropout = make(p);
    const plain = make(0);
    const x = tensor(uniform(B * T * I, 1, rng(4)), [B, T, I]);
    const inference = ((await withDropout.apply(x)) as Tensor).dataSync();
    expect(Array.from(inference)).toEqual(Array.from(((await plain.apply(x)) as Tensor).dataSync()));

    const trained = ((await withDropout.apply(x, { training: true })) as Tensor<'float32'>).dataSync();
    expect(Array.from(trained)).not.toEqual(Array.from(inference));
    const dOut = tensor(uniform(B * T * H, 1, rng(6)), [B, T, H]);
    const { dx } = await withDropout.backward(dOut);
    const dxv = dx.dataSync();
    // A dropped feature has no gradient at any timestep; read the mask from that.
    const scale = new Float32Array(B * I);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < I; i++) {
        const zeros = Array.from({ length: T }, (_, t) => dxv[(b * T + t) * I + i] === 0);
        expect(new Set(zeros).size, `feature ${i} of sequence ${b} is dropped at some steps only`).toBe(1);
        scale[b * I + i] = zeros[0] ? 0 : 1 / (1 - p);
      }
    expect(scale.some((v) => v === 0)).toBe(true);
    expect(scale.some((v) => v > 0)).toBe(true);
    // The same as the plain layer on the masked and scaled input.
    const xs = x.dataSync().map((v, k) => v * scale[Math.floor(k / (T * I)) * I + (k % I)]);
    const ref = ((await plain.apply(tensor(xs, [B, T, I]), { training: true })) as Tensor).dataSync();
    expect(toleranceRatio(trained, ref, 1e-6, 1e-5)).toBeLessThanOrEqual(1);
    const refDx = (await plain.backward(dOut)).dx.dataSync().map((v, k) => v * scale[Math.floor(k / (T * I)) * I + (k % I)]);
    expect(toleranceRatio(dxv, refDx, 1e-6, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('dropout masks are reproducible with a seed', async () => {
    const x = tensor(uniform(B * T * I, 1, rng(4)), [B, T, I]);
    const run = async () => ((await new GRU({ units: H, dropout: 0.3, seed: 9 }).apply(x, { training: true })) as Tensor).dataSync();
    expect(Array.from(await run())).toEqual(Array.from(await run()));
  });

  it('regularizers add their penalty and its gradient', async () => {
    const regs = { kernelRegularizer: { l1: 0.01 }, recurrentRegularizer: 'l2', biasRegularizer: { l1: 0.002, l2: 0.003 } } as const;
    const reg = new GRU({ units: H, seed: 3, ...regs });
    const plain = new GRU({ units: H, seed: 3 });
    const weights = [tensor(uniform(I * 3 * H, 0.5, rng(1)), [I, 3 * H]), tensor(uniform(H * 3 * H, 0.5, rng(2)), [H, 3 * H]), tensor(uniform(6 * H, 0.5, rng(3)), [2, 3 * H])];
    reg.setWeights(weights);
    plain.setWeights(weights);
    const [k, r, b] = weights.map((w) => w.dataSync());
    const sum = (v: Float32Array, f: (x: number) => number) => v.reduce((a, x) => a + f(x), 0);
    const want = 0.01 * sum(k, Math.abs) + 0.01 * sum(r, (v) => v * v) + 0.002 * sum(b, Math.abs) + 0.003 * sum(b, (v) => v * v);
    expect(reg.regularizationLoss()).toBeCloseTo(want, 5);
    expect(plain.regularizationLoss()).toBe(0);
    const x = tensor(uniform(B * T * I, 1, rng(4)), [B, T, I]);
    const dOut = tensor(uniform(B * H, 1, rng(5)), [B, H]);
    for (const l of [reg, plain]) {
      await l.apply(x, { training: true });
      await l.backward(dOut);
    }
    const gReg = reg.getGradients().map((g) => g.dataSync());
    const gPlain = plain.getGradients().map((g) => g.dataSync());
    const extra = [k.map((v) => 0.01 * Math.sign(v)), r.map((v) => 0.02 * v), b.map((v) => 0.002 * Math.sign(v) + 0.006 * v)];
    gReg.forEach((g, i) => expect(toleranceRatio(g, gPlain[i].map((v, j) => v + extra[i][j]), 1e-6, 1e-5), `weight ${i}`).toBeLessThanOrEqual(1));
  });

  it('refuses bad dropout and regularizer options', () => {
    expect(() => new GRU({ units: 2, dropout: 1 })).toThrow(/dropout must be a number in \[0, 1\)/);
    expect(() => new GRU({ units: 2, dropout: -0.1 })).toThrow(/dropout/);
    expect(() => new LSTM({ units: 2, recurrentDropout: 0.2 } as never)).toThrow(/recurrentDropout is not supported yet/);
    expect(() => new GRU({ units: 2, kernelRegularizer: 'l3' as never })).toThrow(/kernelRegularizer must be 'l1', 'l2'/);
    expect(() => new GRU({ units: 2, biasRegularizer: { l2: -1 } })).toThrow(/biasRegularizer.l2 must be a finite number >= 0/);
  });
});
