/**
 * model.saveKeras: a Keras 3 `.keras` archive laid out as Keras 3.14 writes
 * it. The file written for the real Keras 3.14 GRU model has the real
 * file's structure (zip entries, metadata.json, config.json keys layer by
 * layer, the HDF5 groups `layers/<name>/.../vars/N` with their shapes and
 * `name` attributes); every file reads back (loadKerasModel) to
 * bit-identical predictions, for Sequential and functional models with
 * every layer the format holds. What Keras 3 cannot compute is refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { input, layers, model, ModelFileError, sequential, setSeed, tensor, train, type LayersModel, type SymbolicTensor, type Tensor } from '../lib/index.js';
import { withHdf5, type H5Group } from '../lib/io/keras/hdf5.js';
import { loadKerasModel } from '../lib/io/keras/loadKerasModel.js';
import { Random } from '../lib/random.js';
import { expected, maxAbsDiff, TRAFFIC, trafficWindows } from './fixtures/interop/helpers.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-savekeras-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let count = 0;
const tmp = (): string => path.join(tmpRoot, `m${count++}.keras`);

type Dict = Record<string, any>;

function archive(file: string): { entries: Record<string, Uint8Array>; config: Dict; metadata: Dict } {
  const entries = unzipSync(new Uint8Array(fs.readFileSync(file)));
  return { entries, config: JSON.parse(strFromU8(entries['config.json'])), metadata: JSON.parse(strFromU8(entries['metadata.json'])) };
}

/** Every group and dataset of an HDF5 file: `path` → `G name=<attr>` or `D [shape]`. */
async function h5Layout(bytes: Uint8Array): Promise<Map<string, string>> {
  return withHdf5(bytes, 'layout', (file) => {
    const out = new Map<string, string>();
    const walk = (g: H5Group, p: string): void => {
      for (const k of g.keys()) {
        const child = g.get(k) as unknown as { type: string; shape?: number[]; attrs: Record<string, { value: unknown }> };
        const cp = p === '' ? k : `${p}/${k}`;
        if (child.type === 'Group') {
          out.set(cp, `G${child.attrs.name ? ` name=${String(child.attrs.name.value)}` : ''}`);
          walk(child as unknown as H5Group, cp);
        } else out.set(cp, `D ${JSON.stringify(child.shape)}`);
      }
    };
    walk(file, '');
    return out;
  });
}

function rand(shape: number[], seed: number): Tensor<'float32'> {
  const r = new Random(seed);
  return tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.next() * 2 - 1), shape);
}

async function outputs(m: LayersModel, xs: Tensor | Tensor[]): Promise<Float32Array[]> {
  const y = await m.predict(xs);
  return (Array.isArray(y) ? y : [y]).map((t) => t.dataSync() as Float32Array);
}

async function roundTrip(m: LayersModel, xs: Tensor | Tensor[]): Promise<LayersModel> {
  const file = tmp();
  const r = await m.saveKeras(file);
  expect(r.bytes).toBe(fs.statSync(file).size);
  const back = await loadKerasModel(file);
  expect(back.layers.map((l) => l.name)).toEqual(m.layers.map((l) => l.name));
  const [a, b] = [await outputs(m, xs), await outputs(back, xs)];
  expect(b.length).toBe(a.length);
  a.forEach((v, i) => expect(maxAbsDiff(b[i], v)).toBe(0));
  return back;
}

describe('the structure of the real Keras 3.14 file', () => {
  const REAL = path.join(TRAFFIC, 'keras3.14-dotkeras/gru.keras');

  it('a saved copy of gru.keras has its zip entries, metadata, config keys and HDF5 layout', async () => {
    const m = await loadKerasModel(REAL);
    const file = tmp();
    await m.saveKeras(file);
    const real = archive(REAL);
    const ours = archive(file);
    expect(Object.keys(ours.entries)).toEqual(Object.keys(real.entries));
    expect(Object.keys(ours.metadata)).toEqual(expect.arrayContaining(Object.keys(real.metadata)));
    expect(ours.metadata.keras_version).toMatch(/^3\./);
    expect(Object.keys(ours.config).sort()).toEqual(Object.keys(real.config).sort());
    expect(ours.config.module).toBe(real.config.module);
    expect(ours.config.class_name).toBe('Sequential');
    expect(ours.config.build_config).toEqual(real.config.build_config);
    expect(Object.keys(ours.config.config).sort()).toEqual(Object.keys(real.config.config).sort());
    expect(ours.config.config.dtype).toEqual({ module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null });
    const rl = real.config.config.layers as Dict[];
    const ol = ours.config.config.layers as Dict[];
    expect(ol.map((l) => l.class_name)).toEqual(rl.map((l) => l.class_name));
    ol.forEach((l, i) => {
      expect(Object.keys(l).sort(), l.class_name).toEqual(Object.keys(rl[i]).sort());
      expect(l.module).toBe(rl[i].module);
      expect(l.build_config).toEqual(rl[i].build_config);
      // Every key written is one Keras 3.14 writes (and so one its constructor takes).
      expect(Object.keys(rl[i].config), l.class_name).toEqual(expect.arrayContaining(Object.keys(l.config)));
      if (l.class_name === 'GRU') {
        expect(Object.keys(l.config).sort()).toEqual(Object.keys(rl[i].config).sort());
        for (const k of ['units', 'activation', 'recurrent_activation', 'return_sequences', 'reset_after', 'use_bias']) expect(l.config[k], k).toEqual(rl[i].config[k]);
        expect(l.config.kernel_initializer.class_name).toBe('GlorotUniform');
        expect(Object.keys(l.config.kernel_initializer).sort()).toEqual(['class_name', 'config', 'module', 'registered_name']);
      }
    });
    expect(ours.config.compile_config.loss).toBe('mean_squared_error');
    expect(ours.config.compile_config.optimizer.class_name).toBe('RMSprop');
    expect(ours.config.compile_config.optimizer.config.learning_rate).toBeCloseTo(0.001, 6);
    const realLayout = await h5Layout(real.entries['model.weights.h5']);
    const ourLayout = await h5Layout(ours.entries['model.weights.h5']);
    const noOptimizer = (m: Map<string, string>): Array<[string, string]> => [...m].filter(([k]) => !k.startsWith('optimizer')).sort();
    expect(noOptimizer(ourLayout)).toEqual(noOptimizer(realLayout));
    expect(ourLayout.get('layers/gru/cell/vars')).toBe('G name=gru_cell');
    expect(ourLayout.get('layers/gru_1/cell/vars/2')).toBe('D [2,192]');
  });

  it('reads back to the same predictions as the original file, on all 4,308 windows', async () => {
    const m = await loadKerasModel(REAL);
    const file = tmp();
    await m.saveKeras(file);
    const back = await loadKerasModel(file);
    const x = trafficWindows().x;
    const a = ((await m.predict(x, { batchSize: 1024 })) as Tensor).dataSync();
    const b = ((await back.predict(x, { batchSize: 1024 })) as Tensor).dataSync();
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(b.slice(0, 64), expected.models['keras3.14-dotkeras/gru.keras'].pred_scaled_first64)).toBeLessThan(1e-5);
    expect(back.trainer).not.toBeNull();
  });
});

describe('round trips through .keras', () => {
  it('Sequential: Embedding, Bidirectional GRU/LSTM, SimpleRNN, BatchNormalization, LayerNormalization, Dropout, Dense', async () => {
    setSeed(1);
    const m = sequential({
      layers: [
        layers.embedding({ inputDim: 20, outputDim: 6, inputShape: [7] }),
        layers.bidirectional({ layer: layers.gru({ units: 5, returnSequences: true, resetAfter: false }), mergeMode: 'sum' }),
        layers.layerNormalization(),
        layers.bidirectional({ layer: layers.lstm({ units: 4, returnSequences: true, recurrentActivation: 'hardSigmoidKeras3' }) }),
        layers.simpleRNN({ units: 3, activation: 'relu' }),
        layers.batchNormalization(),
        layers.dropout({ rate: 0.2 }),
        layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    m.compile({ optimizer: train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const r = new Random(2);
    const ids = tensor(Int32Array.from({ length: 4 * 7 }, () => Math.floor(r.next() * 20)), [4, 7], 'int32');
    const back = await roundTrip(m, ids);
    expect(back.trainer).not.toBeNull();
    // The same architecture; initializers come back with Keras's explicit defaults (gain 1, minval -0.05, ...).
    const names = (c: unknown): string => JSON.stringify(c, (k, v) => (k.endsWith('Initializer') ? v.name : v));
    expect(JSON.parse(names(back.getConfig()))).toEqual(JSON.parse(names(m.getConfig())));
  });

  it('functional encoder–decoder: initial states, returned states, TimeDistributed, Concatenate, Masking-free', async () => {
    setSeed(3);
    const enc = input({ shape: [null, 3], name: 'encoder_in' });
    const dec = input({ shape: [null, 2], name: 'decoder_in' });
    const [, h, c] = layers.lstm({ units: 4, returnState: true }).apply(enc) as SymbolicTensor[];
    const seq = layers.lstm({ units: 4, returnSequences: true }).apply(dec, { initialState: [h, c] }) as SymbolicTensor;
    const td = layers.timeDistributed({ layer: layers.dense({ units: 3, activation: 'tanh' }) }).apply(seq) as SymbolicTensor;
    const both = layers.concatenate().apply([td, seq]) as SymbolicTensor;
    const out = layers.dense({ units: 2 }).apply(both) as SymbolicTensor;
    const m = model({ inputs: [enc, dec], outputs: [out, h] });
    const file = tmp();
    await m.saveKeras(file);
    const cfg = archive(file).config;
    expect(cfg.class_name).toBe('Functional');
    const decoderLstm = (cfg.config.layers as Dict[]).find((l) => l.class_name === 'LSTM' && l.inbound_nodes[0].kwargs.initial_state);
    expect(decoderLstm!.inbound_nodes[0].kwargs.initial_state.map((t: Dict) => t.class_name)).toEqual(['__keras_tensor__', '__keras_tensor__']);
    expect(cfg.config.input_layers).toEqual([['encoder_in', 0, 0], ['decoder_in', 0, 0]]);
    const layout = await h5Layout(archive(file).entries['model.weights.h5']);
    expect(layout.get('layers/input_layer/vars')).toBe('G name=encoder_in');
    expect(layout.get('layers/time_distributed/layer/vars/0')).toBe('D [4,3]');
    await roundTrip(m, [rand([3, 5, 3], 4), rand([3, 4, 2], 5)]);
  });

  it('the activations Keras 3 has (hard_sigmoid = clip(x/6 + 0.5) included)', async () => {
    setSeed(6);
    const acts = ['relu', 'relu6', 'leakyRelu', 'elu', 'selu', 'sigmoid', 'hardSigmoidKeras3', 'tanh', 'softplus', 'softsign', 'swish', 'hardSwish', 'mish', 'gelu', 'exponential'] as const;
    const m = sequential({ layers: [layers.dense({ units: 4, inputShape: [3] }), ...acts.map((a) => layers.activation({ activation: a })), layers.dense({ units: 2, activation: 'logSoftmax' })] });
    const file = tmp();
    await m.saveKeras(file);
    expect((archive(file).config.config.layers as Dict[]).filter((l) => l.class_name === 'Activation').map((l) => l.config.activation)).toContain('hard_sigmoid');
    await roundTrip(m, rand([5, 3], 7));
  });
});

describe('what a Keras 3 file cannot hold', () => {
  it('the Keras 2 hard sigmoid clip(0.2x + 0.5) is refused, naming the layer and the option, and an existing file is left as it was', async () => {
    const m = await loadKerasModel(path.join(TRAFFIC, 'keras2.1.4-h5/lstm.h5'));
    const file = tmp();
    fs.writeFileSync(file, 'previous');
    await expect(m.saveKeras(file)).rejects.toThrow(ModelFileError);
    await expect(m.saveKeras(file)).rejects.toThrow(/layer "lstm_1" \(class LSTM\): option "recurrentActivation": 'hardSigmoid' is clip\(0\.2x \+ 0\.5\)/);
    expect(fs.readFileSync(file, 'utf8')).toBe('previous');
    expect(fs.readdirSync(tmpRoot).filter((f) => f.startsWith('.gatedrnn-tmp-'))).toEqual([]);
  });

  it('layers.rnn with cells is refused', async () => {
    setSeed(8);
    const m = sequential({ layers: [layers.rnn({ cell: layers.gruCell({ units: 2 }), inputShape: [null, 2] })] });
    await expect(m.saveKeras(tmp())).rejects.toThrow(/class RNN\): this layer class cannot be saved/);
  });
});
