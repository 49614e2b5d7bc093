/**
 * PyTorch state dicts ⇄ gatedrnn models, for stacks of recurrent modules
 * (`nn.GRU`, `nn.LSTM`, `nn.RNN`, any `num_layers`, `bidirectional`) with
 * `nn.Linear` heads (and `nn.Embedding` in front).
 *
 * A state dict holds weights, not the forward pass, so the model is
 * described by a spec: the modules in the order the forward applies them,
 * each by its key prefix in the state dict, e.g. for
 *
 * ```py
 * class Net(nn.Module):                       # state dict keys:
 *     def __init__(self):
 *         self.gru = nn.GRU(1, 8)             # gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0
 *         self.gru2 = nn.GRU(8, 8, num_layers=3)  # gru2.*_l0 .. gru2.*_l2
 *         self.dense = nn.Linear(8, 1)        # dense.weight, dense.bias
 * ```
 *
 * `fromTorchStateDict(tensors, {layers: [{type: 'gru', prefix: 'gru'}, {type:
 * 'gru', prefix: 'gru2'}, {type: 'linear', prefix: 'dense'}], returnSequences: true})`.
 *
 * The mapping (documented in the README), exact except where noted:
 * - `nn.GRU` layer k, direction d → a GRU({resetAfter: true}) (PyTorch's
 *   only form): kernel = weight_ih_lk[_reverse]ᵀ and recurrentKernel =
 *   weight_hhᵀ with the gate blocks r, z, n reordered to Keras's z, r, h;
 *   bias (2, 3H) = [bias_ih; bias_hh] in the same order.
 * - `nn.LSTM` → LSTM: kernel = weight_ihᵀ, recurrentKernel = weight_hhᵀ
 *   (gate order i, f, g, o = Keras's i, f, c, o), bias = bias_ih + bias_hh
 *   (one float32 rounding; going back, bias_hh is zero). `proj_size` is not supported.
 * - `nn.RNN` → SimpleRNN with `nonlinearity` tanh or relu, bias = bias_ih + bias_hh.
 * - `bidirectional=True` → Bidirectional({mergeMode: 'concat'}) (the `_reverse`
 *   weights are the backward layer's), as PyTorch concatenates both directions.
 * - `num_layers = n` → n stacked layers; every recurrent layer but the last
 *   returns sequences. The last one returns sequences when the spec's
 *   `returnSequences` is true (the heads then apply at every step, as
 *   `linear(out)`); otherwise it returns its final hidden state — PyTorch's
 *   `h_n[-1]` (= `out[:, -1]` for a unidirectional stack), or for a
 *   bidirectional one `torch.cat((h_n[-2], h_n[-1]), 1)`.
 * - `nn.Linear` → Dense: kernel = weightᵀ, bias = bias (`activation` from the spec).
 * - `nn.Embedding` → Embedding: embeddings = weight.
 * Inputs are batch-first (B, T, F), whatever `batch_first` was.
 */
import { ModelFileError } from '../../errors.js';
import { float32Tensor, Tensor } from '../../tensor.js';
import type { Layer } from '../../layers/layer.js';
import type { ActivationIdentifier } from '../../layers/core/activations.js';
import { Activation } from '../../layers/core/activation.js';
import { Dense } from '../../layers/core/dense.js';
import { Dropout } from '../../layers/core/dropout.js';
import { Embedding } from '../../layers/core/embedding.js';
import { Bidirectional } from '../../layers/recurrent/bidirectional.js';
import { GRU } from '../../layers/recurrent/gru.js';
import { LSTM } from '../../layers/recurrent/lstm.js';
import { SimpleRNN } from '../../layers/recurrent/simpleRnn.js';
import { InputLayer } from '../../models/inputLayer.js';
import type { LayersModel } from '../../models/layersModel.js';
import { Sequential } from '../../models/sequential.js';
import { gruWeightsFromTorch, gruWeightsToTorch, lstmWeightsFromTorch, lstmWeightsToTorch } from '../torchLayout.js';
import type { TensorMap } from './safetensors.js';

/** One module of a {@link TorchModelSpec}. */
export type TorchLayerSpec =
  | {
      /** `nn.GRU`, `nn.LSTM` or `nn.RNN`; num_layers, bidirectional and sizes are read from the weights. */
      type: 'gru' | 'lstm' | 'rnn';
      /** The module's key prefix (`gru` for `gru.weight_ih_l0`); '' for keys without one. */
      prefix: string;
      /** `nn.RNN` only: 'tanh' (default) or 'relu'. */
      nonlinearity?: 'tanh' | 'relu';
    }
  | {
      /** `nn.Linear`. */
      type: 'linear';
      prefix: string;
      /** The function the forward applies after it (default 'linear': none). */
      activation?: ActivationIdentifier;
    }
  | {
      /** `nn.Embedding` (the input is then token ids, (B, T)). */
      type: 'embedding';
      prefix: string;
      /** Index 0 is padding, masked as Keras's `mask_zero` (PyTorch's `padding_idx=0` only zeroes its gradient). */
      maskZero?: boolean;
    }
  | {
      /** A function applied between modules (`torch.relu`, `nn.Tanh`, ...). */
      type: 'activation';
      activation: ActivationIdentifier;
    };

/** How a PyTorch model's modules are chained. */
export interface TorchModelSpec {
  /** The modules in the order the forward applies them. */
  layers: TorchLayerSpec[];
  /**
   * true: the last recurrent module's whole output sequence goes on (heads
   * at every step, output (B, T, out)); false (default): its final hidden
   * state (see the file header).
   */
  returnSequences?: boolean;
  /** Timesteps of the input, or null (default) for any length. */
  timesteps?: number | null;
  /**
   * The input shape without the batch dimension, when the default does not
   * fit: a first nn.Linear applied to sequences takes [timesteps, features]
   * (the default is [in_features]).
   */
  inputShape?: Array<number | null>;
  /** The model's name. */
  name?: string;
  /** Refuse state dict entries no module reads (default true, as `load_state_dict`). */
  strict?: boolean;
}

/** Buffers PyTorch keeps in state dicts that carry no weights. */
const IGNORED_KEY = /(^|\.)num_batches_tracked$/;

function key(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

class Reader {
  readonly used = new Set<string>();
  constructor(private readonly tensors: TensorMap) {}

  has(k: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.tensors, k);
  }

  get(k: string, what: string): Tensor {
    if (!this.has(k)) throw new ModelFileError(`fromTorchStateDict: ${what}: the state dict has no ${JSON.stringify(k)}`);
    const t = this.tensors[k];
    if (!(t instanceof Tensor) || t.dtype !== 'float32') throw new ModelFileError(`fromTorchStateDict: ${JSON.stringify(k)} must be a float32 Tensor`);
    this.used.add(k);
    return t;
  }

  optional(k: string, what: string): Tensor | undefined {
    return this.has(k) ? this.get(k, what) : undefined;
  }
}

function transpose2d(t: Tensor): Tensor<'float32'> {
  const [r, c] = t.shape;
  const v = t.dataSync() as Float32Array;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = v[i * c + j];
  return float32Tensor(out, [c, r]);
}

/** nn.RNN weights → SimpleRNN [kernel, recurrentKernel, bias?]. */
function rnnWeightsFromTorch(w: { weight_ih: Tensor; weight_hh: Tensor; bias_ih?: Tensor; bias_hh?: Tensor }): Tensor<'float32'>[] {
  const out = [transpose2d(w.weight_ih), transpose2d(w.weight_hh)];
  if (w.bias_ih && w.bias_hh) {
    const a = w.bias_ih.dataSync() as Float32Array, b = w.bias_hh.dataSync() as Float32Array;
    out.push(float32Tensor(a.map((v, i) => v + b[i]), [a.length]));
  }
  return out;
}

interface RecurrentModule {
  spec: Extract<TorchLayerSpec, { type: 'gru' | 'lstm' | 'rnn' }>;
  numLayers: number;
  bidirectional: boolean;
  inputSize: number;
  hidden: number;
  bias: boolean;
}

function describeRecurrent(r: Reader, spec: Extract<TorchLayerSpec, { type: 'gru' | 'lstm' | 'rnn' }>, where: string): RecurrentModule {
  const gates = spec.type === 'gru' ? 3 : spec.type === 'lstm' ? 4 : 1;
  const w0 = r.get(key(spec.prefix, 'weight_ih_l0'), where);
  if (r.has(key(spec.prefix, 'weight_hr_l0'))) throw new ModelFileError(`fromTorchStateDict: ${where}: LSTM proj_size (weight_hr_l0) is not supported`);
  if (w0.rank !== 2 || w0.shape[0] % gates !== 0) throw new ModelFileError(`fromTorchStateDict: ${where}: ${key(spec.prefix, 'weight_ih_l0')} has shape [${w0.shape.join(', ')}], expected (${gates}*hidden_size, input_size)`);
  let numLayers = 0;
  while (r.has(key(spec.prefix, `weight_ih_l${numLayers}`))) numLayers++;
  return {
    spec,
    numLayers,
    bidirectional: r.has(key(spec.prefix, 'weight_ih_l0_reverse')),
    inputSize: w0.shape[1],
    hidden: w0.shape[0] / gates,
    bias: r.has(key(spec.prefix, 'bias_ih_l0')),
  };
}

function directionWeights(r: Reader, m: RecurrentModule, layer: number, reverse: boolean, where: string): Tensor<'float32'>[] {
  const sfx = `_l${layer}${reverse ? '_reverse' : ''}`;
  const w = {
    weight_ih: r.get(key(m.spec.prefix, `weight_ih${sfx}`), where),
    weight_hh: r.get(key(m.spec.prefix, `weight_hh${sfx}`), where),
    bias_ih: m.bias ? r.get(key(m.spec.prefix, `bias_ih${sfx}`), where) : undefined,
    bias_hh: m.bias ? r.get(key(m.spec.prefix, `bias_hh${sfx}`), where) : undefined,
  };
  try {
    if (m.spec.type === 'gru') return gruWeightsFromTorch(w);
    if (m.spec.type === 'lstm') return lstmWeightsFromTorch(w);
    return rnnWeightsFromTorch(w);
  } catch (e) {
    throw new ModelFileError(`fromTorchStateDict: ${where}: ${(e as Error).message}`, { cause: e });
  }
}

function checkSpec(spec: TorchModelSpec): void {
  if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.layers) || spec.layers.length === 0) {
    throw new TypeError("fromTorchStateDict: spec must be {layers: [{type: 'gru', prefix: 'gru'}, {type: 'linear', prefix: 'fc'}, ...], returnSequences?}");
  }
  for (const k of Object.keys(spec)) if (!['layers', 'returnSequences', 'timesteps', 'inputShape', 'name', 'strict'].includes(k)) throw new TypeError(`fromTorchStateDict: unknown spec option ${JSON.stringify(k)}; the options are layers, returnSequences, timesteps, inputShape, name, strict`);
  spec.layers.forEach((l, i) => {
    if (l === null || typeof l !== 'object' || !['gru', 'lstm', 'rnn', 'linear', 'embedding', 'activation'].includes((l as { type: string }).type)) {
      throw new TypeError(`fromTorchStateDict: spec.layers[${i}].type must be 'gru', 'lstm', 'rnn', 'linear', 'embedding' or 'activation'`);
    }
    if (l.type !== 'activation' && typeof l.prefix !== 'string') throw new TypeError(`fromTorchStateDict: spec.layers[${i}] (${l.type}) needs a prefix (its key prefix in the state dict, '' for none)`);
  });
}

/** A layer name from a prefix: `encoder.gru` → `encoder_gru`. */
function nameOf(prefix: string, fallback: string, used: Set<string>): string {
  let base = (prefix === '' ? fallback : prefix).replace(/[^A-Za-z0-9_]/g, '_');
  if (/^\d/.test(base)) base = `m_${base}`;
  let name = base;
  let i = 1;
  while (used.has(name)) name = `${base}_${i++}`;
  used.add(name);
  return name;
}

/**
 * Builds a model from a PyTorch state dict (tensors by key, as
 * {@link readSafetensors} or {@link readTorchCheckpoint} give them) and a
 * spec of the modules (see the file header). Resolves to a Sequential
 * model whose predictions are the PyTorch model's.
 */
export function fromTorchStateDict(tensors: TensorMap, spec: TorchModelSpec): Sequential {
  checkSpec(spec);
  if (tensors === null || typeof tensors !== 'object') throw new TypeError('fromTorchStateDict: expected the state dict as an object of tensors by key');
  const r = new Reader(tensors);
  const used = new Set<string>();
  const built: Array<{ layer: Layer; weights: Tensor[] }> = [];
  const recurrentIdx = spec.layers.map((l, i) => (l.type === 'gru' || l.type === 'lstm' || l.type === 'rnn' ? i : -1)).filter((i) => i >= 0);
  const lastRecurrent = recurrentIdx.length > 0 ? recurrentIdx[recurrentIdx.length - 1] : -1;
  let inputShape: Array<number | null> | null = null;
  const timesteps = spec.timesteps === undefined ? null : spec.timesteps;
  spec.layers.forEach((l, i) => {
    const where = `spec.layers[${i}] (${l.type}${l.type !== 'activation' ? ` ${JSON.stringify(l.prefix)}` : ''})`;
    const first = built.length === 0;
    if (l.type === 'activation') {
      built.push({ layer: new Activation({ activation: l.activation, name: nameOf('', 'activation', used) }), weights: [] });
      return;
    }
    if (l.type === 'embedding') {
      const w = r.get(key(l.prefix, 'weight'), where);
      const shape = spec.inputShape ?? [timesteps];
      if (first) inputShape = shape;
      const layer = new Embedding({ inputDim: w.shape[0], outputDim: w.shape[1], maskZero: l.maskZero ?? false, name: nameOf(l.prefix, 'embedding', used), ...(first ? { inputShape: shape } : {}) });
      built.push({ layer, weights: [w] });
      return;
    }
    if (l.type === 'linear') {
      const w = r.get(key(l.prefix, 'weight'), where);
      if (w.rank !== 2) throw new ModelFileError(`fromTorchStateDict: ${where}: ${key(l.prefix, 'weight')} must be (out_features, in_features)`);
      const b = r.optional(key(l.prefix, 'bias'), where);
      const shape = spec.inputShape ?? [w.shape[1]];
      if (first) inputShape = shape;
      const layer = new Dense({ units: w.shape[0], activation: l.activation ?? 'linear', useBias: b !== undefined, name: nameOf(l.prefix, 'linear', used), ...(first ? { inputShape: shape } : {}) });
      built.push({ layer, weights: b ? [transpose2d(w), b] : [transpose2d(w)] });
      return;
    }
    const m = describeRecurrent(r, l, where);
    if (l.type !== 'rnn' && l.nonlinearity !== undefined) throw new TypeError(`fromTorchStateDict: ${where}: nonlinearity is an nn.RNN option`);
    for (let k = 0; k < m.numLayers; k++) {
      const returnSequences = i !== lastRecurrent || k < m.numLayers - 1 || spec.returnSequences === true;
      const isFirst = built.length === 0;
      const shape = spec.inputShape ?? [timesteps, m.inputSize];
      if (isFirst) inputShape = shape;
      const base = { units: m.hidden, returnSequences, useBias: m.bias };
      const inputArgs = isFirst ? { inputShape: shape } : {};
      const make = (name: string, extra: Record<string, unknown>): GRU | LSTM | SimpleRNN =>
        l.type === 'gru' ? new GRU({ ...base, ...extra, resetAfter: true, name }) : l.type === 'lstm' ? new LSTM({ ...base, ...extra, name }) : new SimpleRNN({ ...base, ...extra, activation: l.nonlinearity ?? 'tanh', name });
      const name = nameOf(m.numLayers > 1 ? `${l.prefix}_l${k}` : l.prefix, l.type, used);
      const weights = directionWeights(r, m, k, false, where);
      if (m.bidirectional) {
        const layer = new Bidirectional({ layer: make(name, {}), mergeMode: 'concat', name, ...inputArgs });
        built.push({ layer, weights: [...weights, ...directionWeights(r, m, k, true, where)] });
      } else built.push({ layer: make(name, inputArgs), weights });
    }
  });
  if (spec.strict !== false) {
    const unused = Object.keys(tensors).filter((k) => !r.used.has(k) && !IGNORED_KEY.test(k));
    if (unused.length > 0) throw new ModelFileError(`fromTorchStateDict: the state dict has entries no module of the spec reads: ${unused.slice(0, 10).join(', ')}${unused.length > 10 ? `, ... (${unused.length})` : ''}; add their modules to the spec, or pass strict: false`);
  }
  if (inputShape === null) throw new TypeError('fromTorchStateDict: the spec has no module with weights');
  const model = new Sequential({ name: spec.name, layers: built.map((b) => b.layer) });
  for (const { layer, weights } of built) {
    if (weights.length === 0) continue;
    try {
      layer.setWeights(weights);
    } catch (e) {
      throw new ModelFileError(`fromTorchStateDict: layer ${layer.name}: ${(e as Error).message}`, { cause: e });
    }
  }
  return model;
}

// ---------------------------------------------------------------- to PyTorch

function layerClass(layer: Layer): string {
  return (layer.constructor as unknown as { className?: string }).className ?? layer.constructor.name;
}

function refuse(layer: Layer, why: string): never {
  throw new TypeError(`toTorchStateDict: layer ${JSON.stringify(layer.name)} (class ${layerClass(layer)}): ${why}`);
}

/** The model's layers as a chain (each reads the one before), without InputLayers. */
function chain(model: LayersModel): Layer[] {
  const layers = model.layers.filter((l) => !(l instanceof InputLayer));
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new TypeError('toTorchStateDict: only models with one input and one output (a chain of layers) map onto a PyTorch module stack');
  let prev = model.inputs[0];
  for (const l of layers) {
    const nodes = l.inboundNodes.filter((n) => n.inputs.length > 0);
    const node = nodes.find((n) => n.inputs[0] === prev);
    if (!node || node.inputs.length !== 1 || node.outputs.length !== 1) refuse(l, 'the model is not a plain chain of layers (one input each, no states passed between layers)');
    prev = node.outputs[0];
  }
  if (prev !== model.outputs[0]) throw new TypeError('toTorchStateDict: the model is not a plain chain of layers');
  return layers;
}

function checkTorchRecurrent(layer: GRU | LSTM | SimpleRNN, outer: Layer): void {
  if (layer.goBackwards) refuse(outer, 'goBackwards has no PyTorch equivalent (use a Bidirectional)');
  if (layer.returnState) refuse(outer, 'returnState: the PyTorch stack passes only outputs between modules');
  if (layer instanceof GRU) {
    if (!layer.resetAfter) refuse(outer, 'resetAfter: false (the original GRU form) has no PyTorch equivalent: nn.GRU applies the reset gate after the recurrent matmul');
    if (layer.recurrentActivation !== 'sigmoid' || layer.activation !== 'tanh') refuse(outer, `nn.GRU computes sigmoid gates and a tanh candidate, the layer has ${layer.recurrentActivation} and ${layer.activation}`);
  } else if (layer instanceof LSTM) {
    if (layer.recurrentActivation !== 'sigmoid' || layer.activation !== 'tanh') refuse(outer, `nn.LSTM computes sigmoid gates and tanh, the layer has ${layer.recurrentActivation} and ${layer.activation}`);
  } else if (layer.activation !== 'tanh' && layer.activation !== 'relu') refuse(outer, `nn.RNN's nonlinearity is tanh or relu, the layer has ${layer.activation}`);
}

function recurrentToTorch(layer: GRU | LSTM | SimpleRNN, prefix: string, sfx: string, out: TensorMap): void {
  const w = layer.getWeights();
  let t;
  if (layer instanceof GRU) t = gruWeightsToTorch(w);
  else if (layer instanceof LSTM) t = lstmWeightsToTorch(w);
  else {
    t = { weight_ih: transpose2d(w[0]), weight_hh: transpose2d(w[1]), ...(w[2] ? { bias_ih: float32Tensor((w[2].dataSync() as Float32Array).slice(), [...w[2].shape]), bias_hh: float32Tensor(new Float32Array(w[2].size), [...w[2].shape]) } : {}) };
  }
  out[key(prefix, `weight_ih_l0${sfx}`)] = t.weight_ih;
  out[key(prefix, `weight_hh_l0${sfx}`)] = t.weight_hh;
  if (t.bias_ih && t.bias_hh) {
    out[key(prefix, `bias_ih_l0${sfx}`)] = t.bias_ih;
    out[key(prefix, `bias_hh_l0${sfx}`)] = t.bias_hh;
  }
}

/**
 * The spec that {@link fromTorchStateDict} needs to rebuild this model from
 * {@link toTorchStateDict}'s state dict: one module per layer, named by the
 * layer (each recurrent layer a one-layer module).
 */
export function torchSpecOf(model: LayersModel): TorchModelSpec {
  const layers: TorchLayerSpec[] = [];
  let returnSequences = false;
  for (const l of chain(model)) {
    if (l instanceof Dropout) continue;
    if (l instanceof GRU || l instanceof LSTM || l instanceof SimpleRNN || l instanceof Bidirectional) {
      const inner = (l instanceof Bidirectional ? l.forwardLayer : l) as GRU | LSTM | SimpleRNN;
      if (l instanceof Bidirectional && !(inner instanceof GRU || inner instanceof LSTM || inner instanceof SimpleRNN)) refuse(l, 'only GRU, LSTM and SimpleRNN map onto PyTorch modules');
      if (l instanceof Bidirectional && l.mergeMode !== 'concat') refuse(l, `PyTorch concatenates both directions; mergeMode ${JSON.stringify(l.mergeMode)} has no equivalent`);
      checkTorchRecurrent(inner, l);
      layers.push(inner instanceof SimpleRNN ? { type: 'rnn', prefix: l.name, nonlinearity: inner.activation as 'tanh' | 'relu' } : { type: inner instanceof GRU ? 'gru' : 'lstm', prefix: l.name });
      returnSequences = inner.returnSequences;
    } else if (l instanceof Dense) layers.push({ type: 'linear', prefix: l.name, ...(l.activation !== 'linear' ? { activation: l.activation } : {}) });
    else if (l instanceof Embedding) layers.push({ type: 'embedding', prefix: l.name, ...(l.maskZero ? { maskZero: true } : {}) });
    else if (l instanceof Activation) layers.push({ type: 'activation', activation: l.activation });
    else refuse(l, 'this layer class has no PyTorch module here (GRU, LSTM, SimpleRNN, Bidirectional, Dense, Embedding, Activation, Dropout do)');
  }
  return { layers, returnSequences, inputShape: model.inputs[0].shape.slice(1), name: model.name };
}

/**
 * The model's weights as a PyTorch state dict (see the file header for the
 * mapping; each layer a module named by the layer: `gru.weight_ih_l0`,
 * `gru.weight_ih_l0_reverse`, `dense.weight`). Write it with
 * {@link writeSafetensors}; {@link torchSpecOf} gives the spec to load it back.
 */
export function toTorchStateDict(model: LayersModel): TensorMap {
  const spec = torchSpecOf(model);
  const out: TensorMap = {};
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  for (const s of spec.layers) {
    if (s.type === 'activation') continue;
    const l = byName.get(s.prefix) as Layer;
    if (l instanceof Bidirectional) {
      recurrentToTorch(l.forwardLayer as GRU, s.prefix, '', out);
      recurrentToTorch(l.backwardLayer as GRU, s.prefix, '_reverse', out);
    } else if (l instanceof GRU || l instanceof LSTM || l instanceof SimpleRNN) recurrentToTorch(l, s.prefix, '', out);
    else if (l instanceof Dense) {
      const [k, b] = l.getWeights();
      out[key(s.prefix, 'weight')] = transpose2d(k);
      if (b) out[key(s.prefix, 'bias')] = float32Tensor((b.dataSync() as Float32Array).slice(), [...b.shape]);
    } else if (l instanceof Embedding) {
      const [e] = l.getWeights();
      out[key(s.prefix, 'weight')] = float32Tensor((e.dataSync() as Float32Array).slice(), [...e.shape]);
    }
  }
  return out;
}
