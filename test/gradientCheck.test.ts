/**
 * Backward agrees with central finite differences of the forward on tiny
 * shapes, on both backends, for both reset forms and the activations:
 * L = sum(output * G) + sum(lastState * Gh).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GRU, LSTM, setBackend, tensor, type CandidateActivation, type GateActivation, type Tensor } from '../lib/index.js';
import { expectFiniteDifferences } from './helpers/finiteDifferences.js';
import { rng, uniform } from './helpers/random.js';

const B = 2, T = 4, I = 3, H = 3;

const configs: Array<{ resetAfter: boolean; activation: CandidateActivation; recurrentActivation: GateActivation }> = [
  { resetAfter: true, activation: 'tanh', recurrentActivation: 'sigmoid' },
  { resetAfter: false, activation: 'tanh', recurrentActivation: 'sigmoid' },
  { resetAfter: true, activation: 'relu', recurrentActivation: 'hardSigmoid' },
  { resetAfter: false, activation: 'sigmoid', recurrentActivation: 'hardSigmoidKeras3' },
  { resetAfter: true, activation: 'linear', recurrentActivation: 'sigmoid' },
];

describe.each(['native', 'js'] as const)('finite differences on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it.each(configs)('resetAfter=$resetAfter $activation/$recurrentActivation', async (cfg) => {
    const next = rng(7);
    const layer = new GRU({ units: H, ...cfg, returnSequences: true, returnState: true });
    const params = [uniform(I * 3 * H, 0.8, next), uniform(H * 3 * H, 0.8, next), uniform((cfg.resetAfter ? 2 : 1) * 3 * H, 0.5, next)];
    const shapes = [[I, 3 * H], [H, 3 * H], cfg.resetAfter ? [2, 3 * H] : [3 * H]];
    const x = uniform(B * T * I, 1, next);
    const h0 = uniform(B * H, 0.5, next);
    const G = uniform(B * T * H, 1, next);
    const Gh = uniform(B * H, 1, next);

    const loss = async (): Promise<number> => {
      layer.setWeights(params.map((p, k) => tensor(p, shapes[k])));
      const [out, h] = (await layer.apply(tensor(x, [B, T, I]), { initialState: [tensor(h0, [B, H])] })) as Tensor[];
      const o = out.dataSync(), hv = h.dataSync();
      let l = 0;
      for (let i = 0; i < o.length; i++) l += o[i] * G[i];
      for (let i = 0; i < hv.length; i++) l += hv[i] * Gh[i];
      return l;
    };

    layer.setWeights(params.map((p, k) => tensor(p, shapes[k])));
    await layer.apply(tensor(x, [B, T, I]), { initialState: [tensor(h0, [B, H])], training: true });
    const { dx, dInitialState } = await layer.backward(tensor(G, [B, T, H]), tensor(Gh, [B, H]));
    const analytic = [...layer.getGradients().map((g) => g.dataSync()), dx.dataSync(), dInitialState.dataSync()];
    const perturbed = [...params, x, h0];
    const names = ['kernel', 'recurrentKernel', 'bias', 'x', 'h0'];

    const checked = await expectFiniteDifferences(perturbed, analytic, names, loss);
    expect(checked).toBeGreaterThan(40);
  });
});

describe.each(['native', 'js'] as const)('LSTM finite differences on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it.each([
    { activation: 'tanh', recurrentActivation: 'sigmoid' },
    { activation: 'relu', recurrentActivation: 'hardSigmoid' },
    { activation: 'sigmoid', recurrentActivation: 'hardSigmoidKeras3' },
  ] as const)('$activation/$recurrentActivation', async (cfg) => {
    const next = rng(11);
    const layer = new LSTM({ units: H, ...cfg, returnSequences: true, returnState: true });
    const params = [uniform(I * 4 * H, 0.8, next), uniform(H * 4 * H, 0.8, next), uniform(4 * H, 0.5, next)];
    const shapes = [[I, 4 * H], [H, 4 * H], [4 * H]];
    const x = uniform(B * T * I, 1, next);
    const h0 = uniform(B * H, 0.5, next);
    const c0 = uniform(B * H, 0.5, next);
    const G = uniform(B * T * H, 1, next);
    const Gh = uniform(B * H, 1, next);
    const Gc = uniform(B * H, 1, next);
    const states = () => [tensor(h0, [B, H]), tensor(c0, [B, H])];

    const loss = async (): Promise<number> => {
      layer.setWeights(params.map((p, k) => tensor(p, shapes[k])));
      const [out, h, c] = (await layer.apply(tensor(x, [B, T, I]), { initialState: states() })) as Tensor[];
      let l = 0;
      const parts: Array<[ArrayLike<number>, Float32Array]> = [[out.dataSync(), G], [h.dataSync(), Gh], [c.dataSync(), Gc]];
      for (const [v, w] of parts) for (let i = 0; i < v.length; i++) l += v[i] * w[i];
      return l;
    };

    layer.setWeights(params.map((p, k) => tensor(p, shapes[k])));
    await layer.apply(tensor(x, [B, T, I]), { initialState: states(), training: true });
    const r = await layer.backward(tensor(G, [B, T, H]), tensor(Gh, [B, H]), tensor(Gc, [B, H]));
    const analytic = [...layer.getGradients().map((g) => g.dataSync()), r.dx.dataSync(), r.dInitialState[0].dataSync(), r.dInitialState[1].dataSync()];
    const perturbed = [...params, x, h0, c0];
    const names = ['kernel', 'recurrentKernel', 'bias', 'x', 'h0', 'c0'];
    const checked = await expectFiniteDifferences(perturbed, analytic, names, loss);
    expect(checked).toBeGreaterThan(50);
  });
});
