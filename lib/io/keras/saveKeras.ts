/**
 * `model.saveKeras(path)`: a Keras 3 `.keras` archive, laid out as Keras
 * 3.14's `saving_lib` writes it, so that `keras.saving.load_model` reads it
 * (and `loadKerasModel` here):
 *
 * - a zip (entries stored) of `metadata.json` (`keras_version`,
 *   `date_saved`), `config.json` and `model.weights.h5`;
 * - `config.json`: `{module, class_name, config, registered_name,
 *   build_config, compile_config?}`; Sequential models list an InputLayer
 *   (`batch_shape`) then their layers, functional ones (`Functional`) their
 *   layers with `inbound_nodes` as `{args: [__keras_tensor__ ...], kwargs}`;
 *   each layer `{module: 'keras.layers', class_name, config,
 *   registered_name: null, build_config}` with exactly the config keys
 *   Keras 3's constructors take (initializers and regularizers as
 *   `{module, class_name, config, registered_name}`, dtype as a
 *   DTypePolicy);
 * - `model.weights.h5`: a root `vars` group, and for layer i the group
 *   `layers/<snake_case class name, numbered per class>` with its `vars`
 *   (attribute `name`) and the groups of what it holds: `cell/vars` of a
 *   GRU/LSTM/SimpleRNN (kernel, recurrent kernel, bias), `forward_layer/...`
 *   and `backward_layer/...` of a Bidirectional, `layer/vars` of a
 *   TimeDistributed. Optimizer state is not written (Keras then starts
 *   the optimizer afresh).
 *
 * Refused (naming the layer and the option): what Keras 3 cannot compute
 * the same way — the Keras 2 / tfjs hard sigmoid clip(0.2x + 0.5) (Keras 3's
 * `hard_sigmoid` is clip(x/6 + 0.5)), `geluNew`, layers.rnn with cells,
 * and user layers.
 */
import { ModelFileError } from '../../errors.js';
import type { Layer } from '../../layers/layer.js';
import type { Node, SymbolicTensor } from '../../layers/symbolic.js';
import type { InitializerConfig } from '../../layers/initializers.js';
import { Activation } from '../../layers/core/activation.js';
import { BatchNormalization } from '../../layers/core/batchNormalization.js';
import { Concatenate } from '../../layers/core/concatenate.js';
import { Dense } from '../../layers/core/dense.js';
import { Dropout } from '../../layers/core/dropout.js';
import { Embedding } from '../../layers/core/embedding.js';
import { Flatten } from '../../layers/core/flatten.js';
import { LayerNormalization } from '../../layers/core/layerNormalization.js';
import { Masking } from '../../layers/core/masking.js';
import { Permute } from '../../layers/core/permute.js';
import { RepeatVector } from '../../layers/core/repeatVector.js';
import { Reshape } from '../../layers/core/reshape.js';
import { TimeDistributed } from '../../layers/core/timeDistributed.js';
import { Bidirectional } from '../../layers/recurrent/bidirectional.js';
import { GRU } from '../../layers/recurrent/gru.js';
import { LSTM } from '../../layers/recurrent/lstm.js';
import { SimpleRNN } from '../../layers/recurrent/simpleRnn.js';
import { InputLayer } from '../../models/inputLayer.js';
import type { LayersModel } from '../../models/layersModel.js';
import { version } from '../../version.js';
import { strToU8, zipSync } from 'fflate';
import { atomicWriteFile } from '../atomicWrite.js';
import { trainingConfig } from '../modelConfig.js';
import { buildHdf5, type H5Group } from './hdf5.js';
import { KERAS_CONFIG, KERAS_METADATA, KERAS_WEIGHTS, kerasLayerPaths } from './kerasArchive.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Dict = { [key: string]: Json };

/** The Keras version whose format is written (metadata.json's keras_version). */
export const KERAS_FORMAT_VERSION = '3.14.0';

function className(layer: Layer): string {
  return (layer.constructor as unknown as { className?: string }).className ?? layer.constructor.name;
}

function refuse(layer: Layer, option: string, why: string): never {
  throw new ModelFileError(`saveKeras: layer ${JSON.stringify(layer.name)} (class ${className(layer)}): ${option ? `option ${JSON.stringify(option)}: ` : ''}${why}`);
}

const DTYPE_POLICY: Dict = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

function serialized(module: string, cls: string, config: Dict): Dict {
  return { module, class_name: cls, config, registered_name: null };
}

function initializer(c: InitializerConfig): Dict {
  const cfg = (keys: Array<keyof InitializerConfig>): Dict => {
    const out: Dict = { seed: null };
    for (const k of keys) if (c[k] !== undefined) out[k] = c[k] as number;
    return out;
  };
  const map: Record<string, [string, Dict]> = {
    zeros: ['Zeros', {}],
    ones: ['Ones', {}],
    glorotUniform: ['GlorotUniform', { seed: null }],
    glorotNormal: ['GlorotNormal', { seed: null }],
    heUniform: ['HeUniform', { seed: null }],
    heNormal: ['HeNormal', { seed: null }],
    lecunUniform: ['LecunUniform', { seed: null }],
    lecunNormal: ['LecunNormal', { seed: null }],
    orthogonal: ['Orthogonal', { ...cfg([]), gain: c.gain ?? 1 }],
    randomNormal: ['RandomNormal', { mean: c.mean ?? 0, stddev: c.stddev ?? 0.05, seed: null }],
    truncatedNormal: ['TruncatedNormal', { mean: c.mean ?? 0, stddev: c.stddev ?? 0.05, seed: null }],
    randomUniform: ['RandomUniform', { minval: c.minval ?? -0.05, maxval: c.maxval ?? 0.05, seed: null }],
  };
  const m = map[c.name];
  if (!m) throw new TypeError(`saveKeras: initializer ${JSON.stringify(c)} has no Keras 3 form`);
  return serialized('keras.initializers', m[0], m[1]);
}

function regularizer(r: { l1: number; l2: number } | null): Json {
  return r === null ? null : serialized('keras.regularizers', 'L1L2', { l1: r.l1, l2: r.l2 });
}

/** Our activation name → Keras 3's. */
function activation(a: string, layer: Layer, option: string): string {
  const names: Record<string, string> = {
    linear: 'linear',
    relu: 'relu',
    relu6: 'relu6',
    leakyRelu: 'leaky_relu',
    elu: 'elu',
    selu: 'selu',
    sigmoid: 'sigmoid',
    hardSigmoidKeras3: 'hard_sigmoid',
    tanh: 'tanh',
    softmax: 'softmax',
    logSoftmax: 'log_softmax',
    softplus: 'softplus',
    softsign: 'softsign',
    swish: 'swish',
    silu: 'silu',
    hardSilu: 'hard_silu',
    hardSwish: 'hard_swish',
    mish: 'mish',
    gelu: 'gelu',
    exponential: 'exponential',
  };
  const n = names[a];
  if (n) return n;
  if (a === 'hardSigmoid') refuse(layer, option, "'hardSigmoid' is clip(0.2x + 0.5) (Keras 2, tfjs); Keras 3 has no such activation (its hard_sigmoid is clip(x/6 + 0.5)): a Keras 3 file cannot hold this model exactly");
  return refuse(layer, option, `activation ${JSON.stringify(a)} has no Keras 3 equivalent`);
}

function base(layer: Layer): Dict {
  return { name: layer.name, trainable: layer.trainable, dtype: DTYPE_POLICY };
}

function recurrentConfig(l: GRU | LSTM | SimpleRNN, outer: Layer, name = l.name): Dict {
  const c: Dict = {
    ...base(l),
    name,
    return_sequences: l.returnSequences,
    return_state: l.returnState,
    go_backwards: l.goBackwards,
    stateful: l.stateful,
    unroll: false,
    zero_output_for_mask: outer instanceof Bidirectional,
    units: l.units,
    activation: activation(l.activation, outer, 'activation'),
  };
  if (!(l instanceof SimpleRNN)) c.recurrent_activation = activation(l.recurrentActivation, outer, 'recurrentActivation');
  c.use_bias = l.useBias;
  if (l instanceof LSTM) c.unit_forget_bias = l.unitForgetBias;
  Object.assign(c, {
    kernel_initializer: initializer(l.kernelInitializer),
    recurrent_initializer: initializer(l.recurrentInitializer),
    bias_initializer: initializer(l.biasInitializer),
    kernel_regularizer: regularizer(l.kernelRegularizer),
    recurrent_regularizer: regularizer(l.recurrentRegularizer),
    bias_regularizer: regularizer(l.biasRegularizer),
    activity_regularizer: null,
    kernel_constraint: null,
    recurrent_constraint: null,
    bias_constraint: null,
    dropout: l.dropout,
    recurrent_dropout: l.recurrentDropout,
  });
  if (l instanceof GRU) c.reset_after = l.resetAfter;
  c.seed = l.seed ?? null;
  return c;
}

/** `{class_name, config}` of one layer (Keras 3 config keys only). */
function layerEntry(layer: Layer, inputShape: Json): Dict {
  const entry = (cls: string, config: Dict, withBuild = true): Dict => ({ ...serialized('keras.layers', cls, config), ...(withBuild && inputShape !== null ? { build_config: { input_shape: inputShape } } : {}) });
  if (layer instanceof GRU) return entry('GRU', recurrentConfig(layer, layer));
  if (layer instanceof LSTM) return entry('LSTM', recurrentConfig(layer, layer));
  if (layer instanceof SimpleRNN) return entry('SimpleRNN', recurrentConfig(layer, layer));
  if (layer instanceof Bidirectional) {
    const f = layer.forwardLayer, b = layer.backwardLayer;
    if (!(f instanceof GRU || f instanceof LSTM || f instanceof SimpleRNN) || !(b instanceof GRU || b instanceof LSTM || b instanceof SimpleRNN)) return refuse(layer, 'layer', 'only GRU, LSTM and SimpleRNN can be saved inside a Bidirectional');
    const cls = className(f);
    const innerName = f.name.replace(/^forward_/, '');
    return entry('Bidirectional', {
      ...base(layer),
      merge_mode: layer.mergeMode,
      layer: { ...serialized('keras.layers', cls, recurrentConfig(f, layer, innerName)), build_config: { input_shape: inputShape } },
      backward_layer: { ...serialized('keras.layers', cls, recurrentConfig(b, layer, b.name)), build_config: { input_shape: inputShape } },
    });
  }
  if (layer instanceof Dense) {
    return entry('Dense', {
      ...base(layer),
      units: layer.units,
      activation: activation(layer.activation, layer, 'activation'),
      use_bias: layer.useBias,
      kernel_initializer: initializer(layer.kernelInitializer),
      bias_initializer: initializer(layer.biasInitializer),
      kernel_regularizer: regularizer(layer.kernelRegularizer),
      bias_regularizer: regularizer(layer.biasRegularizer),
      kernel_constraint: null,
      bias_constraint: null,
    });
  }
  if (layer instanceof Embedding) {
    return entry('Embedding', {
      ...base(layer),
      input_dim: layer.inputDim,
      output_dim: layer.outputDim,
      embeddings_initializer: initializer(layer.embeddingsInitializer),
      embeddings_regularizer: regularizer(layer.embeddingsRegularizer),
      activity_regularizer: null,
      embeddings_constraint: null,
      mask_zero: layer.maskZero,
    });
  }
  if (layer instanceof BatchNormalization) {
    return entry('BatchNormalization', {
      ...base(layer),
      axis: layer.axis,
      momentum: layer.momentum,
      epsilon: layer.epsilon,
      center: layer.center,
      scale: layer.scale,
      beta_initializer: initializer(layer.betaInitializer),
      gamma_initializer: initializer(layer.gammaInitializer),
      moving_mean_initializer: initializer(layer.movingMeanInitializer),
      moving_variance_initializer: initializer(layer.movingVarianceInitializer),
      beta_regularizer: regularizer(layer.betaRegularizer),
      gamma_regularizer: regularizer(layer.gammaRegularizer),
      beta_constraint: null,
      gamma_constraint: null,
    });
  }
  if (layer instanceof LayerNormalization) {
    const c: Dict = { ...base(layer), axis: layer.axis as Json, epsilon: layer.epsilon, center: layer.center, scale: layer.scale };
    if (layer.rmsScaling) c.rms_scaling = true;
    Object.assign(c, {
      beta_initializer: initializer(layer.betaInitializer),
      gamma_initializer: initializer(layer.gammaInitializer),
      beta_regularizer: regularizer(layer.betaRegularizer),
      gamma_regularizer: regularizer(layer.gammaRegularizer),
      beta_constraint: null,
      gamma_constraint: null,
    });
    return entry('LayerNormalization', c);
  }
  if (layer instanceof Dropout) return entry('Dropout', { ...base(layer), rate: layer.rate, seed: layer.seed ?? null, noise_shape: (layer.noiseShape as Json) ?? null }, false);
  if (layer instanceof Masking) return entry('Masking', { ...base(layer), mask_value: layer.maskValue }, false);
  if (layer instanceof Activation) return entry('Activation', { ...base(layer), activation: activation(layer.activation, layer, 'activation') }, false);
  if (layer instanceof Flatten) return entry('Flatten', { ...base(layer), data_format: layer.dataFormat === 'channelsFirst' ? 'channels_first' : 'channels_last' }, false);
  if (layer instanceof Reshape) return entry('Reshape', { ...base(layer), target_shape: layer.targetShape }, false);
  if (layer instanceof Permute) return entry('Permute', { ...base(layer), dims: layer.dims }, false);
  if (layer instanceof RepeatVector) return entry('RepeatVector', { ...base(layer), n: layer.n }, false);
  if (layer instanceof Concatenate) return entry('Concatenate', { ...base(layer), axis: layer.axis }, false);
  if (layer instanceof TimeDistributed) {
    const inner = layer.layer;
    const innerShape = Array.isArray(inputShape) ? [inputShape[0], ...inputShape.slice(2)] : null;
    const innerEntry = layerEntry(inner, innerShape as Json);
    return entry('TimeDistributed', { ...base(layer), layer: innerEntry });
  }
  return refuse(layer, '', 'this layer class cannot be saved in a Keras 3 file (supported: GRU, LSTM, SimpleRNN, Bidirectional, Dense, Embedding, Dropout, BatchNormalization, LayerNormalization, Masking, Activation, Flatten, Reshape, Permute, RepeatVector, Concatenate, TimeDistributed)');
}

function shapeJson(shape: ReadonlyArray<number | null>): Json {
  return [...shape];
}

function inputLayerEntry(input: InputLayer, shape: ReadonlyArray<number | null>): Dict {
  return serialized('keras.layers', 'InputLayer', { batch_shape: shapeJson(shape), dtype: input.dtype, sparse: false, name: input.name });
}

/** The nodes of the model, by layer, as Keras numbers them (only this model's nodes). */
function modelNodes(model: LayersModel): { nodes: Node[]; index: Map<Node, number> } {
  const graph = (model as unknown as { requireGraph(w: string): { nodes: Node[] } }).requireGraph('saveKeras');
  const nodes = graph.nodes;
  const own = new Set(nodes);
  const index = new Map<Node, number>();
  for (const layer of model.layers) {
    let k = 0;
    for (const n of layer.inboundNodes) if (own.has(n)) index.set(n, k++);
  }
  for (const s of model.inputs) index.set(s.node, 0);
  return { nodes, index };
}

function kerasTensor(s: SymbolicTensor, index: Map<Node, number>): Dict {
  return { class_name: '__keras_tensor__', config: { shape: shapeJson(s.shape), dtype: s.dtype === 'int32' ? 'int32' : 'float32', keras_history: [s.sourceLayer.name, index.get(s.node) ?? 0, s.outputIndex] } };
}

/** config.json's model object. */
function modelJson(model: LayersModel): Dict {
  const isSequential = (model.constructor as unknown as { className: string }).className === 'Sequential';
  const inputs = model.inputs;
  const compile = compileConfig(model);
  if (isSequential) {
    const input = inputs[0].sourceLayer as InputLayer;
    const layers = model.layers.filter((l) => !(l instanceof InputLayer));
    const entries: Dict[] = [inputLayerEntry(input, inputs[0].shape)];
    let shape: ReadonlyArray<number | null> = inputs[0].shape;
    for (const l of layers) {
      entries.push(layerEntry(l, shapeJson(shape)));
      const node = l.inboundNodes.find((n) => n.inputs.length > 0);
      shape = node ? node.outputs[0].shape : shape;
    }
    return {
      module: 'keras',
      class_name: 'Sequential',
      config: { name: model.name, trainable: true, dtype: DTYPE_POLICY, layers: entries, build_input_shape: shapeJson(inputs[0].shape) },
      registered_name: null,
      build_config: { input_shape: shapeJson(inputs[0].shape) },
      ...(compile ? { compile_config: compile } : {}),
    };
  }
  const { nodes, index } = modelNodes(model);
  const own = new Set(nodes);
  const entries: Dict[] = model.layers.map((layer) => {
    if (layer instanceof InputLayer) {
      const s = inputs.find((x) => x.sourceLayer === layer) as SymbolicTensor;
      return { ...inputLayerEntry(layer, s.shape), name: layer.name, inbound_nodes: [] };
    }
    const inbound = layer.inboundNodes.filter((n) => own.has(n) && n.inputs.length > 0);
    const first = inbound[0];
    const inShape = first ? (first.inputs.length === 1 || !(layer instanceof Concatenate) ? shapeJson(first.inputs[0].shape) : first.inputs.map((s) => shapeJson(s.shape))) : null;
    const entry = layerEntry(layer, layer instanceof Concatenate ? null : inShape);
    const inboundNodes = inbound.map((n): Dict => {
      const tensors = n.inputs.map((s) => kerasTensor(s, index));
      const recurrent = layer instanceof GRU || layer instanceof LSTM || layer instanceof SimpleRNN || layer instanceof Bidirectional;
      if (recurrent && tensors.length > 1) return { args: [tensors[0]], kwargs: { initial_state: tensors.slice(1) } };
      if (layer instanceof Concatenate) return { args: [tensors], kwargs: {} };
      if (tensors.length > 1) refuse(layer, '', 'a layer applied to several tensors cannot be saved');
      return { args: [tensors[0]], kwargs: {} };
    });
    return { ...entry, name: layer.name, inbound_nodes: inboundNodes };
  });
  const ref = (s: SymbolicTensor): Json => [s.sourceLayer.name, index.get(s.node) ?? 0, s.outputIndex];
  const outputs = model.outputs;
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: model.name,
      trainable: true,
      layers: entries,
      input_layers: inputs.length === 1 ? ref(inputs[0]) : inputs.map(ref),
      output_layers: outputs.length === 1 ? ref(outputs[0]) : outputs.map(ref),
    },
    registered_name: 'Functional',
    build_config: { input_shape: null },
    ...(compile ? { compile_config: compile } : {}),
  };
}

const OPTIMIZER_KEYS: Record<string, string> = {
  learningRate: 'learning_rate',
  beta1: 'beta_1',
  beta2: 'beta_2',
  epsilon: 'epsilon',
  amsgrad: 'amsgrad',
  rho: 'rho',
  momentum: 'momentum',
  centered: 'centered',
  nesterov: 'nesterov',
  initialAccumulatorValue: 'initial_accumulator_value',
  weightDecay: 'weight_decay',
  clipnorm: 'clipnorm',
  clipNorm: 'clipnorm',
  clipvalue: 'clipvalue',
  clipValue: 'clipvalue',
  globalClipnorm: 'global_clipnorm',
};

/** Keras 3's compile_config from the model's compile settings (null when not compiled). */
function compileConfig(model: LayersModel): Dict | null {
  const tc = trainingConfig(model);
  if (!tc) return null;
  const opt = tc.optimizer_config as { class_name: string; config: Record<string, Json> };
  const cls = opt.class_name === 'RMSProp' ? 'RMSprop' : opt.class_name === 'Momentum' ? 'SGD' : opt.class_name;
  const config: Dict = { name: cls.toLowerCase() };
  for (const [k, v] of Object.entries(opt.config)) {
    const key = OPTIMIZER_KEYS[k];
    if (key && (typeof v === 'number' || typeof v === 'boolean')) config[key] = v;
  }
  if (opt.class_name === 'Momentum' && config.momentum === undefined) config.momentum = 0.9;
  return {
    optimizer: serialized('keras.optimizers', cls, config),
    loss: tc.loss,
    loss_weights: (tc.loss_weights as Json) ?? null,
    metrics: tc.metrics ?? null,
    weighted_metrics: null,
    run_eagerly: false,
    steps_per_execution: 1,
    jit_compile: false,
  };
}

/** The (path, name, weights) groups of one layer's variables, as Keras's saving walk visits them. */
function layerVarGroups(layer: Layer, path: string): Array<{ path: string; name: string; weights: Float32Array[]; shapes: number[][] }> {
  const own = (l: Layer): { weights: Float32Array[]; shapes: number[][] } => {
    const w = l.built ? l.getWeights() : [];
    return { weights: w.map((t) => t.dataSync() as Float32Array), shapes: w.map((t) => [...t.shape]) };
  };
  const none = { weights: [], shapes: [] };
  if (layer instanceof GRU || layer instanceof LSTM || layer instanceof SimpleRNN) {
    const cell = `${className(layer) === 'SimpleRNN' ? 'simple_rnn' : className(layer).toLowerCase()}_cell`;
    return [{ path, name: layer.name, ...none }, { path: `${path}/cell`, name: cell, ...own(layer) }];
  }
  if (layer instanceof Bidirectional) {
    return [{ path, name: layer.name, ...none }, ...layerVarGroups(layer.forwardLayer, `${path}/forward_layer`), ...layerVarGroups(layer.backwardLayer, `${path}/backward_layer`)];
  }
  if (layer instanceof TimeDistributed) return [{ path, name: layer.name, ...none }, ...layerVarGroups(layer.layer, `${path}/layer`)];
  return [{ path, name: layer.name, ...own(layer) }];
}

/** The bytes of model.weights.h5. */
async function weightsH5(model: LayersModel, layers: Layer[]): Promise<Uint8Array> {
  const paths = kerasLayerPaths(layers.map(className));
  return buildHdf5((file) => {
    const ensure = (p: string): H5Group => {
      let g: H5Group = file;
      for (const part of p.split('/')) g = (g.keys().includes(part) ? g.get(part) : g.create_group(part)) as H5Group;
      return g;
    };
    ensure('layers');
    layers.forEach((layer, i) => {
      for (const grp of layerVarGroups(layer, `layers/${paths[i]}`)) {
        const vars = ensure(`${grp.path}/vars`);
        vars.create_attribute('name', grp.name);
        grp.weights.forEach((w, k) => vars.create_dataset({ name: String(k), data: w, shape: grp.shapes[k], dtype: '<f' }));
      }
    });
    ensure('vars').create_attribute('name', model.name);
  });
}

/** The bytes of a `.keras` archive holding the model. */
export async function modelToKeras(model: LayersModel): Promise<Uint8Array> {
  const config = modelJson(model);
  const isSequential = config.class_name === 'Sequential';
  const layers = isSequential ? model.layers.filter((l) => !(l instanceof InputLayer)) : model.layers;
  for (const l of model.layers) {
    for (const w of l.built ? l.getWeights() : []) {
      const v = w.dataSync() as Float32Array;
      for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new RangeError(`saveKeras: layer ${l.name} has a non-finite weight (${v[i]}); a model with non-finite weights is not saved`);
    }
  }
  const weights = await weightsH5(model, layers);
  const now = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  const metadata = { keras_version: KERAS_FORMAT_VERSION, date_saved: `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}@${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`, generated_by: `gatedrnn ${version}` };
  return zipSync(
    {
      [KERAS_METADATA]: strToU8(JSON.stringify(metadata)),
      [KERAS_CONFIG]: strToU8(JSON.stringify(config)),
      [KERAS_WEIGHTS]: weights,
    },
    { level: 0, mtime: new Date('1980-01-01T00:00:00') },
  );
}

/**
 * Saves the model as a Keras 3 `.keras` file (atomically: a reader sees the
 * old file or the new one). See the file header for the layout.
 */
export async function saveKeras(model: LayersModel, path: string): Promise<{ path: string; bytes: number }> {
  if (typeof path !== 'string' || path === '') throw new TypeError('saveKeras: expected a file path like "model.keras"');
  const bytes = await modelToKeras(model);
  await atomicWriteFile(path, bytes);
  return { path, bytes: bytes.length };
}
