/**
 * layers.bidirectional against the golden bidirectional cases (one and two
 * layers, GRU in PyTorch and both Keras forms, LSTM, and variable lengths),
 * forward and backward on both backends; merge modes, goBackwards and the
 * wrapper's contract.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GRU, LSTM, layers, setBackend, tensor, type Tensor } from '../lib/index.js';
import { GATE_NAME, listCases, loadCase, toleranceRatio, torchLstmToKeras, torchToKeras, values, type GoldenCase, type GoldenTensor } from './helpers/golden.js';
import { rng, uniform } from './helpers/random.js';

const cases = listCases('rnn')
  .map((f) => loadCase(f))
  .filter((c) => c.config.bidirectional);

/** Keras-layout weights of layer k, direction d: [kernel, recurrentKernel, bias]. */
function weights(c: GoldenCase, source: Record<string, GoldenTensor>, k: number, d: number, gradients: boolean): Float32Array[] {
  const { hidden_size: H, input_size: I, num_directions: D } = c.config;
  const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
  const Ik = k === 0 ? I : D * H;
  if (c.convention === 'A') {
    const w = torchToKeras(values(source[`weight_ih${sfx}`]), values(source[`weight_hh${sfx}`]), values(source[`bias_ih${sfx}`]), values(source[`bias_hh${sfx}`]), Ik, H);
    return [w.kernel, w.recurrentKernel, w.bias];
  }
  if (c.convention === 'D') {
    const bih = values(source[`bias_ih${sfx}`]);
    const w = torchLstmToKeras(values(source[`weight_ih${sfx}`]), values(source[`weight_hh${sfx}`]), bih, gradients ? new Float32Array(bih.length) : values(source[`bias_hh${sfx}`]), Ik, H);
    return [w.kernel, w.recurrentKernel, w.bias];
  }
  return [values(source[`kernel${sfx}`]), values(source[`recurrent_kernel${sfx}`]), values(source[`bias${sfx}`])];
}

describe.each(['native', 'js'] as const)('bidirectional golden cases on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it('covers the public bidirectional cases', () => {
    expect(cases.map((c) => c.name)).toEqual(['A04_gru_torch_bidir', 'A05_gru_torch_2layer_bidir', 'A07_gru_torch_varlen_2layer_bidir', 'B04_gru_keras_v1_bidir', 'C02_gru_keras_v3_bidir_zero_h0', 'D02_lstm_torch_2layer_bidir']);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const cfg = c.config;
    const { batch: B, timesteps: T, input_size: I, hidden_size: H, num_layers: L } = cfg;
    const isLstm = cfg.cell === 'lstm';
    const S = isLstm ? 2 : 1; // states per direction
    const lengths = c.inputs.lengths ? Array.from(c.inputs.lengths.data ?? []) : undefined;
    const h0 = values(c.inputs.h0);
    const c0 = isLstm ? values(c.inputs.c0) : null;
    const slice = (a: Float32Array, i: number) => tensor(a.subarray(i * B * H, (i + 1) * B * H), [B, H]);
    const loss = c.loss as Record<string, GoldenTensor>;
    const Gh = values(loss.Gh);
    const Gc = isLstm ? values(loss.Gc) : null;
    const wrappers = [];
    const hN = new Float32Array(2 * L * B * H);
    const cN = new Float32Array(2 * L * B * H);
    let seq: Tensor = tensor(values(c.inputs.x), [B, T, I]);
    for (let k = 0; k < L; k++) {
      const options = { units: H, returnSequences: true, returnState: true };
      const inner = isLstm ? new LSTM(options) : new GRU({ ...options, resetAfter: cfg.reset_after, activation: cfg.activation, recurrentActivation: GATE_NAME[cfg.recurrent_activation] });
      const bi = layers.bidirectional({ layer: inner });
      const Ik = k === 0 ? I : 2 * H;
      const shapes = [[Ik, (isLstm ? 4 : 3) * H], [H, (isLstm ? 4 : 3) * H], isLstm ? [4 * H] : cfg.reset_after ? [2, 3 * H] : [3 * H]];
      bi.setWeights([0, 1].flatMap((d) => weights(c, c.params, k, d, false).map((w, j) => tensor(w, shapes[j]))));
      const init = [0, 1].flatMap((d) => (isLstm ? [slice(h0, 2 * k + d), slice(c0 as Float32Array, 2 * k + d)] : [slice(h0, 2 * k + d)]));
      const [out, ...states] = (await bi.apply(seq, { initialState: init, training: true, ...(lengths ? { lengths } : {}) })) as Tensor<'float32'>[];
      for (let d = 0; d < 2; d++) {
        hN.set(states[d * S].dataSync(), (2 * k + d) * B * H);
        if (isLstm) cN.set(states[d * S + 1].dataSync(), (2 * k + d) * B * H);
      }
      wrappers.push(bi);
      seq = out;
    }
    expect(toleranceRatio(seq.dataSync(), values(c.outputs.output), 1e-5, 1e-4), 'output').toBeLessThanOrEqual(1);
    expect(toleranceRatio(hN, values(c.outputs.h_n), 1e-5, 1e-4), 'h_n').toBeLessThanOrEqual(1);
    if (isLstm) expect(toleranceRatio(cN, values(c.outputs.c_n), 1e-5, 1e-4), 'c_n').toBeLessThanOrEqual(1);

    let dOut: Tensor = tensor(values(loss.G), [B, T, 2 * H]);
    const dh0 = new Float32Array(2 * L * B * H);
    for (let k = L - 1; k >= 0; k--) {
      const dStates = [0, 1].flatMap((d) => (isLstm ? [slice(Gh, 2 * k + d), slice(Gc as Float32Array, 2 * k + d)] : [slice(Gh, 2 * k + d)]));
      const r = await wrappers[k].backward(dOut, ...dStates);
      for (let d = 0; d < 2; d++) dh0.set(r.dInitialState[d * S].dataSync(), (2 * k + d) * B * H);
      const grads = wrappers[k].getGradients();
      const per = grads.length / 2;
      for (let d = 0; d < 2; d++) {
        const want = weights(c, c.grads.params, k, d, true);
        for (let j = 0; j < per; j++) expect(toleranceRatio(grads[d * per + j].dataSync(), want[j], 1e-4, 1e-3), `layer ${k} dir ${d} weight ${j}`).toBeLessThanOrEqual(1);
      }
      dOut = r.dx;
    }
    expect(toleranceRatio(dOut.dataSync(), values(c.grads.x), 1e-4, 1e-3), 'dx').toBeLessThanOrEqual(1);
    expect(toleranceRatio(dh0, values(c.grads.h0), 1e-4, 1e-3), 'dh0').toBeLessThanOrEqual(1);
  });
});

describe.each(['native', 'js'] as const)('bidirectional contract on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));
  const B = 2, T = 4, I = 3, H = 2;
  const x = () => tensor(uniform(B * T * I, 1, rng(5)), [B, T, I]);

  it('merge modes combine the two directions as Keras does', async () => {
    const inner = layers.gru({ units: H, returnSequences: true, seed: 1 });
    const pair = (await layers.bidirectional({ layer: inner, mergeMode: null }).apply(x())) as Tensor[];
    expect(pair.map((t) => t.shape)).toEqual([[B, T, H], [B, T, H]]);
    const [f, b] = pair.map((t) => t.dataSync());
    const run = async (mergeMode: 'concat' | 'sum' | 'mul' | 'ave') => ((await layers.bidirectional({ layer: inner, mergeMode }).apply(x())) as Tensor).dataSync();
    expect(Array.from(await run('sum'))).toEqual(Array.from(f.map((v, i) => v + b[i])));
    expect(Array.from(await run('mul'))).toEqual(Array.from(f.map((v, i) => v * b[i])));
    expect(Array.from(await run('ave'))).toEqual(Array.from(f.map((v, i) => (v + b[i]) / 2)));
    const concat = await run('concat');
    expect(concat.length).toBe(2 * f.length);
    expect(Array.from(concat.subarray(H, 2 * H))).toEqual(Array.from(b.subarray(0, H)));
  });

  it('the backward direction is goBackwards re-reversed, and weights go forward then backward', async () => {
    const inner = layers.gru({ units: H, returnSequences: true, seed: 2 });
    const bi = layers.bidirectional({ layer: inner, mergeMode: null });
    const [, b] = (await bi.apply(x())) as Tensor[];
    const back = layers.gru({ units: H, returnSequences: true, goBackwards: true });
    back.setWeights(bi.getWeights().slice(3));
    const rev = ((await back.apply(x())) as Tensor).dataSync();
    const bv = b.dataSync();
    for (let bb = 0; bb < B; bb++) for (let t = 0; t < T; t++) for (let j = 0; j < H; j++) expect(bv[(bb * T + t) * H + j]).toBe(rev[(bb * T + (T - 1 - t)) * H + j]);
    expect(bi.getWeights()).toHaveLength(6);
    expect(bi.getConfig()).toMatchObject({ mergeMode: null, layer: { className: 'GRU' } });
  });

  it('masked steps give zero outputs; bad arguments are refused', async () => {
    const bi = layers.bidirectional({ layer: layers.lstm({ units: H, returnSequences: true, returnState: true, seed: 3 }) });
    const mask = tensor([1, 1, 0, 0, 1, 1, 1, 1], [B, T], 'bool');
    const [out, ...states] = (await bi.apply(x(), { mask, training: true })) as Tensor[];
    expect(states).toHaveLength(4);
    const o = out.dataSync();
    expect(Array.from(o.subarray(2 * 2 * H, 4 * 2 * H)).every((v) => v === 0)).toBe(true);
    await expect(bi.apply(x(), { initialState: [tensor(new Float32Array(B * H), [B, H])] })).rejects.toThrow(/initialState must hold 4 tensors/);
    await expect(bi.backward(tensor(new Float32Array(B * T * H), [B, T, H]))).rejects.toThrow(/dOutput must have shape \[2, 4, 4\]/);
    expect(() => layers.bidirectional({ layer: {} as never })).toThrow(/must be a GRU, LSTM or SimpleRNN/);
    expect(() => layers.bidirectional({ layer: layers.gru({ units: 2 }), mergeMode: 'max' as never })).toThrow(/mergeMode/);
  });
});

describe.each(['native', 'js'] as const)('bidirectional gradients on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));
  const B = 2, T = 3, I = 2, H = 2;

  it.each([
    ['concat', true],
    ['sum', true],
    ['mul', true],
    ['ave', false],
    [null, true],
  ] as const)('mergeMode %s (returnSequences %s) matches finite differences, with a mask', async (mergeMode, returnSequences) => {
    const bi = layers.bidirectional({ layer: layers.lstm({ units: H, returnSequences, seed: 4 }), mergeMode });
    const x = uniform(B * T * I, 1, rng(2));
    const mask = tensor([1, 1, 1, 1, 1, 0], [B, T], 'bool');
    await bi.apply(tensor(x, [B, T, I]), { mask });
    const outShape = (returnSequences ? [B, T] : [B]).concat(mergeMode === 'concat' ? 2 * H : H);
    const size = outShape.reduce((a, b) => a * b, 1);
    const G = mergeMode === null ? [uniform(size, 1, rng(3)), uniform(size, 1, rng(4))] : [uniform(size, 1, rng(3))];
    const loss = async () => {
      const out = (await bi.apply(tensor(x, [B, T, I]), { mask })) as Tensor | Tensor[];
      const list = Array.isArray(out) ? out : [out];
      return list.reduce((a, t, k) => a + (t.dataSync() as Float32Array).reduce((s, v, i) => s + v * G[k][i], 0), 0);
    };
    await bi.apply(tensor(x, [B, T, I]), { mask, training: true });
    const dOut = mergeMode === null ? G.map((g) => tensor(g, outShape)) : tensor(G[0], outShape);
    const r = await bi.backward(dOut);
    const dx = r.dx.dataSync();
    for (let i = 0; i < x.length; i++) {
      const keep = x[i];
      x[i] = keep + 1e-3;
      const up = await loss();
      x[i] = keep - 1e-3;
      const down = await loss();
      x[i] = keep;
      const numeric = (up - down) / 2e-3;
      expect(Math.abs(dx[i] - numeric), `dx[${i}]`).toBeLessThanOrEqual(3e-3 + 2e-2 * Math.abs(numeric));
    }
  });

  it('builds both directions from the config: seeded directions differ; config round-trips; checks shapes; setWeights is all or nothing', async () => {
    const bi = layers.bidirectional({ layer: layers.gru({ units: H, seed: 1 }), inputShape: [T, I] });
    bi.build([null, T, I]);
    const w = bi.getWeights();
    expect(Array.from(w[0].dataSync())).not.toEqual(Array.from(w[3].dataSync()));
    const again = layers.bidirectional(bi.getConfig() as never);
    again.build([null, T, I]);
    expect(again.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(w.map((t) => Array.from(t.dataSync())));
    await expect(bi.apply(tensor(new Float32Array(B * (T + 1) * I), [B, T + 1, I]))).rejects.toThrow(/declared inputShape/);
    const bad = [...w.slice(0, 3), tensor(new Float32Array(5), [5]), ...w.slice(4)];
    const zeros = w.map((t) => tensor(new Float32Array(t.size), t.shape));
    expect(() => bi.setWeights([...zeros.slice(0, 3), ...bad.slice(3)])).toThrow(/kernel must have shape/);
    expect(bi.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(w.map((t) => Array.from(t.dataSync())));
    expect(() => layers.bidirectional({ layer: layers.gru({ units: 2 }), merge_mode: 'sum' } as never)).toThrow(/unknown option "merge_mode"/);
    const simple = layers.bidirectional({ layer: layers.simpleRNN({ units: H }) });
    expect(((await simple.apply(tensor(new Float32Array(B * T * I), [B, T, I]))) as Tensor).shape).toEqual([B, 2 * H]);
  });
});
