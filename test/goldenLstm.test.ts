/**
 * The LSTM kernels on both backends against the golden PyTorch nn.LSTM cases
 * (convention D), converted to Keras layout: kernel = weight_ih^T,
 * recurrentKernel = weight_hh^T, bias = bias_ih + bias_hh (same gate order
 * i, f, g, o). Outputs, final h and c, and every gradient, including a
 * variable-length batch (PyTorch packed-sequence semantics).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { setBackend } from '../lib/index.js';
import { listCases, loadCase, stackSpecOf, toleranceRatio, torchLstmToKeras, values, type GoldenCase, type GoldenTensor } from './helpers/golden.js';
import { runLstmStack, type LstmStackWeights } from './helpers/stack.js';

const cases = listCases('rnn')
  .map((f) => loadCase(f))
  .filter((c) => c.config.cell === 'lstm');

/** Keras-layout weights (or their gradients) of every layer and direction. */
function kerasWeights(c: GoldenCase, source: Record<string, GoldenTensor>, gradients: boolean): LstmStackWeights[] {
  const { num_layers: L, num_directions: D, hidden_size: H, input_size: I } = c.config;
  const out: LstmStackWeights[] = [];
  for (let k = 0; k < L; k++)
    for (let d = 0; d < D; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      const Ik = k === 0 ? I : D * H;
      const bih = values(source[`bias_ih${sfx}`]);
      // The gradient of the summed bias equals the gradient of either torch
      // bias: converting the gradients with a zero bias_hh gives it.
      const w = torchLstmToKeras(values(source[`weight_ih${sfx}`]), values(source[`weight_hh${sfx}`]), bih, gradients ? new Float32Array(bih.length) : values(source[`bias_hh${sfx}`]), Ik, H);
      out.push(w);
    }
  return out;
}

describe.each(['native', 'js'] as const)('golden LSTM cases on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it('covers the public LSTM cases', () => {
    expect(cases.map((c) => c.name)).toEqual(['D01_lstm_torch_random_state', 'D02_lstm_torch_2layer_bidir', 'D03_lstm_torch_varlen']);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    // The LSTM golden cases use tanh and sigmoid.
    const spec = { ...stackSpecOf(c), activation: 'tanh' as const, recurrentActivation: 'sigmoid' as const };
    const loss = c.loss as Record<string, GoldenTensor>;
    const r = await runLstmStack(spec, kerasWeights(c, c.params, false), values(c.inputs.x), values(c.inputs.h0), values(c.inputs.c0), values(loss.G), values(loss.Gh), values(loss.Gc));
    expect(toleranceRatio(r.output, values(c.outputs.output), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(r.hN, values(c.outputs.h_n), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(r.cN, values(c.outputs.c_n), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    const grads = c.grads as unknown as Record<string, GoldenTensor> & { params: Record<string, GoldenTensor> };
    expect(toleranceRatio(r.dx, values(grads.x), 1e-4, 1e-3)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(r.dh0, values(grads.h0), 1e-4, 1e-3)).toBeLessThanOrEqual(1);
    expect(toleranceRatio(r.dc0, values(grads.c0), 1e-4, 1e-3)).toBeLessThanOrEqual(1);
    const want = kerasWeights(c, grads.params, true);
    r.grads.forEach((g, i) => {
      expect(toleranceRatio(g.kernel, want[i].kernel, 1e-4, 1e-3), `kernel ${i}`).toBeLessThanOrEqual(1);
      expect(toleranceRatio(g.recurrentKernel, want[i].recurrentKernel, 1e-4, 1e-3), `recurrentKernel ${i}`).toBeLessThanOrEqual(1);
      expect(toleranceRatio(g.bias, want[i].bias, 1e-4, 1e-3), `bias ${i}`).toBeLessThanOrEqual(1);
    });
  });
});
