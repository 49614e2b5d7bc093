/**
 * The layer API contract (tfjs names, Keras semantics) for GRU and LSTM on
 * both backends: getConfig round-trips, output and state shapes with
 * returnSequences/returnState, LSTM's [h, c] states and Keras weight layout,
 * and the LSTM-specific bad inputs.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GRU, LSTM, layers, setBackend, tensor, type Tensor } from '../lib/index.js';
import { rng, uniform } from './helpers/random.js';

const B = 2, T = 5, I = 3, H = 4;
const x = () => tensor(uniform(B * T * I, 1, rng(1)), [B, T, I]);

describe.each(['native', 'js'] as const)('layer API on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it('getConfig round-trips through the constructor', () => {
    const gru = layers.gru({ units: H, activation: 'relu', recurrentActivation: 'hardSigmoid', resetAfter: false, useBias: false, returnSequences: true, returnState: true, inputShape: [null, I], seed: 3, name: 'enc' });
    const again = new GRU(gru.getConfig() as never);
    expect(again.getConfig()).toEqual(gru.getConfig());
    expect(gru.getConfig()).toMatchObject({ name: 'enc', units: H, activation: 'relu', recurrentActivation: 'hardSigmoid', resetAfter: false, useBias: false, returnSequences: true, returnState: true, batchInputShape: [null, null, I] });
    const lstm = layers.lstm({ units: H, unitForgetBias: false, returnState: true, seed: 4, name: 'dec' });
    expect(new LSTM(lstm.getConfig() as never).getConfig()).toEqual(lstm.getConfig());
  });

  it('GRU: output and state shapes', async () => {
    const seq = (await layers.gru({ units: H, returnSequences: true }).apply(x())) as Tensor;
    expect(seq.shape).toEqual([B, T, H]);
    const [last, state] = (await layers.gru({ units: H, returnState: true }).apply(x())) as Tensor[];
    expect(last.shape).toEqual([B, H]);
    expect(Array.from(state.dataSync())).toEqual(Array.from(last.dataSync()));
  });

  it('LSTM: apply with initialState [h0, c0] resolves to [output, h, c]', async () => {
    const lstm = layers.lstm({ units: H, returnSequences: true, returnState: true, seed: 1 });
    const h0 = tensor(uniform(B * H, 0.5, rng(2)), [B, H]);
    const c0 = tensor(uniform(B * H, 0.5, rng(3)), [B, H]);
    const [out, h, c] = (await lstm.apply(x(), { initialState: [h0, c0] })) as Tensor[];
    expect(out.shape).toEqual([B, T, H]);
    expect(h.shape).toEqual([B, H]);
    expect(c.shape).toEqual([B, H]);
    const o = out.dataSync();
    const hv = h.dataSync();
    for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) expect(hv[b * H + j]).toBe(o[(b * T + T - 1) * H + j]);
    // The initial states matter.
    const [, h2] = (await lstm.apply(x())) as Tensor[];
    expect(Array.from(h2.dataSync())).not.toEqual(Array.from(hv));
  });

  it('LSTM: Keras weight layout, unit forget bias, and setWeights/getWeights', () => {
    const lstm = layers.lstm({ units: H, seed: 5 });
    lstm.build([null, null, I]);
    const [k, r, b] = lstm.getWeights();
    expect(k.shape).toEqual([I, 4 * H]);
    expect(r.shape).toEqual([H, 4 * H]);
    expect(b.shape).toEqual([4 * H]);
    // Gate order i, f, c, o: the forget block starts at 1.
    expect(Array.from(b.dataSync())).toEqual([...Array(H).fill(0), ...Array(H).fill(1), ...Array(2 * H).fill(0)]);
    const w = [tensor(uniform(I * 4 * H, 1, rng(6)), [I, 4 * H]), tensor(uniform(H * 4 * H, 1, rng(7)), [H, 4 * H]), tensor(uniform(4 * H, 1, rng(8)), [4 * H])];
    lstm.setWeights(w);
    lstm.getWeights().forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(w[i].dataSync())));
  });

  it('LSTM: a known step by hand', async () => {
    // One unit, one feature, one step: c = i*g, h = o*tanh(c) with every
    // pre-activation equal to the input 0.5 (kernel 1, recurrent 0, bias 0).
    const lstm = layers.lstm({ units: 1 });
    lstm.setWeights([tensor([[1, 1, 1, 1]]), tensor([[0, 0, 0, 0]]), tensor([0, 0, 0, 0])]);
    const y = (await lstm.apply(tensor([[[0.5]]]))) as Tensor;
    const s = 1 / (1 + Math.exp(-0.5));
    expect(y.dataSync()[0]).toBeCloseTo(s * Math.tanh(s * Math.tanh(0.5)), 6);
  });

  it('LSTM: rejects bad weights, states and upstream gradients', async () => {
    const lstm = layers.lstm({ units: H, returnState: true });
    expect(() => lstm.setWeights([tensor(new Float32Array(I * 3 * H), [I, 3 * H]), tensor(new Float32Array(H * 4 * H), [H, 4 * H]), tensor(new Float32Array(4 * H), [4 * H])])).toThrow(/LSTM .* kernel must have shape \[3, 16\]/);
    expect(() => lstm.setWeights([tensor(new Float32Array(I * 4 * H), [I, 4 * H]), tensor(new Float32Array(H * 4 * H), [H, 4 * H]), tensor(new Float32Array(2 * 4 * H), [2, 4 * H])])).toThrow(/bias must have shape \[16\]/);
    const h0 = tensor(new Float32Array(B * H), [B, H]);
    await expect(lstm.apply(x(), { initialState: [h0] })).rejects.toThrow(/initialState must hold 2 tensors \[h, c\]/);
    await expect(lstm.apply(x(), { initialState: [h0, tensor(new Float32Array(B * H).fill(NaN), [B, H])] })).rejects.toThrow(/initialState\[1\] contains NaN/);
    await expect(lstm.backward(null)).rejects.toThrow(/backward needs a preceding apply/);
    await lstm.apply(x(), { training: true });
    await expect(lstm.backward(null, tensor(new Float32Array(B * (H + 1)), [B, H + 1]))).rejects.toThrow(/dH must have shape \[2, 4\]/);
    await expect(lstm.backward(null, null, tensor(new Float32Array(B * H).fill(Infinity), [B, H]))).rejects.toThrow(/dC contains Infinity/);
    const ok = await lstm.backward(tensor(new Float32Array(B * H).fill(1), [B, H]));
    expect(ok.dx.shape).toEqual([B, T, I]);
  });

  it('masks and lengths: checked, and the last state is the last valid step', async () => {
    const gru = layers.gru({ units: H, returnSequences: true, returnState: true, seed: 2 });
    const xs = x();
    await expect(gru.apply(xs, { mask: tensor(new Uint8Array(B * (T + 1)), [B, T + 1], 'bool') })).rejects.toThrow(/mask must have shape \[2, 5\]/);
    await expect(gru.apply(xs, { lengths: [5, -1] })).rejects.toThrow(/lengths\[1\] must be an integer between 0 and 5/);
    await expect(gru.apply(xs, { lengths: [5, 2.5] })).rejects.toThrow(/lengths\[1\]/);
    await expect(gru.apply(xs, { lengths: [5] })).rejects.toThrow(/one length per sequence \(2\)/);
    await expect(gru.apply(xs, { lengths: tensor([5, 6], [2], 'int32') })).rejects.toThrow(/lengths\[1\]/);
    await expect(gru.apply(xs, { lengths: [5, 3], mask: tensor(new Uint8Array(B * T), [B, T], 'bool') })).rejects.toThrow(/either mask or lengths/);
    await expect(gru.apply(xs, { mask: tensor(new Float32Array(B * T).fill(NaN), [B, T]) })).rejects.toThrow(/mask contains NaN/);
    await expect(gru.apply(xs, { lengths: 'all' as never })).rejects.toThrow(TypeError);
    // lengths [5, 3]: sequence 1 ends at step 2; its padded outputs are 0.
    const [seq, h] = (await gru.apply(xs, { lengths: [5, 3] })) as Tensor[];
    const s = seq.dataSync(), hv = h.dataSync();
    for (let j = 0; j < H; j++) {
      expect(hv[H + j]).toBe(s[(T + 2) * H + j]);
      expect(s[(T + 3) * H + j]).toBe(0);
      expect(s[(T + 4) * H + j]).toBe(0);
    }
    // A length-0 sequence keeps its initial state and outputs zeros; length 1 reads one step.
    const h0 = tensor(uniform(B * H, 0.5, rng(9)), [B, H]);
    const [seq0, h0out] = (await gru.apply(xs, { lengths: [0, 1], initialState: [h0] })) as Tensor[];
    expect(Array.from(h0out.dataSync().subarray(0, H))).toEqual(Array.from(h0.dataSync().subarray(0, H)));
    expect(Array.from(seq0.dataSync().subarray(0, T * H)).every((v) => v === 0)).toBe(true);
    expect(Array.from(h0out.dataSync().subarray(H))).toEqual(Array.from(seq0.dataSync().subarray(T * H, T * H + H)));
    // The same sequence cut to its 3 steps gives the same state.
    const short = tensor(xs.dataSync().slice(T * I, T * I + 3 * I), [1, 3, I]);
    const [, hShort] = (await gru.apply(short)) as Tensor[];
    for (let j = 0; j < H; j++) expect(hShort.dataSync()[j]).toBeCloseTo(hv[H + j], 6);
  });

  it.each(['gru', 'lstm', 'simpleRNN'] as const)('%s: adoptWeights (the training step) takes the updated weights, checks their shapes, and the next call uses them', async (kind) => {
    const layer = layers[kind]({ units: H, returnSequences: true, seed: 5 });
    const input = x();
    const before = (await layer.apply(input)) as Tensor;
    const weights = layer.getWeights();
    for (const w of weights) {
      const v = w.view() as Float32Array;
      for (let k = 0; k < v.length; k++) v[k] *= 0.5;
    }
    const wrongShape = [tensor(new Float32Array(I * 2), [I, 2]), ...weights.slice(1)];
    expect(() => layer.adoptWeights(wrongShape)).toThrow(RangeError);
    layer.adoptWeights(weights);
    layer.getWeights().forEach((w, k) => expect(Array.from(w.dataSync())).toEqual(Array.from(weights[k].dataSync())));
    const after = (await layer.apply(input)) as Tensor;
    // The same as setting them the public way, on a fresh layer.
    const fresh = layers[kind]({ units: H, returnSequences: true, seed: 99 });
    fresh.build([null, T, I]);
    fresh.setWeights(weights);
    expect(Array.from(after.dataSync())).toEqual(Array.from(((await fresh.apply(input)) as Tensor).dataSync()));
    expect(Array.from(after.dataSync())).not.toEqual(Array.from(before.dataSync()));
  });
});

describe.each(['native', 'js'] as const)('stateful layers on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it.each(['gru', 'lstm'] as const)('%s: three batches in a row equal one long sequence; resetStates starts afresh', async (kind) => {
    const make = (stateful: boolean) => (kind === 'gru' ? layers.gru({ units: H, returnSequences: true, stateful, seed: 8 }) : layers.lstm({ units: H, returnSequences: true, stateful, seed: 8 }));
    const whole = tensor(uniform(B * 3 * T * I, 1, rng(12)), [B, 3 * T, I]);
    const long = (await make(false).apply(whole)) as Tensor;
    const stateful = make(true);
    const parts: Float32Array[] = [];
    for (let k = 0; k < 3; k++) {
      const chunk = new Float32Array(B * T * I);
      for (let b = 0; b < B; b++) chunk.set(whole.dataSync().subarray((b * 3 * T + k * T) * I, (b * 3 * T + (k + 1) * T) * I), b * T * I);
      parts.push(((await stateful.apply(tensor(chunk, [B, T, I]))) as Tensor<'float32'>).dataSync());
    }
    const lv = long.dataSync();
    for (let k = 0; k < 3; k++)
      for (let b = 0; b < B; b++)
        for (let i = 0; i < T * H; i++) expect(parts[k][b * T * H + i]).toBeCloseTo(lv[(b * 3 * T + k * T) * H + i], 5);
    // A new batch size is refused until the states are reset.
    await expect(stateful.apply(tensor(new Float32Array(3 * T * I), [3, T, I]))).rejects.toThrow(/carries states for a batch of 2, got a batch of 3/);
    stateful.resetStates();
    const first = ((await stateful.apply(tensor(new Float32Array(B * T * I), [B, T, I]))) as Tensor).dataSync();
    const fresh = ((await make(false).apply(tensor(new Float32Array(B * T * I), [B, T, I]))) as Tensor).dataSync();
    expect(Array.from(first)).toEqual(Array.from(fresh));
    expect(() => make(false).resetStates()).toThrow(/for stateful layers/);
    expect(stateful.getConfig()).toMatchObject({ stateful: true });
  });
});

describe('layer options the tfjs way', () => {
  it('rejects unknown options instead of ignoring them', () => {
    expect(() => layers.gru({ units: 2, returnSequence: true } as never)).toThrow(/GRU: unknown option "returnSequence"/);
    expect(() => layers.lstm({ units: 2, resetAfter: true } as never)).toThrow(/LSTM: unknown option "resetAfter"/);
    expect(() => layers.gru({ units: 2, unitForgetBias: true } as never)).toThrow(/unknown option "unitForgetBias"/);
  });

  it('takes inputDim, inputLength, batchSize and initial weights', async () => {
    const l = layers.gru({ units: 2, inputDim: 3, inputLength: 4, batchSize: 5 });
    expect(l.batchInputShape).toEqual([5, 4, 3]);
    await expect(l.apply(tensor(new Float32Array(2 * 4 * 3), [2, 4, 3]))).rejects.toThrow(/declared inputShape/);
    const weights = [tensor(new Float32Array(3 * 6).fill(0.1), [3, 6]), tensor(new Float32Array(2 * 6).fill(0.2), [2, 6]), tensor(new Float32Array(12).fill(0.3), [2, 6])];
    const w = layers.gru({ units: 2, weights });
    expect(w.built).toBe(true);
    expect(Array.from(w.getWeights()[1].dataSync())).toEqual(Array(12).fill(0.2).map(Math.fround));
    expect(() => layers.gru({ units: 2, inputLength: 4 })).toThrow(/inputLength needs inputDim/);
    expect(() => layers.gru({ units: 2, batchSize: 0, inputShape: [3, 2] })).toThrow(/batchSize must be a positive integer/);
    expect(() => layers.gru({ units: 2, dtype: 'int32' as never })).toThrow(/dtype must be 'float32'/);
  });
});

describe('overlapping calls on one layer', () => {
  it('inference calls may overlap; training, stateful calls and backward may not', async () => {
    setBackend('native');
    const xs = tensor(uniform(B * T * I, 1, rng(1)), [B, T, I]);
    const gru = layers.gru({ units: H, seed: 1 });
    const outs = (await Promise.all([gru.apply(xs), gru.apply(xs), gru.apply(xs)])) as Tensor[];
    expect(Array.from(outs[0].dataSync())).toEqual(Array.from(outs[2].dataSync()));
    const training = [gru.apply(xs, { training: true }), gru.apply(xs, { training: true })];
    const results = await Promise.allSettled(training);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1].status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/still running; await it first/);
    const stateful = layers.lstm({ units: H, stateful: true, seed: 2 });
    const both = await Promise.allSettled([stateful.apply(xs), stateful.apply(xs)]);
    expect(both.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    // Once settled, the layer works again.
    await gru.apply(xs, { training: true });
    expect((await gru.backward(tensor(new Float32Array(B * H).fill(1), [B, H]))).dx.shape).toEqual([B, T, I]);
  });
});
