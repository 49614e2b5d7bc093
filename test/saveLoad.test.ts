/**
 * Save → load round trips on both backends: Sequential and functional
 * models with GRU (both resetAfter forms, every gate activation), LSTM,
 * SimpleRNN, Bidirectional, RNN with cells and the core layers, an encoder-decoder whose
 * decoders start from the encoders' states, a shared layer, a deferred
 * (built from data) Sequential. Loading gives the same getConfig() and
 * bit-identical predictions; model.json has tfjs's layout; weights are
 * sharded above the shard size; saveWeights/loadWeights, toJSON and
 * modelFromJSON agree.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { input, InputLayer, layers, model, sequential, setBackend, setSeed, tensor, type LayersModel, type SymbolicTensor, type Tensor } from '../lib/index.js';
import { loadLayersModel, loadModel, modelFromJSON } from '../lib/io/loadModel.js';
import { modelFromConfig } from '../lib/io/modelFromConfig.js';
import { Random } from '../lib/random.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-save-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dirCount = 0;
const newDir = (): string => path.join(tmpRoot, `m${dirCount++}`);

function randomTensor(shape: number[], seed: number, scale = 1): Tensor<'float32'> {
  const r = new Random(seed);
  return tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r.next() * 2 - 1) * scale), shape);
}

function ids(shape: [number, number], max: number, seed: number): Tensor<'int32'> {
  const r = new Random(seed);
  const v = Int32Array.from({ length: shape[0] * shape[1] }, () => Math.floor(r.next() * max));
  // Trailing padding (id 0) on the first sequence, for maskZero.
  v[shape[1] - 1] = 0;
  v[shape[1] - 2] = 0;
  return tensor(v, shape, 'int32');
}

function outputs(p: Tensor | Tensor[]): Float32Array[] {
  return (Array.isArray(p) ? p : [p]).map((t) => t.dataSync() as Float32Array);
}

/** Saves, loads, and checks config, weights and predictions (bit for bit). */
async function roundTrip(m: LayersModel, x: Tensor | Tensor[]): Promise<{ loaded: LayersModel; dir: string }> {
  const before = outputs(await m.predict(x));
  const dir = newDir();
  await m.save(`file://${dir}`);
  const loaded = await loadLayersModel(`file://${dir}/model.json`);
  expect(loaded.getConfig()).toEqual(m.getConfig());
  expect(loaded.constructor).toBe(m.constructor);
  const w0 = m.getWeights();
  const w1 = loaded.getWeights();
  expect(w1.map((w) => w.shape)).toEqual(w0.map((w) => w.shape));
  w0.forEach((w, i) => expect(w1[i].dataSync()).toEqual(w.dataSync()));
  const after = outputs(await loaded.predict(x));
  expect(after).toEqual(before);
  return { loaded, dir };
}

describe.each(['native', 'js'] as const)('save and load on the %s backend', (backendName) => {
  beforeEach(() => {
    setBackend(backendName);
    setSeed(11);
  });

  it('Sequential: Embedding(maskZero) -> GRU(resetAfter) -> LSTM -> Dense(softmax)', async () => {
    const m = sequential({
      layers: [
        layers.embedding({ inputDim: 20, outputDim: 6, maskZero: true, inputShape: [null] }),
        layers.gru({ units: 8, returnSequences: true, resetAfter: true }),
        layers.lstm({ units: 5 }),
        layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const { dir } = await roundTrip(m, ids([4, 7], 20, 1));
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(Object.keys(json)).toEqual(['modelTopology', 'format', 'generatedBy', 'convertedBy', 'weightsManifest']);
    expect(json.format).toBe('layers-model');
    expect(json.generatedBy).toMatch(/^gatedrnn \d/);
    expect(json.convertedBy).toBeNull();
    expect(json.modelTopology.class_name).toBe('Sequential');
    expect(json.modelTopology.backend).toBe('tensor_flow.js');
    const [emb, gru, lstm, dense] = json.modelTopology.config.layers;
    expect(emb.class_name).toBe('Embedding');
    expect(emb.config.batch_input_shape).toEqual([null, null]);
    expect(emb.config.mask_zero).toBe(true);
    expect(gru.config.reset_after).toBe(true);
    expect(gru.config.return_sequences).toBe(true);
    expect(gru.config.recurrent_activation).toBe('sigmoid');
    expect(gru.config.kernel_initializer).toEqual({ class_name: 'GlorotUniform', config: { seed: null } });
    expect(gru.config.recurrent_initializer).toEqual({ class_name: 'Orthogonal', config: { seed: null } });
    expect(lstm.config.unit_forget_bias).toBe(true);
    expect(dense.config.activation).toBe('softmax');
    const names = json.weightsManifest[0].weights.map((w: { name: string }) => w.name);
    expect(names).toEqual([
      `${m.layers[0].name}/embeddings`,
      `${m.layers[1].name}/kernel`,
      `${m.layers[1].name}/recurrent_kernel`,
      `${m.layers[1].name}/bias`,
      `${m.layers[2].name}/kernel`,
      `${m.layers[2].name}/recurrent_kernel`,
      `${m.layers[2].name}/bias`,
      `${m.layers[3].name}/kernel`,
      `${m.layers[3].name}/bias`,
    ]);
    expect(json.weightsManifest[0].weights[3]).toEqual({ name: `${m.layers[1].name}/bias`, shape: [2, 24], dtype: 'float32' });
    const bytes = fs.statSync(path.join(dir, 'weights.bin')).size;
    expect(bytes).toBe(m.countParams() * 4);
  });

  it('Sequential: GRU(resetAfter false, hardSigmoid) -> Bidirectional(LSTM, sum) -> TimeDistributed(Dense) -> LayerNormalization -> SimpleRNN(relu) -> Dropout -> Dense', async () => {
    const m = sequential({
      name: 'stack',
      layers: [
        layers.gru({ units: 6, resetAfter: false, recurrentActivation: 'hardSigmoid', returnSequences: true, inputShape: [null, 4], name: 'g1' }),
        layers.bidirectional({ layer: layers.lstm({ units: 4, returnSequences: true, name: 'inner' }), mergeMode: 'sum', name: 'bi' }),
        layers.timeDistributed({ layer: layers.dense({ units: 3, activation: 'tanh' }), name: 'td' }),
        layers.layerNormalization({ name: 'ln' }),
        layers.simpleRNN({ units: 5, activation: 'relu', name: 'srnn' }),
        layers.dropout({ rate: 0.3, name: 'drop' }),
        layers.dense({ units: 2, name: 'out' }),
      ],
    });
    const { dir } = await roundTrip(m, randomTensor([3, 6, 4], 2));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const byName = Object.fromEntries(json.modelTopology.config.layers.map((l: { config: { name: string } }) => [l.config.name, l]));
    expect(byName.g1.config.reset_after).toBe(false);
    expect(byName.g1.config.recurrent_activation).toBe('hard_sigmoid');
    expect(byName.bi.class_name).toBe('Bidirectional');
    expect(byName.bi.config.merge_mode).toBe('sum');
    expect(byName.bi.config.layer.class_name).toBe('LSTM');
    expect(byName.bi.config.layer.config.return_sequences).toBe(true);
    expect(byName.td.config.layer.class_name).toBe('Dense');
    expect(byName.srnn.config.activation).toBe('relu');
    expect(byName.srnn.config.recurrent_activation).toBeUndefined();
    const names: string[] = json.weightsManifest[0].weights.map((w: { name: string }) => w.name);
    expect(names).toContain('bi/forward_inner/kernel');
    expect(names).toContain('bi/backward_inner/recurrent_kernel');
    expect(names).toContain('td/kernel');
    expect(names).toContain('ln/gamma');
  });

  it('GRU with hardSigmoidKeras3, regularizers and initializer options reads back the same', async () => {
    const m = sequential({
      layers: [
        layers.gru({
          units: 5,
          recurrentActivation: 'hardSigmoidKeras3',
          kernelRegularizer: { l1: 0.001, l2: 0.01 },
          biasRegularizer: 'l2',
          biasInitializer: { name: 'randomNormal', stddev: 0.1 },
          kernelInitializer: 'lecunNormal',
          recurrentInitializer: { name: 'orthogonal', gain: 0.5 },
          inputShape: [null, 3],
          returnSequences: true,
          seed: 5,
          name: 'k3',
        }),
        layers.bidirectional({ layer: layers.gru({ units: 4, resetAfter: false }), name: 'bg' }),
        layers.batchNormalization({ name: 'bn' }),
        layers.repeatVector({ n: 3 }),
        layers.gru({ units: 4, returnSequences: true, goBackwards: true }),
        layers.flatten(),
        layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    // Train a little so BatchNormalization's moving statistics differ from their start.
    m.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
    await m.fit(randomTensor([8, 5, 3], 3), tensor(Float32Array.from({ length: 8 }, (_, i) => i % 2), [8, 1]), { epochs: 2, batchSize: 4, verbose: 0 });
    const { dir, loaded } = await roundTrip(m, randomTensor([3, 5, 3], 4));
    const k3 = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).modelTopology.config.layers[0].config;
    expect(k3.recurrent_activation).toBe('hard_sigmoid_keras3');
    expect(k3.kernel_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0.001, l2: 0.01 } });
    expect(k3.bias_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0, l2: 0.01 } });
    expect(k3.bias_initializer).toEqual({ class_name: 'RandomNormal', config: { stddev: 0.1, seed: null } });
    expect(k3.kernel_initializer).toEqual({ class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_in', distribution: 'normal', seed: null } });
    expect(k3.recurrent_initializer).toEqual({ class_name: 'Orthogonal', config: { gain: 0.5, seed: null } });
    expect(k3.seed).toBe(5);
    expect((loaded.layers[0] as unknown as { recurrentActivation: string }).recurrentActivation).toBe('hardSigmoidKeras3');
    expect(loaded.layers[0].regularizationLoss()).toBeCloseTo(m.layers[0].regularizationLoss(), 10);
  });

  it('RNN layers with a GRUCell and with stacked LSTMCell + SimpleRNNCell', async () => {
    const m = sequential({
      layers: [
        layers.rnn({ cell: layers.gruCell({ units: 3, recurrentActivation: 'hardSigmoid' }), returnSequences: true, inputShape: [null, 2], name: 'r' }),
        layers.rnn({ cell: [layers.lstmCell({ units: 2 }), layers.simpleRNNCell({ units: 2 })], name: 'r2' }),
      ],
    });
    const { dir } = await roundTrip(m, randomTensor([2, 3, 2], 17));
    const [r, r2] = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).modelTopology.config.layers;
    expect(r.config.cell.class_name).toBe('GRUCell');
    expect(r.config.cell.config.recurrent_activation).toBe('hard_sigmoid');
    expect(r2.config.cell.class_name).toBe('StackedRNNCells');
    expect(r2.config.cell.config.cells.map((c: { class_name: string }) => c.class_name)).toEqual(['LSTMCell', 'SimpleRNNCell']);
  });

  it('a Sequential built from data (no inputShape) keeps the input shape it was built for (as Keras, timesteps included)', async () => {
    const m = sequential({ layers: [layers.lstm({ units: 4, returnSequences: true }), layers.gru({ units: 3 }), layers.dense({ units: 2 })] });
    const x = randomTensor([2, 5, 3], 5);
    await m.predict(x);
    expect(m.getConfig().layers).toHaveLength(3);
    expect(((m.getConfig().layers as Array<{ config: Record<string, unknown> }>)[0].config.batchInputShape)).toEqual([null, 5, 3]);
    await roundTrip(m, x);
  });

  it('a Sequential with an int32 InputLayer keeps it (as an InputLayer entry)', async () => {
    const m = sequential({ layers: [new InputLayer({ shape: [6], dtype: 'int32', name: 'tokens' }), layers.embedding({ inputDim: 10, outputDim: 4 }), layers.gru({ units: 3 })] });
    const { loaded, dir } = await roundTrip(m, ids([3, 6], 10, 6));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.modelTopology.config.layers[0]).toEqual({ class_name: 'InputLayer', config: { batch_input_shape: [null, 6], dtype: 'int32', sparse: false, name: 'tokens' } });
    expect((loaded.inputs[0].sourceLayer as InputLayer).dtype).toBe('int32');
  });

  it('a Sequential with a named float32 InputLayer keeps its name (the name predict({name: x}) takes)', async () => {
    const m = sequential({ layers: [new InputLayer({ shape: [null, 3], name: 'signal' }), layers.gru({ units: 3 })] });
    const x = randomTensor([2, 4, 3], 15);
    const { loaded } = await roundTrip(m, x);
    expect(loaded.inputNames).toEqual(['signal']);
    expect(outputs(await loaded.predict({ signal: x }))).toEqual(outputs(await m.predict(x)));
  });

  it('a Keras 2 style topology ({model_config, keras_version}, class Functional) loads', async () => {
    const a = input({ shape: [null, 2], name: 'a' });
    const y = layers.dense({ units: 2, name: 'out' }).apply(layers.gru({ units: 3, name: 'g', recurrentActivation: 'hardSigmoid' }).apply(a) as SymbolicTensor) as SymbolicTensor;
    const m = model({ inputs: a, outputs: y, name: 'k2' });
    const dir = newDir();
    await m.save(dir);
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const topo = json.modelTopology;
    json.modelTopology = { keras_version: '2.15.0', backend: 'tensorflow', model_config: { class_name: 'Functional', config: topo.config } };
    for (const l of topo.config.layers) if (l.class_name === 'GRU') Object.assign(l.config, { time_major: false, implementation: 2, unroll: false, activity_regularizer: null, kernel_constraint: null });
    fs.writeFileSync(file, JSON.stringify(json));
    const loaded = await loadModel(file);
    expect(loaded.getConfig()).toEqual(m.getConfig());
    const x = randomTensor([2, 3, 2], 16);
    expect(outputs(await loaded.predict(x))).toEqual(outputs(await m.predict(x)));
  });

  it('functional encoder-decoder: decoders start from the encoders\' states (LSTM [h, c], GRU h), Concatenate, two outputs', async () => {
    const enc = input({ shape: [null, 3], name: 'enc' });
    const dec = input({ shape: [null, 2], name: 'dec' });
    const [encOut, h, c] = layers.lstm({ units: 6, returnState: true, name: 'enc_lstm' }).apply(enc) as SymbolicTensor[];
    const decSeq = layers.lstm({ units: 6, returnSequences: true, name: 'dec_lstm' }).apply(dec, { initialState: [h, c] }) as SymbolicTensor;
    const [, gh] = layers.gru({ units: 5, returnState: true, resetAfter: false, name: 'enc_gru' }).apply(enc) as SymbolicTensor[];
    const decSeq2 = layers.gru({ units: 5, returnSequences: true, name: 'dec_gru' }).apply(dec, { initialState: gh }) as SymbolicTensor;
    const merged = layers.concatenate({ name: 'cat' }).apply([decSeq, decSeq2]) as SymbolicTensor;
    const out = layers.dense({ units: 2, name: 'head' }).apply(merged) as SymbolicTensor;
    const m = model({ inputs: [enc, dec], outputs: [out, encOut], name: 'seq2seq' });
    const x = [randomTensor([3, 4, 3], 7), randomTensor([3, 5, 2], 8)];
    const { dir } = await roundTrip(m, x);
    const topo = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).modelTopology;
    expect(topo.class_name).toBe('Model');
    expect(topo.config.name).toBe('seq2seq');
    expect(topo.config.input_layers).toEqual([['enc', 0, 0], ['dec', 0, 0]]);
    expect(topo.config.output_layers).toEqual([['head', 0, 0], ['enc_lstm', 0, 0]]);
    const byName = Object.fromEntries(topo.config.layers.map((l: { name: string }) => [l.name, l]));
    expect(byName.enc.class_name).toBe('InputLayer');
    expect(byName.enc.inbound_nodes).toEqual([]);
    expect(byName.dec_lstm.inbound_nodes).toEqual([[['dec', 0, 0, {}], ['enc_lstm', 0, 1, {}], ['enc_lstm', 0, 2, {}]]]);
    expect(byName.dec_gru.inbound_nodes).toEqual([[['dec', 0, 0, {}], ['enc_gru', 0, 1, {}]]]);
    expect(byName.cat.inbound_nodes).toEqual([[['dec_lstm', 0, 0, {}], ['dec_gru', 0, 0, {}]]]);
  });

  it('functional: a layer shared by two branches keeps its node indices; Bidirectional(GRU) with mergeMode null', async () => {
    const a = input({ shape: [null, 4], name: 'a' });
    const b = input({ shape: [null, 4], name: 'b' });
    const shared = layers.gru({ units: 5, name: 'shared' });
    const ha = shared.apply(a) as SymbolicTensor;
    const hb = shared.apply(b) as SymbolicTensor;
    const [fw, bw] = layers.bidirectional({ layer: layers.gru({ units: 3 }), mergeMode: null, name: 'bi' }).apply(a) as SymbolicTensor[];
    const cat = layers.concatenate({ name: 'cat' }).apply([ha, hb, fw, bw]) as SymbolicTensor;
    const out = layers.dense({ units: 1, name: 'y' }).apply(cat) as SymbolicTensor;
    const m = model({ inputs: [a, b], outputs: out });
    const { dir } = await roundTrip(m, [randomTensor([2, 3, 4], 9), randomTensor([2, 3, 4], 10)]);
    const topo = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).modelTopology;
    const byName = Object.fromEntries(topo.config.layers.map((l: { name: string }) => [l.name, l]));
    expect(byName.shared.inbound_nodes).toEqual([[['a', 0, 0, {}]], [['b', 0, 0, {}]]]);
    expect(byName.cat.inbound_nodes).toEqual([[['shared', 0, 0, {}], ['shared', 1, 0, {}], ['bi', 0, 0, {}], ['bi', 0, 1, {}]]]);
    expect(byName.bi.config.merge_mode).toBeNull();
  });

  it('weights above the shard size go to group1-shardKofN.bin files that load back', async () => {
    const m = sequential({ layers: [layers.gru({ units: 16, inputShape: [null, 8] }), layers.dense({ units: 4 })] });
    const x = randomTensor([2, 3, 8], 11);
    const before = outputs(await m.predict(x));
    const dir = newDir();
    await m.save(dir, { shardSizeBytes: 1000 });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const total = m.countParams() * 4;
    const n = Math.ceil(total / 1000);
    expect(json.weightsManifest[0].paths).toEqual(Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`));
    for (const p of json.weightsManifest[0].paths.slice(0, -1)) expect(fs.statSync(path.join(dir, p)).size).toBe(1000);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', ...json.weightsManifest[0].paths].sort());
    const loaded = await loadModel(dir);
    expect(outputs(await loaded.predict(x))).toEqual(before);
  });

  it('saveWeights / loadWeights move the weights into a model of the same architecture', async () => {
    const make = () => sequential({ layers: [layers.lstm({ units: 4, inputShape: [null, 3], name: 'l' }), layers.dense({ units: 2, name: 'd' })] });
    const m = make();
    const x = randomTensor([2, 4, 3], 12);
    const before = outputs(await m.predict(x));
    const dir = newDir();
    await m.saveWeights(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['weights.bin', 'weights_manifest.json']);
    setSeed(99);
    const other = make();
    expect(outputs(await other.predict(x))).not.toEqual(before);
    await other.loadWeights(`file://${dir}`);
    expect(outputs(await other.predict(x))).toEqual(before);
    // Also from a full save's model.json.
    const dir2 = newDir();
    await m.save(dir2);
    const third = make();
    await third.loadWeights(path.join(dir2, 'model.json'));
    expect(outputs(await third.predict(x))).toEqual(before);
  });

  it('toJSON gives the modelTopology; modelFromJSON and modelFromConfig rebuild the architecture', async () => {
    const m = sequential({ name: 'tj', layers: [layers.gru({ units: 3, inputShape: [null, 2], name: 'g' }), layers.dense({ units: 1, name: 'd' })] });
    const text = m.toJSON() as string;
    expect(typeof text).toBe('string');
    const topo = JSON.parse(text);
    expect(topo).toEqual(m.toJSON(null, false));
    expect(topo.class_name).toBe('Sequential');
    expect(topo.config.layers[0].config.batch_input_shape).toEqual([null, null, 2]);
    const again = await modelFromJSON(text);
    expect(again.getConfig()).toEqual(m.getConfig());
    const fromConfig = modelFromConfig('Sequential', m.getConfig());
    expect(fromConfig.getConfig()).toEqual(m.getConfig());
    expect(fromConfig.getWeights().map((w) => w.shape)).toEqual(m.getWeights().map((w) => w.shape));
  });

  it('an uncompiled model saves no training config; a loaded model can be compiled and trained, and saved again', async () => {
    const m = sequential({ layers: [layers.gru({ units: 4, inputShape: [null, 2] }), layers.dense({ units: 1 })] });
    const dir = newDir();
    await m.save(dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.trainingConfig).toBeUndefined();
    const loaded = await loadModel(dir);
    expect(loaded.trainer).toBeNull();
    loaded.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const h = await loaded.fit(randomTensor([4, 3, 2], 13), randomTensor([4, 1], 14), { epochs: 2, verbose: 0 });
    expect(h.history.loss).toHaveLength(2);
    await loaded.save(dir);
    const again = await loadModel(dir);
    expect(again.getWeights().map((w) => w.dataSync())).toEqual(loaded.getWeights().map((w) => w.dataSync()));
  });
});
