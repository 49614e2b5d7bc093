/**
 * The PyTorch <-> Keras weight converters: exact on every golden case that
 * carries both layouts (PyTorch cases store their Keras equivalent and Keras
 * reset_after=True cases their PyTorch equivalent), round trips, and clear
 * errors.
 */
import { describe, expect, it } from 'vitest';
import { gruWeightsFromTorch, gruWeightsToTorch, lstmWeightsFromTorch, lstmWeightsToTorch, tensor, type Tensor } from '../lib/index.js';
import { listCases, loadCase, values, type GoldenTensor } from './helpers/golden.js';

type Equivalent = { convention: string; params: Record<string, GoldenTensor> };
const cases = listCases('rnn')
  .map((f) => loadCase(f) as ReturnType<typeof loadCase> & { equivalent_params?: Equivalent })
  .filter((c) => c.equivalent_params);

const t = (g: GoldenTensor) => tensor(values(g), g.shape);
const suffixes = (c: ReturnType<typeof loadCase>) =>
  Array.from({ length: c.config.num_layers }, (_, k) => Array.from({ length: c.config.num_directions }, (_, d) => `_l${k}${d === 1 ? '_reverse' : ''}`)).flat();

describe('PyTorch <-> Keras weight layouts', () => {
  it('covers the golden cases with both layouts', () => {
    expect(cases.length).toBeGreaterThanOrEqual(14);
  });

  it.each(cases.filter((c) => c.config.cell === 'gru').map((c) => [c.name, c] as const))('GRU %s: exact both ways', (_name, c) => {
    const torch = c.convention === 'A' ? c.params : (c.equivalent_params as Equivalent).params;
    const keras = c.convention === 'A' ? (c.equivalent_params as Equivalent).params : c.params;
    for (const sfx of suffixes(c)) {
      const fromTorch = gruWeightsFromTorch({ weight_ih: t(torch[`weight_ih${sfx}`]), weight_hh: t(torch[`weight_hh${sfx}`]), bias_ih: t(torch[`bias_ih${sfx}`]), bias_hh: t(torch[`bias_hh${sfx}`]) });
      const want = [`kernel${sfx}`, `recurrent_kernel${sfx}`, `bias${sfx}`].map((n) => keras[n]);
      fromTorch.forEach((w, i) => {
        expect(w.shape).toEqual(want[i].shape);
        expect(Array.from(w.dataSync())).toEqual(Array.from(values(want[i])));
      });
      const back = gruWeightsToTorch(want.map(t));
      for (const n of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'] as const) expect(Array.from((back[n] as Tensor).dataSync()), n).toEqual(Array.from(values(torch[`${n}${sfx}`])));
    }
  });

  it.each(cases.filter((c) => c.config.cell === 'lstm').map((c) => [c.name, c] as const))('LSTM %s: kernels exact, bias the float32 sum', (_name, c) => {
    const keras = (c.equivalent_params as Equivalent).params;
    for (const sfx of suffixes(c)) {
      const [k, r, b] = lstmWeightsFromTorch({ weight_ih: t(c.params[`weight_ih${sfx}`]), weight_hh: t(c.params[`weight_hh${sfx}`]), bias_ih: t(c.params[`bias_ih${sfx}`]), bias_hh: t(c.params[`bias_hh${sfx}`]) });
      expect(Array.from(k.dataSync())).toEqual(Array.from(values(keras[`kernel${sfx}`])));
      expect(Array.from(r.dataSync())).toEqual(Array.from(values(keras[`recurrent_kernel${sfx}`])));
      // The reference sums in float64 then rounds; float32 addition may differ by one ulp.
      const want = values(keras[`bias${sfx}`]);
      b.dataSync().forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1.2e-7 * Math.max(1, Math.abs(want[i]))));
      const back = lstmWeightsToTorch([k, r, b]);
      expect(Array.from((back.weight_ih as Tensor).dataSync())).toEqual(Array.from(values(c.params[`weight_ih${sfx}`])));
      expect(Array.from((back.bias_hh as Tensor).dataSync()).every((v) => v === 0)).toBe(true);
    }
  });

  it('refuses what cannot be converted', () => {
    const k = tensor(new Float32Array(2 * 9), [2, 9]);
    const r = tensor(new Float32Array(3 * 9), [3, 9]);
    expect(() => gruWeightsToTorch([k, r, tensor(new Float32Array(9), [9])])).toThrow(/resetAfter: false GRU, which PyTorch's nn.GRU cannot express/);
    expect(() => gruWeightsFromTorch({ weight_ih: tensor(new Float32Array(8 * 2), [8, 2]), weight_hh: tensor(new Float32Array(8 * 8), [8, 8]) })).toThrow(/3\*H rows, got 8/);
    expect(() => gruWeightsFromTorch({ weight_ih: tensor(new Float32Array(9 * 2), [9, 2]), weight_hh: tensor(new Float32Array(9 * 4), [9, 4]) })).toThrow(/weight_hh must have shape \[9, 3\]/);
    expect(() => lstmWeightsFromTorch({ weight_ih: tensor(new Float32Array(8 * 2), [8, 2]), weight_hh: tensor(new Float32Array(8 * 2), [8, 2]), bias_ih: tensor(new Float32Array(8), [8]) })).toThrow(/both bias_ih and bias_hh/);
    expect(() => lstmWeightsFromTorch({ weight_ih: tensor(new Float32Array(8 * 2).fill(NaN), [8, 2]), weight_hh: tensor(new Float32Array(8 * 2), [8, 2]) })).toThrow(/contains NaN/);
    // Without biases: a useBias: false layer's weights.
    expect(gruWeightsFromTorch({ weight_ih: tensor(new Float32Array(9 * 2), [9, 2]), weight_hh: tensor(new Float32Array(9 * 3), [9, 3]) })).toHaveLength(2);
  });
});
