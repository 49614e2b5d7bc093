/**
 * The native and TS backends compute the same thing on random shapes,
 * including the degenerate ones (B=1, T=1, I=1, H=1), an odd wide H (257), a
 * long sequence (T=300), and a batch wide enough to split the gate math
 * across threads; every option combination appears.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GRU, LSTM, SimpleRNN, setBackend, setNumThreads, tensor, type GateActivation, type CandidateActivation, type Tensor } from '../lib/index.js';
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
  [64, 3, 8, 160], // the gate math and every GEMM are split across threads
  [1, 4, 24, 420], // one sequence: the recurrent GEMV is split across threads
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

describe('native and TS backends agree with masks', () => {
  // Masks with holes, leading masked steps and one fully masked sequence.
  const B = 5, T = 7, I = 3, H = 6;
  const maskRows = [
    [1, 1, 1, 1, 1, 1, 1],
    [1, 1, 0, 1, 0, 0, 1],
    [0, 0, 1, 1, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
    [1, 0, 0, 0, 0, 0, 0],
  ];

  async function runMasked(backendName: 'native' | 'js', cell: 'gru' | 'gru-v1' | 'lstm', seed: number) {
    setBackend(backendName);
    const next = rng(seed);
    const gates = cell === 'lstm' ? 4 : 3;
    const layer = cell === 'lstm' ? new LSTM({ units: H, returnSequences: true, returnState: true }) : new GRU({ units: H, resetAfter: cell === 'gru', returnSequences: true, returnState: true });
    const biasShape = cell === 'gru' ? [2, 3 * H] : [gates * H];
    layer.setWeights([tensor(uniform(I * gates * H, 0.6, next), [I, gates * H]), tensor(uniform(H * gates * H, 0.4, next), [H, gates * H]), tensor(uniform(biasShape.reduce((a, b) => a * b), 0.3, next), biasShape)]);
    const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
    const states = Array.from({ length: cell === 'lstm' ? 2 : 1 }, () => tensor(uniform(B * H, 0.5, next), [B, H]));
    const mask = tensor(maskRows.flat(), [B, T], 'bool');
    const outs = (await layer.apply(x, { mask, initialState: states, training: true })) as Tensor<'float32'>[];
    const dOut = tensor(uniform(B * T * H, 1, next), [B, T, H]);
    const dStates = states.map(() => tensor(uniform(B * H, 1, next), [B, H]));
    const r = layer instanceof LSTM ? await layer.backward(dOut, dStates[0], dStates[1]) : await (layer as GRU).backward(dOut, dStates[0]);
    const dInit = Array.isArray(r.dInitialState) ? r.dInitialState : [r.dInitialState];
    return { outs: outs.map((o) => o.dataSync()), dx: r.dx.dataSync(), dInit: dInit.map((d) => d.dataSync()), grads: layer.getGradients().map((g) => g.dataSync()) };
  }

  it.each(['gru', 'gru-v1', 'lstm'] as const)('%s', async (cell) => {
    const js = await runMasked('js', cell, 77);
    const nat = await runMasked('native', cell, 77);
    nat.outs.forEach((o, k) => expect(toleranceRatio(o, js.outs[k], 1e-5, 1e-4), `output ${k}`).toBeLessThanOrEqual(1));
    expect(toleranceRatio(nat.dx, js.dx, 1e-4, 1e-3), 'dx').toBeLessThanOrEqual(1);
    nat.dInit.forEach((d, k) => expect(toleranceRatio(d, js.dInit[k], 1e-4, 1e-3), `dInitialState ${k}`).toBeLessThanOrEqual(1));
    nat.grads.forEach((g, k) => expect(toleranceRatio(g, js.grads[k], 1e-4, 1e-3), `grad ${k}`).toBeLessThanOrEqual(1));
    // Keras semantics on the sequences: before the first valid step the
    // output is 0; at a masked step it repeats the previous output; a fully
    // masked sequence keeps its initial state and outputs zeros.
    const seq = nat.outs[0];
    const row = (b: number, t: number) => Array.from(seq.subarray((b * T + t) * H, (b * T + t + 1) * H));
    expect(row(2, 0).every((v) => v === 0)).toBe(true);
    expect(row(1, 2)).toEqual(row(1, 1));
    expect(row(3, 6).every((v) => v === 0)).toBe(true);
    expect(row(4, 6)).toEqual(row(4, 0));
    // dx at masked steps is 0: the step was not read.
    expect(Array.from(nat.dx.subarray((1 * T + 2) * I, (1 * T + 3) * I)).every((v) => v === 0)).toBe(true);
  });

  // Inference projects the inputs a chunk of timesteps at a time (about
  // 2 MiB of projections: 10 steps here for the GRU, so chunks of 10, 10 and
  // 3; 8, 8 and 7 for the LSTM); training projects all of them at once. Both
  // must give the same states.
  it.each(['gru', 'gru-v1', 'lstm'] as const)('%s: inference in chunks of timesteps matches training and the TS backend', async (cell) => {
    const Bc = 64, Tc = 23, Ic = 5, Hc = 256;
    const rows = Array.from({ length: Bc * Tc }, (_, i) => (i % 7 === 3 ? 0 : 1));
    const run = async (backendName: 'native' | 'js', training: boolean) => {
      setBackend(backendName);
      const layer = cell === 'lstm' ? new LSTM({ units: Hc, returnSequences: true, seed: 9 }) : new GRU({ units: Hc, resetAfter: cell === 'gru', returnSequences: true, seed: 9 });
      const x = tensor(uniform(Bc * Tc * Ic, 1, rng(41)), [Bc, Tc, Ic]);
      const h0 = tensor(uniform(Bc * Hc, 0.5, rng(42)), [Bc, Hc]);
      const initialState = cell === 'lstm' ? [h0, h0] : [h0];
      return ((await layer.apply(x, { mask: tensor(rows, [Bc, Tc], 'bool'), initialState, training })) as Tensor<'float32'>).dataSync();
    };
    const inference = await run('native', false);
    expect(toleranceRatio(inference, await run('native', true), 1e-5, 1e-4), 'native training').toBeLessThanOrEqual(1);
    expect(toleranceRatio(inference, await run('js', false), 1e-5, 1e-4), 'js').toBeLessThanOrEqual(1);
  });

  // Inference with returnSequences: false asks the kernel for the last
  // states only (lastOnly); they must be what the full sequence ends with.
  it.each(['gru', 'gru-v1', 'lstm', 'simpleRnn'] as const)('%s: inference without the sequence gives the last states of the full one', async (cell) => {
    for (const backendName of ['native', 'js'] as const) {
      setBackend(backendName);
      const make = (returnSequences: boolean) => {
        const args = { units: H, returnSequences, returnState: true, seed: 5 };
        return cell === 'lstm' ? new LSTM(args) : cell === 'simpleRnn' ? new SimpleRNN(args) : new GRU({ ...args, resetAfter: cell === 'gru' });
      };
      const x = tensor(uniform(B * T * I, 1, rng(31)), [B, T, I]);
      const mask = tensor(maskRows.flat(), [B, T], 'bool');
      const seq = (await make(true).apply(x, { mask })) as Tensor<'float32'>[];
      const last = (await make(false).apply(x, { mask })) as Tensor<'float32'>[];
      expect(last[0].shape, backendName).toEqual([B, H]);
      // The states are the same; the output is the last state, with rows
      // that never saw a step zeroed (Keras).
      last.slice(1).forEach((s, k) => expect(s.dataSync(), `${backendName} state ${k}`).toEqual(seq[k + 1].dataSync()));
      const want = seq[1].dataSync().slice();
      want.fill(0, 3 * H, 4 * H);
      expect(last[0].dataSync(), `${backendName} output`).toEqual(want);
    }
  });
});
