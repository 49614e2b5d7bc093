/**
 * What goes wrong with saved models fails clearly, with a ModelFileError
 * naming the file and the problem: truncated, padded or NaN weights, a
 * manifest whose sizes, shapes or dtypes do not match, missing files, bad
 * JSON, unknown layer classes and options, unsupported URLs. Saves are
 * atomic: no temp files are left, an overwrite never mixes old and new
 * files, and a save that fails half-way leaves the previous model loadable.
 * Also: weights matched by order when names differ, Keras 3 files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { input, layers, model, sequential, setBackend, setSeed, tensor, type LayersModel, type SymbolicTensor, type Tensor } from '../lib/index.js';
import { ModelFileError } from '../lib/errors.js';
import { loadLayersModel, loadModel } from '../lib/io/loadModel.js';
import { atomicWriteFile, atomicWriteFileSync, TEMP_PREFIX } from '../lib/io/atomicWrite.js';
import { encodeWeights } from '../lib/io/weightsFormat.js';
import { namedModelWeights } from '../lib/io/modelWeights.js';
import { Random } from '../lib/random.js';

const GOLDEN = path.join(__dirname, 'fixtures', 'golden', 'tfjs', 'tfjs_b_gru_stack');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-err-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dirCount = 0;
const newDir = (): string => path.join(tmpRoot, `e${dirCount++}`);

/** A writable copy of the tfjs golden model. */
function goldenCopy(): string {
  const dir = newDir();
  fs.mkdirSync(dir);
  for (const f of ['model.json', 'weights.bin']) fs.copyFileSync(path.join(GOLDEN, f), path.join(dir, f));
  for (const f of ['model.json', 'weights.bin']) fs.chmodSync(path.join(dir, f), 0o644);
  return dir;
}

function editJson(dir: string, edit: (json: Record<string, any>) => void): void {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json));
}

async function loadError(p: string): Promise<ModelFileError> {
  try {
    await loadLayersModel(p);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFileError);
    return e as ModelFileError;
  }
  throw new Error(`loading ${p} did not fail`);
}

function randomTensor(shape: number[], seed: number): Tensor<'float32'> {
  const r = new Random(seed);
  return tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.next() * 2 - 1), shape);
}

const x = randomTensor([2, 4, 4], 1);

describe('corrupt and mismatched files', () => {
  it('a truncated weights.bin', async () => {
    const dir = goldenCopy();
    const file = path.join(dir, 'weights.bin');
    fs.truncateSync(file, fs.statSync(file).size - 6);
    const e = await loadError(dir);
    expect(e.message).toMatch(/weights data is truncated/);
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/3838 bytes.*need 3844 bytes/);
  });

  it('a weights.bin longer than its manifest', async () => {
    const dir = goldenCopy();
    fs.appendFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(8));
    expect((await loadError(dir)).message).toMatch(/longer than its manifest: .* hold 3852 bytes/);
  });

  it('a manifest size that disagrees with the data', async () => {
    const dir = goldenCopy();
    editJson(dir, (j) => (j.weightsManifest[0].weights[0].shape = [4, 35]));
    expect((await loadError(dir)).message).toMatch(/truncated|longer/);
  });

  it('a manifest shape that disagrees with the layer (same byte count)', async () => {
    const dir = goldenCopy();
    editJson(dir, (j) => (j.weightsManifest[0].weights[0].shape = [36, 4]));
    expect((await loadError(dir)).message).toMatch(/gru_GRU2\/kernel has shape \[36, 4\], but the model's gru_GRU2\/kernel has shape \[4, 36\]/);
  });

  it('an unsupported dtype, quantization, a path outside the directory', async () => {
    let dir = goldenCopy();
    editJson(dir, (j) => (j.weightsManifest[0].weights[2].dtype = 'float16'));
    expect((await loadError(dir)).message).toMatch(/gru_GRU2\/bias.*dtype "float16" is not supported/);
    dir = goldenCopy();
    editJson(dir, (j) => (j.weightsManifest[0].weights[2].quantization = { dtype: 'uint8', scale: 1, min: 0 }));
    expect((await loadError(dir)).message).toMatch(/quantized weights are not supported/);
    dir = goldenCopy();
    editJson(dir, (j) => (j.weightsManifest[0].paths = ['../weights.bin']));
    expect((await loadError(dir)).message).toMatch(/must be a file name relative to the model's directory/);
  });

  it('NaN or infinity in the weights', async () => {
    const dir = goldenCopy();
    const file = path.join(dir, 'weights.bin');
    const buf = fs.readFileSync(file);
    buf.writeFloatLE(NaN, 4 * 40);
    fs.writeFileSync(file, buf);
    expect((await loadError(dir)).message).toMatch(/weight "gru_GRU2\/kernel" \[4, 36\] contains NaN at flat index 40; the weights file is corrupt/);
  });

  it('missing files', async () => {
    const dir = goldenCopy();
    fs.unlinkSync(path.join(dir, 'weights.bin'));
    const e = await loadError(dir);
    expect(e.message).toMatch(/weights file .*weights\.bin is missing/);
    expect(e.path).toBe(path.join(dir, 'weights.bin'));
    expect((await loadError(path.join(tmpRoot, 'nowhere', 'model.json'))).message).toMatch(/does not exist/);
    const empty = newDir();
    fs.mkdirSync(empty);
    expect((await loadError(empty)).message).toMatch(/has no model\.json/);
  });

  it('bad or truncated JSON, no topology, another format', async () => {
    let dir = goldenCopy();
    const file = path.join(dir, 'model.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 500));
    expect((await loadError(dir)).message).toMatch(/model\.json is not valid JSON \(truncated or corrupt\?\)/);
    fs.writeFileSync(file, '');
    expect((await loadError(dir)).message).toMatch(/not valid JSON/);
    dir = goldenCopy();
    editJson(dir, (j) => delete j.modelTopology);
    expect((await loadError(dir)).message).toMatch(/modelTopology is missing/);
    dir = goldenCopy();
    editJson(dir, (j) => (j.format = 'graph-model'));
    expect((await loadError(dir)).message).toMatch(/format "graph-model" is not supported/);
  });

  it('an unknown layer class names the layer and the class', async () => {
    const dir = goldenCopy();
    editJson(dir, (j) => (j.modelTopology.config.layers[1].class_name = 'FancyRNN'));
    const e = await loadError(dir);
    expect(e.message).toMatch(/layer "gru_GRU3": unknown layer class "FancyRNN"; the classes that can be loaded are .*GRU/);
  });

  it('an unknown option names the layer, its class and the option', async () => {
    let dir = goldenCopy();
    editJson(dir, (j) => (j.modelTopology.config.layers[1].config.zoneout_rate = 0.1));
    expect((await loadError(dir)).message).toMatch(/layer "gru_GRU3" \(class GRU\): .*unknown option "zoneoutRate".*\("zoneout_rate" in the file\)/);
    dir = goldenCopy();
    editJson(dir, (j) => (j.modelTopology.config.layers[0].config.kernel_constraint = { class_name: 'MaxNorm', config: { max_value: 2 } }));
    expect((await loadError(dir)).message).toMatch(/layer "gru_GRU2" \(class GRU\): option "kernel_constraint": weight constraints are not supported/);
    dir = goldenCopy();
    editJson(dir, (j) => (j.modelTopology.config.layers[0].config.kernel_initializer = { class_name: 'Identity', config: {} }));
    expect((await loadError(dir)).message).toMatch(/option "kernel_initializer": unknown initializer class "Identity"/);
    dir = goldenCopy();
    editJson(dir, (j) => (j.modelTopology.class_name = 'Graph'));
    expect((await loadError(dir)).message).toMatch(/model class "Graph" is not supported/);
  });

  it('weight names that differ: loaded by order when counts and shapes agree, else a clear error', async () => {
    const dir = goldenCopy();
    editJson(dir, (j) => j.weightsManifest[0].weights.forEach((w: { name: string }, i: number) => (w.name = `w${i}`)));
    const byOrder = await loadLayersModel(dir);
    const reference = await loadLayersModel(GOLDEN);
    expect(((await byOrder.predict(x)) as Tensor).dataSync()).toEqual(((await reference.predict(x)) as Tensor).dataSync());
    // One weight too many.
    const dir2 = goldenCopy();
    editJson(dir2, (j) => j.weightsManifest[0].weights.push({ name: 'extra/bias', shape: [0], dtype: 'float32' }));
    expect((await loadError(dir2)).message).toMatch(/the file's weights extra\/bias match no weight of the model \(the file has 9 weights, the model 8\)/);
    // Renamed and reordered: shapes no longer fit.
    const dir3 = goldenCopy();
    editJson(dir3, (j) => {
      const w = j.weightsManifest[0].weights;
      w.forEach((s: { name: string }, i: number) => (s.name = `w${i}`));
      [w[0], w[1]] = [w[1], w[0]];
      j.weightsManifest[0].weights = w;
    });
    const e = await loadError(dir3);
    expect(e.message).toMatch(/are not in the file/);
    expect(e.message).toMatch(/taken in order, weight 0 \(w1\) has shape \[12, 36\] where the model's gru_GRU2\/kernel has \[4, 36\]/);
  });

  it('http(s) and other URL schemes are refused, for loading and saving', async () => {
    await expect(loadLayersModel('https://example.com/model.json')).rejects.toThrow(/https:\/\/ URLs are not supported \(no downloads are made/);
    await expect(loadModel('http://example.com/m')).rejects.toBeInstanceOf(ModelFileError);
    const m = sequential({ layers: [layers.dense({ units: 1, inputShape: [2] })] });
    await expect(m.save('indexeddb://my-model')).rejects.toThrow(/indexeddb:\/\/ URLs are not supported/);
    await expect(m.save('')).rejects.toThrow(TypeError);
    await expect(m.save(newDir(), { includeOptimiser: true } as never)).rejects.toThrow(/unknown option "includeOptimiser"/);
  });
});

describe('atomic saves', () => {
  beforeEach(() => {
    setBackend('js');
    setSeed(5);
  });
  afterEach(() => vi.restoreAllMocks());

  const make = (): LayersModel => sequential({ layers: [layers.gru({ units: 4, inputShape: [null, 4], name: 'g' }), layers.dense({ units: 1, name: 'd' })] });
  const predictions = async (m: LayersModel) => ((await m.predict(x)) as Tensor).dataSync();

  it('overwriting writes new weight names, removes the old ones, and leaves no temp files', async () => {
    const dir = newDir();
    const a = make();
    await a.save(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const b = make();
    await b.save(`file://${dir}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights-2.bin']);
    expect(await predictions(await loadModel(dir))).toEqual(await predictions(b));
    const c = make();
    await c.save(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    expect(await predictions(await loadModel(dir))).toEqual(await predictions(c));
    // Other files in the directory are left alone.
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    await a.save(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'notes.txt', 'weights-2.bin']);
  });

  it.each([
    ['renaming model.json', (target: string) => target.endsWith('model.json')],
    ['renaming the weights', (target: string) => target.endsWith('.bin')],
  ])('a failure while %s leaves the previous model whole and loadable', async (_what, failsOn) => {
    const dir = newDir();
    const old = make();
    await old.save(dir);
    const oldPredictions = await predictions(old);
    const before = fs.readdirSync(dir).sort();
    const realRename = fs.promises.rename;
    vi.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
      if (failsOn(String(to))) throw Object.assign(new Error('injected: disk full'), { code: 'ENOSPC' });
      return realRename(from, to);
    });
    const next = make();
    next.compile({ optimizer: 'adam', loss: 'mse' });
    await expect(next.save(dir)).rejects.toThrow(/injected: disk full/);
    vi.restoreAllMocks();
    expect(fs.readdirSync(dir).sort()).toEqual(before);
    expect(fs.readdirSync(dir).some((f) => f.startsWith(TEMP_PREFIX))).toBe(false);
    const reloaded = await loadModel(dir);
    expect(reloaded.trainer).toBeNull();
    expect(await predictions(reloaded)).toEqual(oldPredictions);
  });

  it('atomicWriteFile / atomicWriteFileSync replace a file whole and leave no temp file', async () => {
    const dir = newDir();
    fs.mkdirSync(dir);
    const file = path.join(dir, 'state.json');
    await atomicWriteFile(file, '{"a":1}');
    await atomicWriteFile(file, new Uint8Array([123, 125]));
    expect(fs.readFileSync(file, 'utf8')).toBe('{}');
    atomicWriteFileSync(file, 'sync');
    expect(fs.readFileSync(file, 'utf8')).toBe('sync');
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
    await expect(atomicWriteFile(path.join(dir, 'missing', 'x'), 'x')).rejects.toThrow(/ENOENT/);
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
  });
});

describe('files from Keras 3', () => {
  beforeEach(() => setBackend('js'));

  it('a Keras 3 functional model.json (Functional, DTypePolicy, node args/kwargs, hard_sigmoid = x/6 + 1/2) loads', async () => {
    // The same architecture built here, to produce the weights and the expected predictions.
    const inp = input({ shape: [null, 4], name: 'x_in' });
    const [seq, h] = layers.gru({ units: 3, returnSequences: true, returnState: true, recurrentActivation: 'hardSigmoidKeras3', recurrentInitializer: { name: 'orthogonal', gain: 1 }, name: 'gru' }).apply(inp) as SymbolicTensor[];
    const dec = layers.gru({ units: 3, recurrentActivation: 'hardSigmoidKeras3', recurrentInitializer: { name: 'orthogonal', gain: 1 }, name: 'gru_1' }).apply(seq, { initialState: h }) as SymbolicTensor;
    const out = layers.dense({ units: 2, name: 'dense' }).apply(dec) as SymbolicTensor;
    const ours = model({ inputs: inp, outputs: out, name: 'functional' });
    const dtype = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
    const kt = (layer: string, node: number, idx: number, shape: Array<number | null>) => ({ class_name: '__keras_tensor__', config: { shape, dtype: 'float32', keras_history: [layer, node, idx] } });
    const gruConfig = (name: string, extra: Record<string, unknown>) => ({
      name,
      trainable: true,
      dtype,
      return_sequences: false,
      return_state: false,
      go_backwards: false,
      stateful: false,
      unroll: false,
      zero_output_for_mask: false,
      units: 3,
      activation: 'tanh',
      recurrent_activation: 'hard_sigmoid',
      use_bias: true,
      kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null },
      recurrent_initializer: { module: 'keras.initializers', class_name: 'Orthogonal', config: { seed: null, gain: 1.0 }, registered_name: null },
      bias_initializer: { module: 'keras.initializers', class_name: 'Zeros', config: {}, registered_name: null },
      kernel_regularizer: null,
      recurrent_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      recurrent_constraint: null,
      bias_constraint: null,
      dropout: 0.0,
      recurrent_dropout: 0.0,
      reset_after: true,
      seed: null,
      ...extra,
    });
    const topology = {
      class_name: 'Functional',
      config: {
        name: 'functional',
        trainable: true,
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, null, 4], dtype: 'float32', sparse: false, name: 'x_in' }, registered_name: null, name: 'x_in', inbound_nodes: [] },
          { module: 'keras.layers', class_name: 'GRU', config: gruConfig('gru', { return_sequences: true, return_state: true }), registered_name: null, name: 'gru', inbound_nodes: [{ args: [kt('x_in', 0, 0, [null, null, 4])], kwargs: { training: false, mask: null } }] },
          {
            module: 'keras.layers',
            class_name: 'GRU',
            config: gruConfig('gru_1', {}),
            registered_name: null,
            name: 'gru_1',
            inbound_nodes: [{ args: [kt('gru', 0, 0, [null, null, 3])], kwargs: { initial_state: [kt('gru', 0, 1, [null, 3])], training: false, mask: null } }],
          },
          {
            module: 'keras.layers',
            class_name: 'Dense',
            config: { name: 'dense', trainable: true, dtype, units: 2, activation: 'linear', use_bias: true, kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null }, bias_initializer: { module: 'keras.initializers', class_name: 'Zeros', config: {}, registered_name: null }, kernel_regularizer: null, bias_regularizer: null, kernel_constraint: null, bias_constraint: null, lora_rank: null },
            registered_name: null,
            name: 'dense',
            inbound_nodes: [{ args: [kt('gru_1', 0, 0, [null, 3])], kwargs: {} }],
          },
        ],
        input_layers: [['x_in', 0, 0]],
        output_layers: [['dense', 0, 0]],
      },
      keras_version: '3.6.0',
      backend: 'tensorflow',
    };
    const { specs, data } = encodeWeights(namedModelWeights(ours));
    const dir = newDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'weights.bin'), data);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', generatedBy: 'keras v3.6.0', convertedBy: 'TensorFlow.js Converter v4.22.0', modelTopology: topology, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] }));
    const loaded = await loadLayersModel(`file://${dir}/model.json`);
    expect((loaded.getLayer('gru') as unknown as { recurrentActivation: string }).recurrentActivation).toBe('hardSigmoidKeras3');
    expect(loaded.getConfig()).toEqual(ours.getConfig());
    const xs = randomTensor([2, 5, 4], 9);
    expect(((await loaded.predict(xs)) as Tensor).dataSync()).toEqual(((await ours.predict(xs)) as Tensor).dataSync());
  });
});
