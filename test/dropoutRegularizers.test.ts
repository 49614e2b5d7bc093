/**
 * Input dropout (Keras semantics: one mask per sequence, fixed across
 * timesteps, training only) and weight regularizers (penalty in
 * regularizationLoss, its gradient in getGradients), on both backends.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GRU, LSTM, getNumThreads, setBackend, setNumThreads, tensor, type Tensor } from '../lib/index.js';
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
    expect(() => new LSTM({ units: 2, recurrentDropout: 1.5 })).toThrow(/recurrentDropout must be a number in \[0, 1\)/);
    expect(() => new GRU({ units: 2, kernelRegularizer: 'l3' as never })).toThrow(/kernelRegularizer must be 'l1', 'l2'/);
    expect(() => new GRU({ units: 2, biasRegularizer: { l2: -1 } })).toThrow(/biasRegularizer.l2 must be a finite number >= 0/);
  });
});

describe('recurrent dropout', () => {
  /** A plain GRU (resetAfter) step loop with h_{t-1} scaled where it enters the matmul. */
  function naiveGru(x: Float32Array, h0: Float32Array, k: Float32Array, u: Float32Array, bias: Float32Array, scale: Float32Array, B: number, T: number, I: number, H: number) {
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const out = new Float32Array(B * T * H);
    for (let b = 0; b < B; b++) {
      let h = Array.from(h0.subarray(b * H, (b + 1) * H));
      for (let t = 0; t < T; t++) {
        const hm = h.map((v, j) => v * scale[b * H + j]);
        const pre = (col: number, fromX: boolean) => {
          let s = 0;
          if (fromX) for (let i = 0; i < I; i++) s += x[(b * T + t) * I + i] * k[i * 3 * H + col];
          else for (let i = 0; i < H; i++) s += hm[i] * u[i * 3 * H + col];
          return s;
        };
        h = h.map((hj, j) => {
          const z = sig(pre(j, true) + bias[j] + pre(j, false) + bias[3 * H + j]);
          const r = sig(pre(H + j, true) + bias[H + j] + pre(H + j, false) + bias[4 * H + j]);
          const n = Math.tanh(pre(2 * H + j, true) + bias[2 * H + j] + r * (pre(2 * H + j, false) + bias[5 * H + j]));
          return z * hj + (1 - z) * n;
        });
        out.set(h, (b * T + t) * H);
      }
    }
    return out;
  }

  it.each(['native', 'js'] as const)('matches the definition, and its gradient matches finite differences (%s)', async (backendName) => {
    setBackend(backendName);
    const { backend } = await import('../lib/backend/index.js');
    const kernels = backend();
    const B = 2, T = 4, I = 3, H = 4;
    const next = rng(31);
    const params = { kernel: uniform(I * 3 * H, 0.7, next), recurrentKernel: uniform(H * 3 * H, 0.7, next), inputBias: uniform(3 * H, 0.3, next), recurrentBias: uniform(3 * H, 0.3, next) };
    const spec = { batch: B, steps: T, inputSize: I, units: H, resetAfter: true, activation: 'tanh' as const, recurrentActivation: 'sigmoid' as const };
    const x = uniform(B * T * I, 1, next);
    const h0 = uniform(B * H, 0.5, next);
    const scale = Float32Array.from({ length: B * H }, (_, i) => (i % 3 === 0 ? 0 : 1 / (1 - 0.3)));
    const G = uniform(B * T * H, 1, next);
    const fwd = await kernels.gruForward(spec, params, x, h0, null, scale, true);
    const bias = new Float32Array(6 * H);
    bias.set(params.inputBias);
    bias.set(params.recurrentBias, 3 * H);
    expect(toleranceRatio(fwd.output, naiveGru(x, h0, params.kernel, params.recurrentKernel, bias, scale, B, T, I, H), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    const g = await kernels.gruBackward(spec, params, fwd, G, null);
    const loss = async (p: typeof params, xx: Float32Array, hh: Float32Array) => {
      const o = (await kernels.gruForward(spec, p, xx, hh, null, scale, false)).output;
      return o.reduce((a, v, i) => a + v * G[i], 0);
    };
    const eps = 1e-3;
    const check = async (arr: Float32Array, grad: Float32Array, name: string, run: () => Promise<number>) => {
      for (let i = 0; i < arr.length; i += Math.max(1, Math.floor(arr.length / 8))) {
        const keep = arr[i];
        arr[i] = keep + eps;
        const up = await run();
        arr[i] = keep - eps;
        const down = await run();
        arr[i] = keep;
        const numeric = (up - down) / (2 * eps);
        expect(Math.abs(grad[i] - numeric), `${name}[${i}]`).toBeLessThanOrEqual(3e-3 + 2e-2 * Math.abs(numeric));
      }
    };
    // Weights are immutable objects: a fresh params object per evaluation.
    const fresh = () => ({ ...params, kernel: params.kernel.slice(), recurrentKernel: params.recurrentKernel.slice() });
    await check(params.recurrentKernel, g.dRecurrentKernel, 'recurrentKernel', () => loss(fresh(), x, h0));
    await check(params.kernel, g.dKernel, 'kernel', () => loss(fresh(), x, h0));
    await check(h0, g.dh0, 'h0', () => loss(fresh(), x, h0));
    await check(x, g.dx, 'x', () => loss(fresh(), x, h0));
  });

  it.each([
    ['gru', true],
    ['gru', false],
    ['lstm', true],
  ] as const)('%s (resetAfter=%s): native and TS agree with recurrentDropout and a mask', async (kind, resetAfter) => {
    const results = [];
    for (const backendName of ['js', 'native'] as const) {
      setBackend(backendName);
      const layer = kind === 'gru' ? new GRU({ units: H, resetAfter, recurrentDropout: 0.4, dropout: 0.2, seed: 17, returnSequences: true }) : new LSTM({ units: H, recurrentDropout: 0.4, seed: 17, returnSequences: true });
      const x = tensor(uniform(B * T * I, 1, rng(8)), [B, T, I]);
      const mask = tensor([1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1], [B, T], 'bool');
      const out = ((await layer.apply(x, { mask, training: true })) as Tensor<'float32'>).dataSync();
      const r = await layer.backward(tensor(uniform(B * T * H, 1, rng(9)), [B, T, H]));
      results.push({ out, dx: r.dx.dataSync(), grads: layer.getGradients().map((g) => g.dataSync()) });
      const inference = ((await layer.apply(x, { mask })) as Tensor<'float32'>).dataSync();
      expect(Array.from(inference)).not.toEqual(Array.from(out));
    }
    const [js, nat] = results;
    expect(toleranceRatio(nat.out, js.out, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(nat.dx, js.dx, 1e-4, 1e-3)).toBeLessThanOrEqual(1);
    nat.grads.forEach((g, i) => expect(toleranceRatio(g, js.grads[i], 1e-4, 1e-3), `grad ${i}`).toBeLessThanOrEqual(1));
  });

  // Wide enough that the native kernels split every GEMM and the gate math
  // over two threads.
  it.each([true, false])('GRU (resetAfter=%s) wide, on 2 threads: native and TS agree with recurrentDropout and a mask', async (resetAfter) => {
    const Bw = 8, Tw = 5, Iw = 7, Hw = 160;
    const maskBits = Array.from({ length: Bw * Tw }, (_, i) => ((i * 7) % 5 === 0 ? 0 : 1));
    const results = [];
    const threadsBefore = getNumThreads();
    setNumThreads(2);
    try {
      for (const backendName of ['js', 'native'] as const) {
        setBackend(backendName);
        const layer = new GRU({ units: Hw, resetAfter, recurrentDropout: 0.3, seed: 23, returnSequences: true });
        const x = tensor(uniform(Bw * Tw * Iw, 1, rng(10)), [Bw, Tw, Iw]);
        const mask = tensor(maskBits, [Bw, Tw], 'bool');
        const out = ((await layer.apply(x, { mask, training: true })) as Tensor<'float32'>).dataSync();
        const r = await layer.backward(tensor(uniform(Bw * Tw * Hw, 1, rng(11)), [Bw, Tw, Hw]));
        results.push({ out, dx: r.dx.dataSync(), grads: layer.getGradients().map((g) => g.dataSync()) });
      }
    } finally {
      setNumThreads(threadsBefore);
    }
    const [js, nat] = results;
    expect(toleranceRatio(nat.out, js.out, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(nat.dx, js.dx, 1e-4, 1e-3)).toBeLessThanOrEqual(1);
    nat.grads.forEach((g, i) => expect(toleranceRatio(g, js.grads[i], 1e-4, 1e-3), `grad ${i}`).toBeLessThanOrEqual(1));
  });
});
