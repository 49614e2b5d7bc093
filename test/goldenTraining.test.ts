/**
 * The recorded training trajectories (test/fixtures/golden/train, from
 * PyTorch in float64): GRU(8) -> last state -> Dense head -> loss, 20
 * full-batch steps, through the public model API (sequential, compile,
 * trainOnBatch) on both backends. Each step's loss (before the update, as
 * trainOnBatch returns it) and the final weights must match.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { layers, optimizers, sequential, setBackend, tensor, train, type Optimizer } from '../lib/index.js';
import { listCases, loadCase, toleranceRatio, values, type GoldenTensor } from './helpers/golden.js';

interface TrainCase {
  name: string;
  model: { convention: 'A' | 'B' | 'C'; input_size: number; hidden_size: number; timesteps: number; reset_after: boolean; head: string; loss_id: 'mse' | 'bce' | 'cce' };
  optimizer: { name: 'sgd' | 'adam' | 'rmsprop'; lr: number; momentum?: number; beta1?: number; beta2?: number; eps?: number; alpha?: number; rho?: number; semantics: 'pytorch' | 'keras' };
  clip_grad_norm: number | null;
  steps: number;
  data: { x: GoldenTensor; y: GoldenTensor };
  losses: number[];
  initial_params: Record<string, GoldenTensor>;
  final_params: Record<string, GoldenTensor>;
  initial_params_keras?: Record<string, GoldenTensor>;
  final_params_keras?: Record<string, GoldenTensor>;
}

const cases = listCases('train').map((f) => loadCase(f) as unknown as TrainCase);

/** The optimizer the case records, in the form (PyTorch or Keras) it names. */
function optimizerOf(c: TrainCase): Optimizer {
  const o = c.optimizer;
  const clip = c.clip_grad_norm === null ? {} : { globalClipnorm: c.clip_grad_norm };
  if (o.name === 'sgd') return optimizers.sgd({ learningRate: o.lr, momentum: o.momentum ?? 0, ...clip });
  if (o.name === 'adam') return optimizers.adam({ learningRate: o.lr, beta1: o.beta1, beta2: o.beta2, epsilon: o.eps, form: o.semantics, ...clip });
  return optimizers.rmsprop({ learningRate: o.lr, rho: o.semantics === 'pytorch' ? o.alpha : o.rho, epsilon: o.eps, form: o.semantics, ...clip });
}

function kerasWeights(params: Record<string, GoldenTensor>) {
  return ['gru.kernel', 'gru.recurrent_kernel', 'gru.bias', 'dense.kernel', 'dense.bias'].map((k) => tensor(values(params[k]), params[k].shape));
}

describe.each(['native', 'js'] as const)('golden training trajectories on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it('covers all 19 public trajectories', () => {
    expect(cases.map((c) => c.name.slice(0, 3))).toEqual(Array.from({ length: 19 }, (_, i) => `T${String(i + 1).padStart(2, '0')}`));
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await checkTrajectory(c, optimizerOf(c));
  });

  // The tfjs constructors, with tfjs's formulas, reach the trajectories the README says they match.
  it.each([
    ['T01', () => train.sgd(0.1)],
    ['T02', () => train.momentum(0.05, 0.9)],
    ['T17', () => train.rmsprop(0.01)],
    ['T18', () => train.adam(0.01)],
  ] as const)('%s through the tfjs constructor', async (prefix, make) => {
    await checkTrajectory(cases.find((c) => c.name.startsWith(prefix)) as TrainCase, make());
  });

  async function checkTrajectory(c: TrainCase, optimizer: Optimizer): Promise<void> {
    const m = c.model;
    const units = m.loss_id === 'cce' ? 3 : 1;
    const activation = m.loss_id === 'mse' ? 'linear' : m.loss_id === 'bce' ? 'sigmoid' : 'softmax';
    const net = sequential({
      layers: [
        layers.gru({ units: m.hidden_size, inputShape: [m.timesteps, m.input_size], resetAfter: m.reset_after, recurrentActivation: 'sigmoid' }),
        layers.dense({ units, activation }),
      ],
    });
    const start = c.initial_params_keras ?? c.initial_params;
    const end = c.final_params_keras ?? c.final_params;
    net.setWeights(kerasWeights(start));
    const loss = { mse: 'meanSquaredError', bce: 'binaryCrossentropy', cce: 'categoricalCrossentropy' }[m.loss_id];
    net.compile({ optimizer, loss });
    const x = tensor(values(c.data.x), c.data.x.shape);
    const y = tensor(values(c.data.y), c.data.y.shape);
    const got: number[] = [];
    for (let k = 0; k < c.steps; k++) got.push((await net.trainOnBatch(x, y)) as number);
    // Losses: float32 arithmetic over 20 steps against a float64 run.
    expect(toleranceRatio(got, c.losses, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    const weights = net.getWeights();
    kerasWeights(end).forEach((want, i) => {
      expect(toleranceRatio(weights[i].dataSync(), want.dataSync(), 1e-5, 1e-4), `weight ${i}`).toBeLessThanOrEqual(1);
    });
  }

  it('the two Adam forms give different trajectories where they should (T15 vs T16)', () => {
    const t15 = cases.find((c) => c.name.startsWith('T15')) as TrainCase;
    const t16 = cases.find((c) => c.name.startsWith('T16')) as TrainCase;
    expect(Math.abs(t15.losses[19] - t16.losses[19])).toBeGreaterThan(1e-3);
  });
});
