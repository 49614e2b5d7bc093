/**
 * loadKerasModel on real Keras files (test/fixtures/interop/keras-trafficflow,
 * copied from shared/interop with its LICENSE and SOURCE.md): a Keras 2.1.4
 * LSTM .h5 (hard_sigmoid = clip(0.2x+0.5)), a tf.keras 2.4 GRU .h5
 * (reset_after, `gru/gru_cell/kernel:0` names) and Keras 3.14 GRU/LSTM
 * .keras archives reproduce the expected predictions on all 4,308 windows
 * and the published metrics. Also: synthetic files in the legacy layouts
 * (functional model with Embedding, Bidirectional, TimeDistributed; CuDNN
 * weights), Keras 3's hard_sigmoid, and the errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFileError, setBackend, tensor, type LayersModel, type Tensor } from '../lib/index.js';
import { loadLayersModel } from '../lib/io/loadModel.js';
import { modelFromTopology } from '../lib/io/modelFromConfig.js';
import { buildHdf5, type H5Group } from '../lib/io/keras/hdf5.js';
import { loadKerasModel } from '../lib/io/keras/loadKerasModel.js';
import { normalizeTopology } from '../lib/io/keras/kerasTopology.js';
import { kerasLayerPaths } from '../lib/io/keras/kerasArchive.js';
import { LSTM } from '../lib/layers/recurrent/lstm.js';
import { GRU } from '../lib/layers/recurrent/gru.js';
import { Random } from '../lib/random.js';
import { expected, maxAbsDiff, TRAFFIC, trafficMetrics, trafficWindows } from './fixtures/interop/helpers.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-keras-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let count = 0;
const tmp = (ext: string): string => path.join(tmpRoot, `f${count++}${ext}`);

const FILES = [
  { file: 'keras2.1.4-h5/lstm.h5', cls: LSTM, names: ['lstm_1', 'lstm_2', 'dropout_1', 'dense_1'], gate: 'hardSigmoid' },
  { file: 'tfkeras2.4-h5/gru.h5', cls: GRU, names: ['gru', 'gru_1', 'dropout', 'dense'], gate: 'sigmoid' },
  { file: 'keras3.14-dotkeras/gru.keras', cls: GRU, names: ['gru', 'gru_1', 'dropout', 'dense'], gate: 'sigmoid' },
  { file: 'keras3.14-dotkeras/lstm.keras', cls: LSTM, names: ['lstm', 'lstm_1', 'dropout', 'dense'], gate: 'sigmoid' },
] as const;

const data = trafficWindows();
const first = (): Tensor => tensor(Float32Array.from(expected.first_window_input), [1, 12, 1]);
const first64 = (): Tensor => tensor(data.x.dataSync().slice(0, 64 * 12), [64, 12, 1]);

async function predictAll(m: LayersModel, x: Tensor = data.x): Promise<Float32Array> {
  return ((await m.predict(x, { batchSize: 1024 })) as Tensor).dataSync() as Float32Array;
}

describe('real Keras files (keras-trafficflow)', () => {
  it('the data are the 4,308 windows of SOURCE.md', () => {
    expect(data.n).toBe(4308);
    expect(maxAbsDiff(data.x.dataSync().slice(0, 12), expected.first_window_input)).toBeLessThan(1e-7);
  });

  it.each(FILES)('$file: architecture, names and gate activation as in the file', async ({ file, cls, names, gate }) => {
    const m = await loadKerasModel(path.join(TRAFFIC, file));
    expect(m.layers.filter((l) => l.constructor.name !== 'InputLayer').map((l) => l.name)).toEqual(names);
    const rnn = m.layers.find((l) => l instanceof cls) as GRU | LSTM;
    expect(rnn).toBeDefined();
    expect(rnn.recurrentActivation).toBe(gate);
    if (rnn instanceof GRU) expect(rnn.resetAfter).toBe(true);
    expect(m.outputShape).toEqual([null, 1]);
    // Compiled from the file: mse with RMSprop ('mape' has no equivalent here and is dropped with a warning).
    expect(m.trainer).not.toBeNull();
  });

  it.each(FILES)('$file reproduces the expected predictions on all 4,308 windows and the metrics', async ({ file }) => {
    const want = expected.models[file];
    const m = await loadKerasModel(path.join(TRAFFIC, file));
    const pred = await predictAll(m);
    expect(pred.length).toBe(4308);
    expect(maxAbsDiff(pred.slice(0, 64), want.pred_scaled_first64)).toBeLessThan(1e-5);
    const sum = pred.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - want.pred_scaled_sum_all)).toBeLessThan(5e-3);
    const got = trafficMetrics(pred, data.y);
    const w = want.metrics_all_4308_windows_unscaled;
    expect(got.MAE).toBeCloseTo(w.MAE, 3);
    expect(got.MSE).toBeCloseTo(w.MSE, 2);
    expect(got.RMSE).toBeCloseTo(w.RMSE, 3);
    expect(got.MAPE_percent).toBeCloseTo(w.MAPE_percent, 2);
    expect(got.R2).toBeCloseTo(w.R2, 4);
    expect(got.explained_variance).toBeCloseTo(w.explained_variance, 4);
  });

  it('keras2.1.4 lstm.h5 reproduces the metrics the source project published (MSE 98.05, RMSE 9.90, R2 0.9396, EV 0.9419)', async () => {
    const m = await loadKerasModel(`file://${path.join(TRAFFIC, 'keras2.1.4-h5/lstm.h5')}`);
    const got = trafficMetrics(await predictAll(m), data.y);
    expect(got.MSE.toFixed(2)).toBe('98.05');
    expect(got.RMSE.toFixed(2)).toBe('9.90');
    expect(got.R2.toFixed(4)).toBe('0.9396');
    expect(got.explained_variance.toFixed(4)).toBe('0.9419');
    // With the wrong hard sigmoid (Keras 3's x/6) the file would be far off: the activation matters.
    expect(Math.abs(got.MAE - 7.21)).toBeLessThan(0.01);
  });

  it.each(FILES)('$file gives the same predictions on the TypeScript backend', async ({ file }) => {
    setBackend('js');
    try {
      const m = await loadKerasModel(path.join(TRAFFIC, file));
      const pred = ((await m.predict(first64())) as Tensor).dataSync();
      expect(maxAbsDiff(pred, expected.models[file].pred_scaled_first64)).toBeLessThan(1e-5);
    } finally {
      setBackend('native');
    }
  });

  it('a loaded model evaluates with the file\'s loss, trains, and saves and loads again in the tfjs format', async () => {
    const m = await loadKerasModel(path.join(TRAFFIC, 'tfkeras2.4-h5/gru.h5'));
    const pred = await predictAll(m);
    // The file compiles with loss mse and metrics ['mape']: evaluate gives both.
    const [mse, mape] = (await m.evaluate(data.x, tensor(data.y, [data.n, 1]), { batchSize: 1024 })) as Tensor[];
    // MAPE is scale-free: the scaled data gives the published figure directly.
    expect(mape.dataSync()[0]).toBeCloseTo(expected.models['tfkeras2.4-h5/gru.h5'].metrics_all_4308_windows_unscaled.MAPE_percent, 2);
    const scale = expected.preprocessing.train_max;
    expect(mse.dataSync()[0] * scale * scale).toBeCloseTo(expected.models['tfkeras2.4-h5/gru.h5'].metrics_all_4308_windows_unscaled.MSE, 1);
    const dir = tmp('');
    await m.save(dir);
    const back = await loadLayersModel(dir);
    expect(maxAbsDiff(await predictAll(back), pred)).toBe(0);
    const x = tensor(data.x.dataSync().slice(0, 256 * 12), [256, 12, 1]);
    const y = tensor(data.y.slice(0, 256), [256, 1]);
    const before = m.getWeights()[0].dataSync().slice();
    const h = await m.fit(x, y, { epochs: 1, batchSize: 64 });
    expect(Number.isFinite(h.history.loss[0] as number)).toBe(true);
    expect(maxAbsDiff(m.getWeights()[0].dataSync(), before)).toBeGreaterThan(0);
  });

  it('loads uncompiled with {compile: false}', async () => {
    const m = await loadKerasModel(path.join(TRAFFIC, 'keras3.14-dotkeras/gru.keras'), { compile: false });
    expect(m.trainer).toBeNull();
    const y = ((await m.predict(first())) as Tensor).dataSync();
    expect(Math.abs(y[0] - expected.models['keras3.14-dotkeras/gru.keras'].pred_scaled_first64[0])).toBeLessThan(1e-5);
  });
});

// ---------------------------------------------------------------- edited real .keras files

function editKeras(src: string, edit: (config: Record<string, any>, entries: Record<string, Uint8Array>) => void): string {
  const entries = unzipSync(new Uint8Array(fs.readFileSync(path.join(TRAFFIC, src))));
  const config = JSON.parse(strFromU8(entries['config.json']));
  edit(config, entries);
  entries['config.json'] = strToU8(JSON.stringify(config));
  const out = tmp('.keras');
  fs.writeFileSync(out, zipSync(entries, { level: 0 }));
  return out;
}

describe('Keras 3 archives: semantics and errors', () => {
  it('hard_sigmoid written by Keras 3 means clip(x/6 + 0.5) (hardSigmoidKeras3)', async () => {
    const file = editKeras('keras3.14-dotkeras/lstm.keras', (c) => {
      c.config.layers[1].config.recurrent_activation = 'hard_sigmoid';
    });
    const m = await loadKerasModel(file);
    expect((m.getLayer('lstm') as LSTM).recurrentActivation).toBe('hardSigmoidKeras3');
    expect((m.getLayer('lstm_1') as LSTM).recurrentActivation).toBe('sigmoid');
  });

  it('reads deflated archives too', async () => {
    const entries = unzipSync(new Uint8Array(fs.readFileSync(path.join(TRAFFIC, 'keras3.14-dotkeras/gru.keras'))));
    const file = tmp('.keras');
    fs.writeFileSync(file, zipSync(entries, { level: 9 }));
    const m = await loadKerasModel(file);
    const y = ((await m.predict(first64())) as Tensor).dataSync();
    expect(maxAbsDiff(y, expected.models['keras3.14-dotkeras/gru.keras'].pred_scaled_first64)).toBeLessThan(1e-5);
  });

  it('an unknown layer class fails naming the layer and the class', async () => {
    const file = editKeras('keras3.14-dotkeras/gru.keras', (c) => {
      c.config.layers[3].class_name = 'AlphaDropout';
    });
    await expect(loadKerasModel(file)).rejects.toThrow(ModelFileError);
    await expect(loadKerasModel(file)).rejects.toThrow(/layer "dropout".*"AlphaDropout"/);
  });

  it('an option gatedrnn lacks fails naming the layer, its class and the option', async () => {
    const file = editKeras('keras3.14-dotkeras/gru.keras', (c) => {
      c.config.layers[1].config.kernel_constraint = { module: 'keras.constraints', class_name: 'MaxNorm', config: { max_value: 2, axis: 0 } };
    });
    await expect(loadKerasModel(file)).rejects.toThrow(/layer "gru" \(class GRU\): option "kernel_constraint"/);
    const file2 = editKeras('keras3.14-dotkeras/gru.keras', (c) => {
      c.config.layers[2].config.zero_output_for_mask = true;
    });
    await expect(loadKerasModel(file2)).rejects.toThrow(/layer "gru_1" \(class GRU\): option "zero_output_for_mask"/);
    const file3 = editKeras('keras3.14-dotkeras/gru.keras', (c) => {
      c.config.layers[4].config.lora_rank = 4;
    });
    await expect(loadKerasModel(file3)).rejects.toThrow(/layer "dense" \(class Dense\).*loraRank/);
  });

  it('weights that do not fit the architecture fail naming the layer and the weight', async () => {
    const file = editKeras('keras3.14-dotkeras/gru.keras', (c) => {
      c.config.layers[2].config.reset_after = false;
    });
    await expect(loadKerasModel(file)).rejects.toThrow(/layer "gru_1" \(class GRU\): weight bias .* has shape \[2, 192\], the layer expects \[192\]/);
  });

  it('archives without config.json or weights, and other files, are refused clearly', async () => {
    const entries = unzipSync(new Uint8Array(fs.readFileSync(path.join(TRAFFIC, 'keras3.14-dotkeras/gru.keras'))));
    const noConfig = tmp('.keras');
    fs.writeFileSync(noConfig, zipSync({ 'metadata.json': entries['metadata.json'], 'model.weights.h5': entries['model.weights.h5'] }));
    await expect(loadKerasModel(noConfig)).rejects.toThrow(/no config\.json/);
    const noWeights = tmp('.keras');
    fs.writeFileSync(noWeights, zipSync({ 'metadata.json': entries['metadata.json'], 'config.json': entries['config.json'] }));
    await expect(loadKerasModel(noWeights)).rejects.toThrow(/no model\.weights\.h5/);
    const text = tmp('.h5');
    fs.writeFileSync(text, 'not a model');
    await expect(loadKerasModel(text)).rejects.toThrow(/neither a \.keras archive \(zip\) nor an HDF5/);
    await expect(loadKerasModel(path.join(tmpRoot, 'missing.keras'))).rejects.toThrow(/no such file/);
    const truncated = tmp('.keras');
    fs.writeFileSync(truncated, fs.readFileSync(path.join(TRAFFIC, 'keras3.14-dotkeras/gru.keras')).subarray(0, 1000));
    await expect(loadKerasModel(truncated)).rejects.toThrow(ModelFileError);
    await expect(loadKerasModel('https://example.com/m.keras')).rejects.toThrow(/only local files/);
  });

  it('names the weight groups as Keras does: snake_case class names, numbered per class', () => {
    expect(kerasLayerPaths(['InputLayer', 'GRU', 'GRU', 'SimpleRNN', 'Dense', 'BatchNormalization', 'Dense', 'LSTM', 'TimeDistributed'])).toEqual([
      'input_layer', 'gru', 'gru_1', 'simple_rnn', 'dense', 'batch_normalization', 'dense_1', 'lstm', 'time_distributed',
    ]);
  });

  it('a GRU config without reset_after is the original form (resetAfter false)', () => {
    const norm = normalizeTopology({ class_name: 'Sequential', config: [{ class_name: 'GRU', config: { name: 'g', units: 3, batch_input_shape: [null, 4, 2] } }] }, '2.1.4', 'test');
    const m = modelFromTopology(norm.topology, 'test');
    expect((m.layers[0] as GRU).resetAfter).toBe(false);
    expect(m.getWeights()[2].shape).toEqual([9]);
  });
});

// ---------------------------------------------------------------- synthetic legacy HDF5 files

interface H5Layer {
  name: string;
  weights: Array<{ name: string; values: Float32Array; shape: readonly number[] }>;
}

/** A legacy full-model .h5 in the layout Keras 2 / tf.keras 2 write (weights at the paths weight_names give). */
async function writeLegacyH5(file: string, modelConfig: unknown, kerasVersion: string, layers: H5Layer[]): Promise<void> {
  const bytes = await buildHdf5((f) => {
    f.create_attribute('keras_version', kerasVersion);
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('model_config', JSON.stringify(modelConfig));
    const mw = f.create_group('model_weights');
    mw.create_attribute('layer_names', layers.map((l) => l.name));
    for (const l of layers) {
      const g = mw.create_group(l.name);
      if (l.weights.length > 0) g.create_attribute('weight_names', l.weights.map((w) => w.name));
      else g.create_attribute('weight_names', new Float64Array(0), [0]);
      for (const w of l.weights) {
        const parts = w.name.split('/');
        let parent: H5Group = g;
        for (const p of parts.slice(0, -1)) parent = (parent.keys().includes(p) ? parent.get(p) : parent.create_group(p)) as H5Group;
        parent.create_dataset({ name: parts[parts.length - 1], data: w.values, shape: [...w.shape], dtype: '<f' });
      }
    }
  });
  fs.writeFileSync(file, bytes);
}

function randomize(m: LayersModel, seed: number): void {
  const r = new Random(seed);
  // Values in [-0.5, 0.5]; a BatchNormalization's moving variance in [0.5, 1.5].
  const names = m.layers.flatMap((l) => l.weightNames());
  m.setWeights(m.getWeights().map((w, i) => tensor(Float32Array.from(w.dataSync(), () => (r.next() * 2 - 1) * 0.5 + (names[i] === 'moving_variance' ? 1 : 0)), [...w.shape])));
}

const FUNCTIONAL_TF24 = {
  class_name: 'Functional',
  config: {
    name: 'model',
    layers: [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, 6], dtype: 'int32', sparse: false, ragged: false, name: 'ids' }, name: 'ids', inbound_nodes: [] },
      { class_name: 'Embedding', config: { name: 'embedding', trainable: true, batch_input_shape: [null, 6], dtype: 'float32', input_dim: 20, output_dim: 8, embeddings_initializer: { class_name: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } }, embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null, mask_zero: true, input_length: 6 }, name: 'embedding', inbound_nodes: [[['ids', 0, 0, {}]]] },
      { class_name: 'Bidirectional', config: { name: 'bidirectional', trainable: true, dtype: 'float32', layer: { class_name: 'GRU', config: { name: 'gru', trainable: true, dtype: 'float32', return_sequences: true, return_state: false, go_backwards: false, stateful: false, unroll: false, time_major: false, units: 5, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, recurrent_initializer: { class_name: 'Orthogonal', config: { gain: 1.0, seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} }, kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, recurrent_constraint: null, bias_constraint: null, dropout: 0.0, recurrent_dropout: 0.0, implementation: 2, reset_after: true } }, merge_mode: 'concat' }, name: 'bidirectional', inbound_nodes: [[['embedding', 0, 0, {}]]] },
      { class_name: 'LayerNormalization', config: { name: 'layer_normalization', trainable: true, dtype: 'float32', axis: [2], epsilon: 0.001, center: true, scale: true, beta_initializer: { class_name: 'Zeros', config: {} }, gamma_initializer: { class_name: 'Ones', config: {} }, beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null }, name: 'layer_normalization', inbound_nodes: [[['bidirectional', 0, 0, {}]]] },
      { class_name: 'TimeDistributed', config: { name: 'time_distributed', trainable: true, dtype: 'float32', layer: { class_name: 'Dense', config: { name: 'dense', trainable: true, dtype: 'float32', units: 3, activation: 'relu', use_bias: true, kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} }, kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null } } }, name: 'time_distributed', inbound_nodes: [[['layer_normalization', 0, 0, {}]]] },
      { class_name: 'LSTM', config: { name: 'lstm', trainable: true, dtype: 'float32', return_sequences: false, return_state: false, go_backwards: false, stateful: false, unroll: false, time_major: false, units: 4, activation: 'tanh', recurrent_activation: 'hard_sigmoid', use_bias: true, kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, recurrent_initializer: { class_name: 'Orthogonal', config: { gain: 1.0, seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} }, unit_forget_bias: true, kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, recurrent_constraint: null, bias_constraint: null, dropout: 0.0, recurrent_dropout: 0.0, implementation: 2 }, name: 'lstm', inbound_nodes: [[['time_distributed', 0, 0, {}]]] },
      { class_name: 'BatchNormalization', config: { name: 'batch_normalization', trainable: true, dtype: 'float32', axis: [1], momentum: 0.99, epsilon: 0.001, center: true, scale: true, beta_initializer: { class_name: 'Zeros', config: {} }, gamma_initializer: { class_name: 'Ones', config: {} }, moving_mean_initializer: { class_name: 'Zeros', config: {} }, moving_variance_initializer: { class_name: 'Ones', config: {} }, beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null }, name: 'batch_normalization', inbound_nodes: [[['lstm', 0, 0, {}]]] },
      { class_name: 'Dense', config: { name: 'out', trainable: true, dtype: 'float32', units: 2, activation: 'softmax', use_bias: true, kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} }, kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null }, name: 'out', inbound_nodes: [[['batch_normalization', 0, 0, {}]]] },
    ],
    input_layers: [['ids', 0, 0]],
    output_layers: [['out', 0, 0]],
  },
};

/** tf.keras 2.4's weight names for the functional model above (the cell level numbered as tf.keras does). */
const TF24_NAMES: Record<string, string[]> = {
  embedding: ['embedding/embeddings:0'],
  bidirectional: ['bidirectional/forward_gru/gru_cell_1/kernel:0', 'bidirectional/forward_gru/gru_cell_1/recurrent_kernel:0', 'bidirectional/forward_gru/gru_cell_1/bias:0', 'bidirectional/backward_gru/gru_cell_2/kernel:0', 'bidirectional/backward_gru/gru_cell_2/recurrent_kernel:0', 'bidirectional/backward_gru/gru_cell_2/bias:0'],
  layer_normalization: ['layer_normalization/gamma:0', 'layer_normalization/beta:0'],
  time_distributed: ['time_distributed/kernel:0', 'time_distributed/bias:0'],
  lstm: ['lstm/lstm_cell/kernel:0', 'lstm/lstm_cell/recurrent_kernel:0', 'lstm/lstm_cell/bias:0'],
  batch_normalization: ['batch_normalization/gamma:0', 'batch_normalization/beta:0', 'batch_normalization/moving_mean:0', 'batch_normalization/moving_variance:0'],
  out: ['out/kernel:0', 'out/bias:0'],
};

function ids(): Tensor {
  const r = new Random(5);
  const v = Int32Array.from({ length: 5 * 6 }, () => 1 + Math.floor(r.next() * 19));
  v[4] = 0;
  v[5] = 0; // trailing padding on the first sequence (mask_zero)
  return tensor(v, [5, 6], 'int32');
}

describe('legacy HDF5 layouts (synthetic files)', () => {
  it('a tf.keras functional model (Embedding, Bidirectional GRU, LayerNormalization, TimeDistributed, LSTM, BatchNormalization) loads following weight_names', async () => {
    const ref = modelFromTopology(normalizeTopology(FUNCTIONAL_TF24, '2.4.0', 'ref').topology, 'ref');
    randomize(ref, 11);
    const layers: H5Layer[] = ref.layers.map((l) => {
      const names = TF24_NAMES[l.name] ?? [];
      return { name: l.name, weights: l.getWeights().map((w, i) => ({ name: names[i], values: w.dataSync() as Float32Array, shape: w.shape })) };
    });
    const file = tmp('.h5');
    await writeLegacyH5(file, FUNCTIONAL_TF24, '2.4.0', layers);
    const m = await loadKerasModel(file);
    expect(m.layers.map((l) => l.name)).toEqual(ref.layers.map((l) => l.name));
    expect((m.getLayer('lstm') as LSTM).recurrentActivation).toBe('hardSigmoid');
    const want = ((await ref.predict(ids())) as Tensor).dataSync();
    const got = ((await m.predict(ids())) as Tensor).dataSync();
    expect(maxAbsDiff(got, want)).toBe(0);
  });

  it('the same file written by Keras 3 (names without :0, model prefix) reads hard_sigmoid as clip(x/6 + 0.5)', async () => {
    const ref = modelFromTopology(normalizeTopology(FUNCTIONAL_TF24, '3.4.1', 'ref').topology, 'ref');
    randomize(ref, 12);
    expect((ref.getLayer('lstm') as LSTM).recurrentActivation).toBe('hardSigmoidKeras3');
    const layers: H5Layer[] = ref.layers.map((l) => ({
      name: l.name,
      weights: l.getWeights().map((w, i) => ({ name: `model/${(TF24_NAMES[l.name] ?? [])[i].replace(/:0$/, '')}`, values: w.dataSync() as Float32Array, shape: w.shape })),
    }));
    const file = tmp('.h5');
    await writeLegacyH5(file, FUNCTIONAL_TF24, '3.4.1', layers);
    const m = await loadKerasModel(file);
    expect((m.getLayer('lstm') as LSTM).recurrentActivation).toBe('hardSigmoidKeras3');
    expect(maxAbsDiff(((await m.predict(ids())) as Tensor).dataSync(), ((await ref.predict(ids())) as Tensor).dataSync())).toBe(0);
  });

  it('CuDNNLSTM and CuDNNGRU weights (Keras 2) are converted as Keras converts them', async () => {
    const H = 3, I = 2;
    for (const kind of ['LSTM', 'GRU'] as const) {
      const G = kind === 'LSTM' ? 4 : 3;
      const plain = { class_name: 'Sequential', config: [{ class_name: kind, config: { name: 'rnn', units: H, batch_input_shape: [null, 5, I], recurrent_activation: 'sigmoid', ...(kind === 'GRU' ? { reset_after: true } : {}) } }] };
      const ref = modelFromTopology(normalizeTopology(plain, '2.2.4', 'ref').topology, 'ref');
      randomize(ref, 13);
      const [k, u, b] = ref.getWeights().map((w) => w.dataSync() as Float32Array);
      // Keras's conversion to CuDNN (from_cudnn=False): per gate, input kernel k.T.reshape(k.shape, order='C'), recurrent kernel transposed.
      const kc = new Float32Array(k.length), uc = new Float32Array(u.length);
      for (let g = 0; g < G; g++) {
        for (let a = 0; a < I; a++)
          for (let c = 0; c < H; c++) {
            const f = a * H + c;
            const h = Math.floor(f / I), i = f % I;
            kc[a * G * H + g * H + c] = k[i * G * H + g * H + h];
          }
        for (let r = 0; r < H; r++) for (let c = 0; c < H; c++) uc[r * G * H + g * H + c] = u[c * G * H + g * H + r];
      }
      const bc = kind === 'LSTM' ? Float32Array.from([...b.map((v) => v * 0.5), ...b.map((v) => v * 0.5)]) : b;
      const cudnn = { class_name: 'Sequential', config: [{ class_name: `CuDNN${kind}`, config: { name: 'rnn', units: H, batch_input_shape: [null, 5, I], return_sequences: false, return_state: false, go_backwards: false, stateful: false, kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1.0, mode: 'fan_avg', distribution: 'uniform', seed: null } }, recurrent_initializer: { class_name: 'Orthogonal', config: { gain: 1.0, seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} }, ...(kind === 'LSTM' ? { unit_forget_bias: true } : {}), kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, recurrent_constraint: null, bias_constraint: null } }] };
      const file = tmp('.h5');
      await writeLegacyH5(file, cudnn, '2.2.4', [
        { name: 'rnn', weights: [{ name: 'rnn/kernel:0', values: kc, shape: [I, G * H] }, { name: 'rnn/recurrent_kernel:0', values: uc, shape: [H, G * H] }, { name: 'rnn/bias:0', values: bc, shape: [2 * G * H] }] },
      ]);
      const m = await loadKerasModel(file);
      const x = tensor(Float32Array.from({ length: 4 * 5 * I }, (_, i) => Math.sin(i)), [4, 5, I]);
      expect(maxAbsDiff(((await m.predict(x)) as Tensor).dataSync(), ((await ref.predict(x)) as Tensor).dataSync())).toBeLessThan(1e-6);
    }
  });

  it('weights-only files and files without a model config are refused with a clear message', async () => {
    const file = tmp('.h5');
    fs.writeFileSync(file, await buildHdf5((f) => {
      f.create_attribute('layer_names', ['dense']);
      f.create_group('dense').create_attribute('weight_names', ['dense/kernel:0']);
    }));
    await expect(loadKerasModel(file)).rejects.toThrow(/weights only/);
    const other = tmp('.h5');
    fs.writeFileSync(other, await buildHdf5((f) => void f.create_group('data')));
    await expect(loadKerasModel(other)).rejects.toThrow(/no model_config/);
  });

  it('a weight_names entry without its dataset fails naming the layer and the weight', async () => {
    const cfg = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 3] } }] } };
    const file = tmp('.h5');
    const bytes = await buildHdf5((f) => {
      f.create_attribute('keras_version', '2.4.0');
      f.create_attribute('model_config', JSON.stringify(cfg));
      const mw = f.create_group('model_weights');
      mw.create_attribute('layer_names', ['d']);
      const g = mw.create_group('d');
      g.create_attribute('weight_names', ['d/kernel:0', 'd/bias:0']);
      g.create_group('d').create_dataset({ name: 'kernel:0', data: new Float32Array(6), shape: [3, 2], dtype: '<f' });
    });
    fs.writeFileSync(file, bytes);
    await expect(loadKerasModel(file)).rejects.toThrow(/layer "d" lists weight "d\/bias:0"/);
  });
});
