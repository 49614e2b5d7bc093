/**
 * Saving a compiled model keeps its training: the training config
 * (loss, metrics, optimizer config) and the optimizer's state go into
 * model.json / the weights manifest (`group: 'optimizer'`, `iter` int32,
 * as tfjs), and loading compiles the model and restores the state, so that
 * 3 steps + save + load + 3 steps equals 6 steps straight — for Adam with a
 * schedule, RMSprop with momentum, tfjs's Momentum, on both backends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { input, layers, model, optimizers, schedules, sequential, setBackend, setSeed, tensor, train, type LayersModel, type Optimizer, type SymbolicTensor, type Tensor } from '../lib/index.js';
import { loadLayersModel } from '../lib/io/loadModel.js';
import { Random } from '../lib/random.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-train-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dirCount = 0;
const newDir = (): string => path.join(tmpRoot, `t${dirCount++}`);

function randomTensor(shape: number[], seed: number, scale = 1): Tensor<'float32'> {
  const r = new Random(seed);
  return tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r.next() * 2 - 1) * scale), shape);
}

function expectClose(got: Float32Array[], want: Float32Array[], what: string): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    let worst = 0;
    for (let k = 0; k < g.length; k++) worst = Math.max(worst, Math.abs(g[k] - want[i][k]) / (1e-6 + Math.abs(want[i][k])));
    expect(worst, `${what}: weight ${i}`).toBeLessThanOrEqual(1e-5);
  });
}

const weightsOf = (m: LayersModel): Float32Array[] => m.getWeights().map((w) => w.dataSync());

interface Case {
  name: string;
  optimizer: () => Optimizer;
  build: () => LayersModel;
  data: () => { x: Tensor | Tensor[]; y: Tensor };
}

const seqData = () => ({ x: randomTensor([6, 5, 3], 1), y: randomTensor([6, 2], 2, 0.5) });

const CASES: Case[] = [
  {
    name: 'Adam with an exponential-decay schedule, Sequential GRU -> Dense',
    optimizer: () => optimizers.adam({ learningRate: schedules.exponentialDecay({ initialLearningRate: 0.02, decaySteps: 2, decayRate: 0.5 }) }),
    build: () => sequential({ layers: [layers.gru({ units: 6, inputShape: [null, 3], resetAfter: true }), layers.dense({ units: 2 })] }),
    data: seqData,
  },
  {
    name: 'RMSprop with momentum, Sequential LSTM -> Bidirectional(GRU) -> Dense',
    optimizer: () => optimizers.rmsprop({ learningRate: 0.01, momentum: 0.9 }),
    build: () =>
      sequential({
        layers: [layers.lstm({ units: 4, returnSequences: true, inputShape: [null, 3] }), layers.bidirectional({ layer: layers.gru({ units: 3, resetAfter: false }) }), layers.dense({ units: 2 })],
      }),
    data: seqData,
  },
  {
    name: 'tfjs Momentum, functional encoder-decoder with initialState',
    optimizer: () => train.momentum(0.05, 0.9),
    build: () => {
      const enc = input({ shape: [null, 3] });
      const dec = input({ shape: [null, 2] });
      const [, h] = layers.gru({ units: 4, returnState: true }).apply(enc) as SymbolicTensor[];
      const seq = layers.gru({ units: 4, returnSequences: true }).apply(dec, { initialState: h }) as SymbolicTensor;
      const last = layers.simpleRNN({ units: 3 }).apply(seq) as SymbolicTensor;
      return model({ inputs: [enc, dec], outputs: layers.dense({ units: 2 }).apply(last) as SymbolicTensor });
    },
    data: () => ({ x: [randomTensor([6, 4, 3], 3), randomTensor([6, 5, 2], 4)], y: randomTensor([6, 2], 5, 0.5) }),
  },
];

describe.each(['native', 'js'] as const)('training continues across save/load on the %s backend', (backendName) => {
  beforeEach(() => {
    setBackend(backendName);
    setSeed(3);
  });

  it.each(CASES)('$name: 3 steps + save/load + 3 steps = 6 steps', async (c) => {
    const { x, y } = c.data();
    const straight = c.build();
    const start = straight.getWeights();
    straight.compile({ optimizer: c.optimizer(), loss: 'meanSquaredError', metrics: ['mae'] });
    const resumed = c.build();
    resumed.setWeights(start);
    resumed.compile({ optimizer: c.optimizer(), loss: 'meanSquaredError', metrics: ['mae'] });

    for (let i = 0; i < 6; i++) await straight.trainOnBatch(x, y);
    for (let i = 0; i < 3; i++) await resumed.trainOnBatch(x, y);
    const dir = newDir();
    await resumed.save(`file://${dir}`);
    const loaded = await loadLayersModel(`file://${dir}/model.json`);
    expect(loaded.trainer).not.toBeNull();
    expect(loaded.optimizer.className).toBe(resumed.optimizer.className);
    expect(loaded.optimizer.iterations).toBe(3);
    expect(loaded.optimizer.getConfig()).toEqual(resumed.optimizer.getConfig());
    const logs = (await loaded.trainOnBatch(x, y)) as number[];
    expect(logs).toHaveLength(2); // loss and mae: metrics restored
    for (let i = 0; i < 2; i++) await loaded.trainOnBatch(x, y);
    expect(loaded.optimizer.iterations).toBe(6);
    expectClose(weightsOf(loaded), weightsOf(straight), c.name);
    // Without the restored state (a fresh optimizer) the result differs: the state mattered.
    const fresh = await loadLayersModel(dir, { compile: false });
    fresh.compile({ optimizer: c.optimizer(), loss: 'meanSquaredError' });
    for (let i = 0; i < 3; i++) await fresh.trainOnBatch(x, y);
    const diff = weightsOf(fresh).some((w, i) => w.some((v, k) => Math.abs(v - weightsOf(straight)[i][k]) > 1e-4));
    expect(diff).toBe(true);
  });

  it('model.json holds trainingConfig and the optimizer state as tfjs writes them', async () => {
    const m = sequential({ layers: [layers.gru({ units: 3, inputShape: [null, 2], name: 'g' }), layers.dense({ units: 1, name: 'd' })] });
    m.compile({ optimizer: train.adam(0.01), loss: 'mse', metrics: ['mae', 'accuracy'] });
    await m.trainOnBatch(randomTensor([4, 3, 2], 6), randomTensor([4, 1], 7));
    const dir = newDir();
    await m.save(dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(Object.keys(json)).toEqual(['modelTopology', 'format', 'generatedBy', 'convertedBy', 'weightsManifest', 'trainingConfig']);
    expect(json.trainingConfig.loss).toBe('mean_squared_error');
    expect(json.trainingConfig.metrics).toEqual(['mae', 'accuracy']);
    expect(json.trainingConfig.optimizer_config.class_name).toBe('Adam');
    expect(json.trainingConfig.optimizer_config.config).toMatchObject({ learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    const specs = json.weightsManifest[0].weights;
    const opt = specs.filter((s: { group?: string }) => s.group === 'optimizer');
    expect(opt[0]).toEqual({ name: 'iter', shape: [], dtype: 'int32', group: 'optimizer' });
    expect(opt.slice(1).map((s: { name: string }) => s.name)).toEqual(['g/kernel/m', 'g/recurrent_kernel/m', 'g/bias/m', 'd/kernel/m', 'd/bias/m', 'g/kernel/v', 'g/recurrent_kernel/v', 'g/bias/v', 'd/kernel/v', 'd/bias/v']);
    const modelBytes = m.countParams() * 4;
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).toBe(modelBytes * 3 + 4);
    // includeOptimizer: false leaves both out.
    const dir2 = newDir();
    await m.save(dir2, { includeOptimizer: false });
    const json2 = JSON.parse(fs.readFileSync(path.join(dir2, 'model.json'), 'utf8'));
    expect(json2.trainingConfig).toBeUndefined();
    expect(json2.weightsManifest[0].weights.some((s: { group?: string }) => s.group === 'optimizer')).toBe(false);
    expect((await loadLayersModel(dir2)).trainer).toBeNull();
  });

  it('a compiled model saved before any step restores compile() with a fresh optimizer', async () => {
    const m = sequential({ layers: [layers.lstm({ units: 3, inputShape: [null, 2] }), layers.dense({ units: 3, activation: 'softmax' })] });
    m.compile({ optimizer: 'rmsprop', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const dir = newDir();
    await m.save(dir);
    const loaded = await loadLayersModel(dir);
    expect(loaded.optimizer.className).toBe('RMSprop');
    expect(loaded.optimizer.iterations).toBe(0);
    const y = tensor([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]);
    const h = await loaded.fit(randomTensor([3, 4, 2], 8), y, { epochs: 1, verbose: 0 });
    // loss and the restored accuracy metric.
    expect(Object.keys(h.history)).toHaveLength(2);
    expect(h.history.loss).toHaveLength(1);
  });
});
