/**
 * Every GRU kernel on both backends against the golden reference vectors
 * (test/fixtures/golden, from PyTorch and Keras-form cells in float64):
 * outputs, final states and all gradients, for PyTorch-layout (A) cases
 * converted to Keras layout, Keras reset_after=False (B) and True (C) cases,
 * stacked and bidirectional stacks, relu and both hard sigmoids, and
 * variable-length batches (per-sequence lengths with PyTorch's
 * packed-sequence semantics, and Keras masks).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { setBackend } from '../lib/index.js';
import { GATE_NAME, listCases, stackSpecOf, loadCase, toleranceRatio, torchToKeras, values, type GoldenCase } from './helpers/golden.js';
import { runStack, type StackWeights } from './helpers/stack.js';

const cases = listCases('rnn')
  .map((f) => ({ file: f, c: loadCase(f) }))
  .filter(({ c }) => c.config.cell === 'gru');

function weightsOf(c: GoldenCase, source: Record<string, { shape: number[] } & Parameters<typeof values>[0]>): StackWeights[] {
  const { num_layers: L, num_directions: D, hidden_size: H, input_size: I } = c.config;
  const out: StackWeights[] = [];
  for (let k = 0; k < L; k++) {
    for (let d = 0; d < D; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      if (c.convention === 'A') {
        const Ik = k === 0 ? I : D * H;
        out.push(torchToKeras(values(source[`weight_ih${sfx}`]), values(source[`weight_hh${sfx}`]), values(source[`bias_ih${sfx}`]), values(source[`bias_hh${sfx}`]), Ik, H));
      } else {
        out.push({ kernel: values(source[`kernel${sfx}`]), recurrentKernel: values(source[`recurrent_kernel${sfx}`]), bias: values(source[`bias${sfx}`]) });
      }
    }
  }
  return out;
}

describe.each(['native', 'js'] as const)('golden GRU cases on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it('covers the public GRU cases', () => {
    expect(cases.map((c) => c.c.name)).toEqual(expect.arrayContaining(['A01_gru_torch_zero_h0', 'A05_gru_torch_2layer_bidir', 'A08_gru_torch_medium', 'B07_gru_keras_v1_hard_sigmoid', 'C06_gru_keras_v3_relu_hard_sigmoid_keras3']));
    expect(cases.length).toBeGreaterThanOrEqual(21);
    expect(cases.filter(({ c }) => c.config.has_lengths).map(({ c }) => c.name)).toEqual(['A06_gru_torch_varlen', 'A07_gru_torch_varlen_2layer_bidir', 'B05_gru_keras_v1_varlen', 'C04_gru_keras_v3_varlen_2layer']);
  });

  it.each(cases.map(({ file, c }) => [c.name, file, c] as const))('%s', async (_name, _file, c) => {
    const cfg = c.config;
    const spec = stackSpecOf(c);
    const r = await runStack(spec, weightsOf(c, c.params), values(c.inputs.x), values(c.inputs.h0), values(c.loss.G as never), values(c.loss.Gh as never));
    // Forward: 1e-5 + 1e-4 |want| (the README's float32 tolerance; the medium case 1e-4 abs).
    const fwdAtol = cfg.hidden_size >= 64 ? 1e-4 : 1e-5;
    expect(toleranceRatio(r.output, values(c.outputs.output), fwdAtol, 1e-4)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(r.hN, values(c.outputs.h_n), fwdAtol, 1e-4)).toBeLessThanOrEqual(1);
    // Gradients: 1e-4 + 1e-3 |want|.
    expect(toleranceRatio(r.dx, values(c.grads.x), 1e-4, 1e-3)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(r.dh0, values(c.grads.h0), 1e-4, 1e-3)).toBeLessThanOrEqual(1);
    const want = weightsOf(c, c.grads.params);
    r.grads.forEach((g, i) => {
      expect(toleranceRatio(g.kernel, want[i].kernel, 1e-4, 1e-3), `kernel ${i}`).toBeLessThanOrEqual(1);
      expect(toleranceRatio(g.recurrentKernel, want[i].recurrentKernel, 1e-4, 1e-3), `recurrentKernel ${i}`).toBeLessThanOrEqual(1);
      // Convention B has no recurrent bias: its gradient is all of the bias.
      expect(toleranceRatio(g.bias, want[i].bias, 1e-4, 1e-3), `bias ${i}`).toBeLessThanOrEqual(1);
    });
  });

  it.each(listCases('stacked'))('stacked %s: GRU(16, returnSequences) -> GRU(16)', async (file) => {
    const c = loadCase(file) as unknown as {
      convention: 'B' | 'C';
      config: { batch: number; timesteps: number; input_size: number; units: number[]; reset_after: boolean };
      inputs: { x: Parameters<typeof values>[0] };
      params: Record<string, Parameters<typeof values>[0]>;
      outputs: Record<string, Parameters<typeof values>[0]>;
    };
    const { batch: B, timesteps: T, input_size: I, units, reset_after: resetAfter } = c.config;
    const { GRU, tensor } = await import('../lib/index.js');
    const g1 = new GRU({ units: units[0], resetAfter, returnSequences: true });
    const g2 = new GRU({ units: units[1], resetAfter });
    const w = (n: string) => tensor(values(c.params[n]), c.params[n].shape);
    g1.setWeights([w('gru_1.kernel'), w('gru_1.recurrent_kernel'), w('gru_1.bias')]);
    g2.setWeights([w('gru_2.kernel'), w('gru_2.recurrent_kernel'), w('gru_2.bias')]);
    const seq = (await g1.apply(tensor(values(c.inputs.x), [B, T, I]))) as import('../lib/index.js').Tensor;
    const last = (await g2.apply(seq)) as import('../lib/index.js').Tensor;
    expect(seq.shape).toEqual([B, T, units[0]]);
    expect(last.shape).toEqual([B, units[1]]);
    expect(toleranceRatio(seq.dataSync(), values(c.outputs.gru_1_sequences), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(last.dataSync(), values(c.outputs.gru_2_last), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
  });
});

describe.each(['native', 'js'] as const)('Keras masking on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  // Single-layer varlen cases carry Keras's masked output (repeat the last
  // valid output at padded steps) beside PyTorch's (zeros).
  const masked = cases.filter(({ c }) => c.config.has_lengths && c.outputs.output_keras_masked);
  it('has the masked reference outputs', () => expect(masked.length).toBeGreaterThanOrEqual(2));

  it.each(masked.map(({ c }) => [c.name, c] as const))('%s: mask tensor gives Keras outputs and states', async (_name, c) => {
    const { GRU, tensor } = await import('../lib/index.js');
    const cfg = c.config;
    const { batch: B, timesteps: T, input_size: I, hidden_size: H, num_layers: L } = cfg;
    const lengths = c.inputs.lengths.data ?? [];
    const mask = tensor(Array.from({ length: B * T }, (_, i) => i % T < lengths[Math.floor(i / T)]), [B, T], 'bool');
    const h0 = values(c.inputs.h0);
    const hN = new Float32Array(L * B * H);
    // Keras stacking: the mask goes with the sequence to every layer.
    let seq = tensor(values(c.inputs.x), [B, T, I]);
    for (const [k, w] of weightsOf(c, c.params).entries()) {
      const layer = new GRU({ units: H, resetAfter: cfg.reset_after, activation: cfg.activation, recurrentActivation: GATE_NAME[cfg.recurrent_activation], returnSequences: true, returnState: true });
      layer.setWeights([tensor(w.kernel, [k === 0 ? I : H, 3 * H]), tensor(w.recurrentKernel, [H, 3 * H]), tensor(w.bias, cfg.reset_after ? [2, 3 * H] : [3 * H])]);
      const [out, h] = (await layer.apply(seq, { mask, initialState: [tensor(h0.subarray(k * B * H, (k + 1) * B * H), [B, H])] })) as import('../lib/index.js').Tensor<'float32'>[];
      hN.set(h.dataSync(), k * B * H);
      seq = out;
    }
    expect(toleranceRatio(seq.dataSync(), values(c.outputs.output_keras_masked), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(hN, values(c.outputs.h_n), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
  });
});
