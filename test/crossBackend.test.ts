/**
 * The native and TS backends compute the same thing on random shapes,
 * including the degenerate ones (B=1, T=1, I=1, H=1), an odd wide H (257), a
 * long sequence (T=300), and a batch wide enough to split the gate math
 * across threads; every option combination appears.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GRU, LSTM, setBackend, setNumThreads, tensor, type GateActivation, type CandidateActivation, type Tensor } from '../lib/index.js';
import { toleranceRatio } from './helpers/golden.js';
import { rng, uniform } from './helpers/random.js';

interface Case {
  B: number;
  T: number;
  I: number;
  H: number;
  resetAfter: boolean;
  activation: CandidateActivation;
  recurrentActivation: GateActivation;
  useBias: boolean;
}

const shapes: Array<[number, number, number, number]> = [
  [1, 1, 1, 1],
  [1, 5, 3, 1],
  [2, 1, 4, 3],
  [3, 7, 1, 5],
  [2, 4, 3, 257],
  [2, 300, 3, 8],
  [5, 9, 17, 33],
  [64, 3, 8, 160], // B*H >= 8192: the gate math is split across threads
];
const activations: CandidateActivation[] = ['tanh', 'relu', 'linear', 'sigmoid'];
const gates: GateActivation[] = ['sigmoid', 'hardSigmoid', 'hardSigmoidKeras3'];

const cases: Case[] = [];
shapes.forEach(([B, T, I, H], i) => {
  for (const resetAfter of [true, false]) {
    cases.push({ B, T, I, H, resetAfter, activation: activations[(i + (resetAfter ? 0 : 1)) % 4], recurrentActivation: gates[(i + (resetAfter ? 1 : 0)) % 3], useBias: i !== 3 });
  }
});

async function run(backendName: 'native' | 'js', c: Case, seed: number) {
  setBackend(backendName);
  const next = rng(seed);
  const { B, T, I, H } = c;
  const layer = new GRU({ units: H, resetAfter: c.resetAfter, activation: c.activation, recurrentActivation: c.recurrentActivation, useBias: c.useBias, returnSequences: true, returnState: true });
  // linear candidates can grow without bound over long sequences; keep them tame.
  const scale = c.activation === 'linear' || c.activation === 'relu' ? 0.3 : 1;
  const weights = [tensor(uniform(I * 3 * H, scale / Math.sqrt(I), next), [I, 3 * H]), tensor(uniform(H * 3 * H, scale / Math.sqrt(H), next), [H, 3 * H])];
  if (c.useBias) weights.push(tensor(uniform((c.resetAfter ? 2 : 1) * 3 * H, 0.5, next), c.resetAfter ? [2, 3 * H] : [3 * H]));
  layer.setWeights(weights);
  const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
  const h0 = tensor(uniform(B * H, 0.5, next), [B, H]);
  const [out, h] = (await layer.apply(x, { initialState: [h0], training: true })) as Tensor<'float32'>[];
  const { dx, dInitialState } = await layer.backward(tensor(uniform(B * T * H, 1, next), [B, T, H]), tensor(uniform(B * H, 1, next), [B, H]));
  return { out: out.dataSync(), h: h.dataSync(), dx: dx.dataSync(), dh0: dInitialState.dataSync(), grads: layer.getGradients().map((g) => g.dataSync()) };
}

describe('native and TS backends agree', () => {
  afterAll(() => setNumThreads(2));

  it.each(cases.map((c, i) => [`B${c.B} T${c.T} I${c.I} H${c.H} resetAfter=${c.resetAfter} ${c.activation}/${c.recurrentActivation}${c.useBias ? '' : ' noBias'}`, c, i] as const))(
    '%s',
    async (_label, c, i) => {
      const js = await run('js', c, 1000 + i);
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const nat = await run('native', c, 1000 + i);
        expect(toleranceRatio(nat.out, js.out, 1e-5, 1e-4), 'output').toBeLessThanOrEqual(1);
        expect(toleranceRatio(nat.h, js.h, 1e-5, 1e-4), 'state').toBeLessThanOrEqual(1);
        expect(toleranceRatio(nat.dx, js.dx, 1e-4, 1e-3), 'dx').toBeLessThanOrEqual(1);
        expect(toleranceRatio(nat.dh0, js.dh0, 1e-4, 1e-3), 'dh0').toBeLessThanOrEqual(1);
        nat.grads.forEach((g, k) => expect(toleranceRatio(g, js.grads[k], 1e-4, 1e-3), `grad ${k}`).toBeLessThanOrEqual(1));
      }
    },
  );
});

async function runLstm(backendName: 'native' | 'js', c: Omit<Case, 'resetAfter'>, seed: number) {
  setBackend(backendName);
  const next = rng(seed);
  const { B, T, I, H } = c;
  const layer = new LSTM({ units: H, activation: c.activation, recurrentActivation: c.recurrentActivation, useBias: c.useBias, returnSequences: true, returnState: true });
  const scale = c.activation === 'linear' || c.activation === 'relu' ? 0.3 : 1;
  const weights = [tensor(uniform(I * 4 * H, scale / Math.sqrt(I), next), [I, 4 * H]), tensor(uniform(H * 4 * H, scale / Math.sqrt(H), next), [H, 4 * H])];
  if (c.useBias) weights.push(tensor(uniform(4 * H, 0.5, next), [4 * H]));
  layer.setWeights(weights);
  const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
  const states = [tensor(uniform(B * H, 0.5, next), [B, H]), tensor(uniform(B * H, 0.5, next), [B, H])];
  const [out, h, cLast] = (await layer.apply(x, { initialState: states, training: true })) as Tensor<'float32'>[];
  const r = await layer.backward(tensor(uniform(B * T * H, 1, next), [B, T, H]), tensor(uniform(B * H, 1, next), [B, H]), tensor(uniform(B * H, 1, next), [B, H]));
  return {
    out: out.dataSync(),
    h: h.dataSync(),
    c: cLast.dataSync(),
    dx: r.dx.dataSync(),
    dh0: r.dInitialState[0].dataSync(),
    dc0: r.dInitialState[1].dataSync(),
    grads: layer.getGradients().map((g) => g.dataSync()),
  };
}

describe('native and TS backends agree on LSTM', () => {
  afterAll(() => setNumThreads(2));
  const lstmCases = shapes.map(([B, T, I, H], i) => ({ B, T, I, H, activation: activations[i % 4], recurrentActivation: gates[(i + 2) % 3], useBias: i !== 2 }));

  it.each(lstmCases.map((c, i) => [`B${c.B} T${c.T} I${c.I} H${c.H} ${c.activation}/${c.recurrentActivation}${c.useBias ? '' : ' noBias'}`, c, i] as const))('%s', async (_label, c, i) => {
    const js = await runLstm('js', c, 2000 + i);
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const nat = await runLstm('native', c, 2000 + i);
      for (const k of ['out', 'h', 'c'] as const) expect(toleranceRatio(nat[k], js[k], 1e-5, 1e-4), k).toBeLessThanOrEqual(1);
      for (const k of ['dx', 'dh0', 'dc0'] as const) expect(toleranceRatio(nat[k], js[k], 1e-4, 1e-3), k).toBeLessThanOrEqual(1);
      nat.grads.forEach((g, k) => expect(toleranceRatio(g, js.grads[k], 1e-4, 1e-3), `grad ${k}`).toBeLessThanOrEqual(1));
    }
  });
});
