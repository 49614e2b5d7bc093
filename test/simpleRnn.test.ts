/**
 * SimpleRNN on both backends: against its definition
 * h' = act(x W + h U + b), against finite differences, and native against
 * TS with masks, goBackwards and dropout.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { layers, setBackend, SimpleRNN, tensor, type Tensor } from '../lib/index.js';
import { toleranceRatio } from './helpers/golden.js';
import { expectFiniteDifferences } from './helpers/finiteDifferences.js';
import { rng, uniform } from './helpers/random.js';

const B = 3, T = 5, I = 4, H = 6;

function reference(x: Float32Array, h0: Float32Array, k: Float32Array, u: Float32Array, b: Float32Array, act: (v: number) => number): Float32Array {
  const out = new Float32Array(B * T * H);
  for (let s = 0; s < B; s++) {
    let h = Array.from(h0.subarray(s * H, (s + 1) * H));
    for (let t = 0; t < T; t++) {
      h = h.map((_, j) => {
        let v = b[j];
        for (let i = 0; i < I; i++) v += x[(s * T + t) * I + i] * k[i * H + j];
        for (let i = 0; i < H; i++) v += h[i] * u[i * H + j];
        return act(v);
      });
      out.set(h, (s * T + t) * H);
    }
  }
  return out;
}

describe.each(['native', 'js'] as const)('SimpleRNN on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it.each([
    ['tanh', Math.tanh],
    ['relu', (v: number) => Math.max(v, 0)],
  ] as const)('matches its definition (%s) and finite differences', async (activation, act) => {
    const next = rng(3);
    const w = [uniform(I * H, 0.6, next), uniform(H * H, 0.5, next), uniform(H, 0.3, next)];
    const x = uniform(B * T * I, 1, next), h0 = uniform(B * H, 0.5, next), G = uniform(B * T * H, 1, next);
    const layer = layers.simpleRNN({ units: H, activation, returnSequences: true });
    const shapes = [[I, H], [H, H], [H]];
    layer.setWeights(w.map((v, i) => tensor(v, shapes[i])));
    const out = (await layer.apply(tensor(x, [B, T, I]), { initialState: [tensor(h0, [B, H])], training: true })) as Tensor<'float32'>;
    expect(toleranceRatio(out.dataSync(), reference(x, h0, w[0], w[1], w[2], act), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    const r = await layer.backward(tensor(G, [B, T, H]));
    const analytic = [...layer.getGradients().map((g) => g.dataSync()), r.dx.dataSync(), r.dInitialState.dataSync()];
    const loss = async () => {
      layer.setWeights(w.map((v, i) => tensor(v, shapes[i])));
      const o = ((await layer.apply(tensor(x, [B, T, I]), { initialState: [tensor(h0, [B, H])] })) as Tensor<'float32'>).dataSync();
      return o.reduce((a, v, i) => a + v * G[i], 0);
    };
    expect(await expectFiniteDifferences([...w, x, h0], analytic, ['kernel', 'recurrentKernel', 'bias', 'x', 'h0'], loss, 6)).toBeGreaterThan(25);
  });

  it('has no recurrentActivation and round-trips its config', () => {
    expect(() => new SimpleRNN({ units: 2, recurrentActivation: 'sigmoid' } as never)).toThrow(/no recurrentActivation/);
    const l = layers.simpleRNN({ units: 3, goBackwards: true, dropout: 0.1, seed: 2 });
    expect(l.getConfig()).not.toHaveProperty('recurrentActivation');
    expect(new SimpleRNN(l.getConfig() as never).getConfig()).toEqual(l.getConfig());
  });
});

describe('SimpleRNN: native and TS agree', () => {
  it('with a mask, goBackwards, dropout and recurrentDropout', async () => {
    const results = [];
    for (const backendName of ['js', 'native'] as const) {
      setBackend(backendName);
      const layer = layers.simpleRNN({ units: H, returnSequences: true, returnState: true, goBackwards: true, dropout: 0.2, recurrentDropout: 0.3, seed: 5 });
      const x = tensor(uniform(B * T * I, 1, rng(6)), [B, T, I]);
      const mask = tensor([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0], [B, T], 'bool');
      const [out, h] = (await layer.apply(x, { mask, training: true })) as Tensor<'float32'>[];
      const r = await layer.backward(tensor(uniform(B * T * H, 1, rng(7)), [B, T, H]), tensor(uniform(B * H, 1, rng(8)), [B, H]));
      results.push({ out: out.dataSync(), h: h.dataSync(), dx: r.dx.dataSync(), dh0: r.dInitialState.dataSync(), grads: layer.getGradients().map((g) => g.dataSync()) });
    }
    const [js, nat] = results;
    expect(toleranceRatio(nat.out, js.out, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(nat.h, js.h, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(nat.dx, js.dx, 1e-4, 1e-3)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(nat.dh0, js.dh0, 1e-4, 1e-3)).toBeLessThanOrEqual(1);
    nat.grads.forEach((g, i) => expect(toleranceRatio(g, js.grads[i], 1e-4, 1e-3), `grad ${i}`).toBeLessThanOrEqual(1));
  });
});
