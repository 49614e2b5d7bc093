/**
 * `model.exportOnnx(path)`: the model as an ONNX graph (opset 17, IR 8) for
 * inference elsewhere (onnxruntime, TensorRT, ...), built with protobufjs.
 *
 * Inputs and outputs keep Keras's layout, batch first: (B, T, F) sequences.
 * Layer by layer:
 * - GRU → ONNX `GRU` (`linear_before_reset` = resetAfter; Keras's gate
 *   blocks z | r | h are ONNX's, so W = kernelᵀ, R = recurrentKernelᵀ,
 *   B = [input bias, recurrent bias], the recurrent bias 0 for the original
 *   form, which adds its bias once); LSTM → `LSTM` (Keras blocks i | f | c | o
 *   reordered to ONNX's i | o | f | c, bias in Wb, Rb 0); SimpleRNN → `RNN`.
 *   The sequence is transposed to ONNX's time-major layout and back;
 *   `goBackwards` is `direction: reverse` with the outputs put back in the
 *   order Keras computes them; Bidirectional is `direction: bidirectional`
 *   merged as its mergeMode says. Initial states (encoder–decoder) are the
 *   op's `initial_h` / `initial_c`, returned states its `Y_h` / `Y_c`.
 *   Gate activations: Sigmoid, HardSigmoid (alpha 0.2 for 'hardSigmoid',
 *   1/6 for 'hardSigmoidKeras3', beta 0.5); candidate: Tanh, Relu, Sigmoid,
 *   Affine(1, 0) for linear.
 * - Dense → `Gemm` on (B, F), `MatMul` + `Add` on sequences; then its activation.
 * - Embedding → `Gather`; BatchNormalization (inference) → `Mul` + `Add` with
 *   the folded moving statistics; LayerNormalization → `LayerNormalization`;
 *   Activation, Dropout (identity), Flatten, Reshape, Permute, RepeatVector,
 *   Concatenate, TimeDistributed over Dense / Activation / Dropout /
 *   normalisation layers.
 *
 * Not exportable (refused, naming the layer): masks (Masking, Embedding
 * with maskZero: ONNX's recurrent ops cannot skip arbitrary steps), stateful
 * layers, layers.rnn with cells, and user layers.
 */
import { ModelFileError } from '../../errors.js';
import type { Layer } from '../../layers/layer.js';
import type { Node } from '../../layers/symbolic.js';
import { Activation } from '../../layers/core/activation.js';
import type { ActivationIdentifier } from '../../layers/core/activations.js';
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
import type { RecurrentLayer } from '../../layers/recurrent/recurrentLayer.js';
import { InputLayer } from '../../models/inputLayer.js';
import type { LayersModel } from '../../models/layersModel.js';
import { version } from '../../version.js';
import { atomicWriteFile } from '../atomicWrite.js';
import { float, OnnxGraph, valueInfo } from './onnxGraph.js';
import { encodeModel } from './onnxProto.js';

/** The ONNX opset the exported graphs use. */
export const ONNX_OPSET = 17;
/** The ONNX IR version written (ONNX 1.12: opset 17). */
export const ONNX_IR_VERSION = 8;

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** Written in the model's doc_string. */
  docString?: string;
}

class ExportError extends ModelFileError {}

function className(layer: Layer): string {
  return (layer.constructor as unknown as { className?: string }).className ?? layer.constructor.name;
}

function refuse(layer: Layer, why: string): never {
  throw new ExportError(`exportOnnx: layer ${JSON.stringify(layer.name)} (class ${className(layer)}): ${why}`);
}

const I64_MIN = -(2n ** 63n) + 1n;

type Rnn = GRU | LSTM | SimpleRNN;

/** Converts one model into an ONNX graph. */
class Exporter {
  readonly g = new OnnxGraph();
  /** ONNX value name of each symbolic tensor. */
  private readonly names = new Map<number, string>();
  private readonly consts = new Map<string, string>();

  constructor(private readonly model: LayersModel) {}

  private i64(values: Array<number | bigint>): string {
    const key = values.join(',');
    let name = this.consts.get(key);
    if (!name) {
      name = this.g.int64s(`const_${key.replace(/[^0-9,-]/g, '').replace(/,/g, '_').replace(/-/g, 'm')}`, values);
      this.consts.set(key, name);
    }
    return name;
  }

  private weight(layer: Layer, what: string, values: Float32Array, dims: number[]): string {
    return this.g.floats(`${layer.name}/${what}`, values, dims);
  }

  run(): Record<string, unknown> {
    const model = this.model;
    const graph = (model as unknown as { requireGraph(w: string): { nodes: Node[] } }).requireGraph('exportOnnx');
    for (const s of model.inputs) {
      const input = s.sourceLayer as InputLayer;
      const name = this.g.unique(input.name);
      this.names.set(s.id, name);
      this.g.inputs.push(valueInfo(name, input.dtype, s.shape));
    }
    for (const node of graph.nodes) {
      if (node.layer instanceof InputLayer) continue;
      const ins = node.inputs.map((s) => this.names.get(s.id) as string);
      const outs = this.layer(node, ins);
      if (outs.length !== node.outputs.length) throw new Error(`internal: exportOnnx made ${outs.length} outputs for layer ${node.layer.name}, its node has ${node.outputs.length}`);
      node.outputs.forEach((s, i) => this.names.set(s.id, outs[i]));
    }
    const outputNames = new Set<string>();
    model.outputs.forEach((s, i) => {
      let name = this.names.get(s.id) as string;
      const wanted = model.outputs.length === 1 ? s.sourceLayer.name : `${s.sourceLayer.name}${s.outputIndex > 0 ? `_${s.outputIndex}` : ''}`;
      if (outputNames.has(name) || model.inputs.some((x) => this.names.get(x.id) === name)) name = this.g.op('Identity', [name], {}, `${wanted}_${i}`);
      outputNames.add(name);
      this.g.outputs.push(valueInfo(name, 'float32', s.shape));
    });
    return { node: this.g.nodes, name: model.name, initializer: this.g.initializers, input: this.g.inputs, output: this.g.outputs };
  }

  /** The ONNX values of one node's outputs. */
  private layer(node: Node, ins: string[]): string[] {
    const layer = node.layer;
    const x = ins[0];
    const inShape = node.inputs[0]?.shape ?? [];
    if (layer instanceof GRU || layer instanceof LSTM || layer instanceof SimpleRNN) return this.recurrent(layer, ins);
    if (layer instanceof Bidirectional) return this.bidirectional(layer, ins);
    if (layer instanceof Dense) return [this.dense(layer, x, inShape.length)];
    if (layer instanceof TimeDistributed) return [this.timeDistributed(layer, x, inShape.length)];
    if (layer instanceof Embedding) {
      if (layer.maskZero) refuse(layer, 'maskZero makes a mask, which ONNX\'s recurrent ops cannot apply exactly (they only skip trailing steps); export a model without masking');
      const ids = (node.inputs[0].sourceLayer as InputLayer).dtype === 'int32' || node.inputs[0].dtype === 'int32' ? x : this.g.op('Cast', [x], { to: 7 });
      const [table] = layer.getWeights();
      return [this.g.op('Gather', [this.weight(layer, 'embeddings', table.dataSync() as Float32Array, [...table.shape]), ids], { axis: 0 }, layer.name)];
    }
    if (layer instanceof Masking) refuse(layer, 'masks cannot be exported: ONNX\'s recurrent ops cannot skip arbitrary steps');
    if (layer instanceof Activation) return [this.activation(layer.activation, x, layer.name, layer)];
    if (layer instanceof Dropout) return [this.g.op('Identity', [x], {}, layer.name)];
    if (layer instanceof BatchNormalization || layer instanceof LayerNormalization) return [this.normalization(layer, x, inShape.length)];
    if (layer instanceof Flatten) return [this.g.op('Flatten', [x], { axis: 1 }, layer.name)];
    if (layer instanceof Reshape) return [this.g.op('Reshape', [x, this.i64([0, ...layer.targetShape])], {}, layer.name)];
    if (layer instanceof Permute) return [this.g.op('Transpose', [x], { perm: [0, ...layer.dims] }, layer.name)];
    if (layer instanceof RepeatVector) {
      const u = this.g.op('Unsqueeze', [x, this.i64([1])]);
      return [this.g.op('Tile', [u, this.i64([1, layer.n, 1])], {}, layer.name)];
    }
    if (layer instanceof Concatenate) return [this.g.op('Concat', ins, { axis: layer.axis }, layer.name)];
    return refuse(layer, `this layer class cannot be exported to ONNX (exportable: GRU, LSTM, SimpleRNN, Bidirectional, Dense, Embedding, Activation, Dropout, BatchNormalization, LayerNormalization, Flatten, Reshape, Permute, RepeatVector, Concatenate, TimeDistributed)`);
  }

  /** An activation applied to `x`. */
  private activation(a: ActivationIdentifier, x: string, name: string, layer: Layer): string {
    const g = this.g;
    const out = (op: string, inputs: string[], attrs = {}): string => g.op(op, inputs, attrs, name);
    switch (a) {
      case 'linear':
        return out('Identity', [x]);
      case 'relu':
        return out('Relu', [x]);
      case 'relu6':
        return out('Clip', [x, g.floats('zero', new Float32Array([0]), []), g.floats('six', new Float32Array([6]), [])]);
      case 'leakyRelu':
        return out('LeakyRelu', [x], { alpha: float(0.2) });
      case 'elu':
        return out('Elu', [x], { alpha: float(1) });
      case 'selu':
        return out('Selu', [x]);
      case 'sigmoid':
        return out('Sigmoid', [x]);
      case 'hardSigmoid':
        return out('HardSigmoid', [x], { alpha: float(0.2), beta: float(0.5) });
      case 'hardSigmoidKeras3':
        return out('HardSigmoid', [x], { alpha: float(1 / 6), beta: float(0.5) });
      case 'tanh':
        return out('Tanh', [x]);
      case 'softmax':
        return out('Softmax', [x], { axis: -1 });
      case 'logSoftmax':
        return out('LogSoftmax', [x], { axis: -1 });
      case 'softplus':
        return out('Softplus', [x]);
      case 'softsign':
        return out('Softsign', [x]);
      case 'swish':
      case 'silu':
        return out('Mul', [x, g.op('Sigmoid', [x])]);
      case 'hardSilu':
      case 'hardSwish':
        return out('HardSwish', [x]);
      case 'mish':
        return out('Mul', [x, g.op('Tanh', [g.op('Softplus', [x])])]);
      case 'exponential':
        return out('Exp', [x]);
      case 'gelu': {
        const half = g.floats('half', new Float32Array([0.5]), []);
        const one = g.floats('one', new Float32Array([1]), []);
        const rsqrt2 = g.floats('rsqrt2', new Float32Array([Math.SQRT1_2]), []);
        const erf = g.op('Erf', [g.op('Mul', [x, rsqrt2])]);
        return out('Mul', [g.op('Mul', [x, half]), g.op('Add', [erf, one])]);
      }
      case 'geluNew': {
        const half = g.floats('half', new Float32Array([0.5]), []);
        const one = g.floats('one', new Float32Array([1]), []);
        const c = g.floats('gelu_c', new Float32Array([Math.sqrt(2 / Math.PI)]), []);
        const k = g.floats('gelu_k', new Float32Array([0.044715]), []);
        const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
        const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [x3, k])]), c]);
        return out('Mul', [g.op('Mul', [x, half]), g.op('Add', [g.op('Tanh', [inner]), one])]);
      }
      default:
        return refuse(layer, `activation ${JSON.stringify(a)} cannot be exported`);
    }
  }

  private dense(layer: Dense, x: string, rank: number, name = layer.name): string {
    const [kernel, bias] = layer.getWeights();
    const w = this.weight(layer, 'kernel', kernel.dataSync() as Float32Array, [...kernel.shape]);
    const b = layer.useBias ? this.weight(layer, 'bias', bias.dataSync() as Float32Array, [...bias.shape]) : null;
    let z: string;
    if (rank === 2) z = this.g.op('Gemm', b ? [x, w, b] : [x, w]);
    else {
      z = this.g.op('MatMul', [x, w]);
      if (b) z = this.g.op('Add', [z, b]);
    }
    return this.activation(layer.activation, z, name, layer);
  }

  private normalization(layer: BatchNormalization | LayerNormalization, x: string, rank: number, name = layer.name): string {
    const weights = layer.getWeights();
    const names = layer.weightNames();
    const get = (n: string): Float32Array | null => {
      const i = names.indexOf(n);
      return i < 0 ? null : (weights[i].dataSync() as Float32Array);
    };
    if (layer instanceof BatchNormalization) {
      const axis = layer.axis < 0 ? rank + layer.axis : layer.axis;
      if (axis !== rank - 1) refuse(layer, `only the last axis can be exported (axis ${layer.axis} of a rank-${rank} input)`);
      const mean = get('moving_mean') as Float32Array, variance = get('moving_variance') as Float32Array;
      const gamma = get('gamma'), beta = get('beta');
      const C = mean.length;
      const scale = new Float32Array(C), shift = new Float32Array(C);
      for (let c = 0; c < C; c++) {
        const s = (1 / Math.sqrt(variance[c] + layer.epsilon)) * (gamma ? gamma[c] : 1);
        scale[c] = s;
        shift[c] = (beta ? beta[c] : 0) - mean[c] * s;
      }
      const y = this.g.op('Mul', [x, this.weight(layer, 'scale', scale, [C])]);
      return this.g.op('Add', [y, this.weight(layer, 'shift', shift, [C])], {}, name);
    }
    const axes = (Array.isArray(layer.axis) ? layer.axis : [layer.axis]).map((a) => (a < 0 ? rank + a : a)).sort((a, b) => a - b);
    if (axes.some((a, i) => a !== rank - axes.length + i)) refuse(layer, `only trailing axes can be exported (axis ${JSON.stringify(layer.axis)} of a rank-${rank} input)`);
    if (layer.rmsScaling) refuse(layer, 'rmsScaling cannot be exported');
    const gamma = get('gamma'), beta = get('beta');
    const paramShape = gamma ? [...weights[names.indexOf('gamma')].shape] : beta ? [...weights[names.indexOf('beta')].shape] : null;
    if (!paramShape) refuse(layer, 'a LayerNormalization without scale and center cannot be exported');
    const size = paramShape.reduce((a, b) => a * b, 1);
    const s = this.weight(layer, 'gamma', gamma ?? new Float32Array(size).fill(1), paramShape);
    const b = this.weight(layer, 'beta', beta ?? new Float32Array(size), paramShape);
    return this.g.op('LayerNormalization', [x, s, b], { axis: axes[0], epsilon: float(layer.epsilon) }, name);
  }

  private timeDistributed(layer: TimeDistributed, x: string, rank: number): string {
    const inner = layer.layer;
    if (inner instanceof Dense) return this.dense(inner, x, rank, layer.name);
    if (inner instanceof Activation) return this.activation(inner.activation, x, layer.name, inner);
    if (inner instanceof Dropout) return this.g.op('Identity', [x], {}, layer.name);
    if (inner instanceof BatchNormalization || inner instanceof LayerNormalization) return this.normalization(inner, x, rank, layer.name);
    return refuse(layer, `TimeDistributed over ${className(inner)} cannot be exported (Dense, Activation, Dropout and normalisation layers can)`);
  }

  // ---------------------------------------------------------------- recurrent layers

  private checkRecurrent(layer: RecurrentLayer, outer: Layer): void {
    if (layer.stateful) refuse(outer, 'stateful layers cannot be exported');
  }

  /** ONNX activations (and their alphas/betas) for one direction of a layer. */
  private rnnActivations(layer: Rnn, outer: Layer): { acts: string[]; alpha: number[]; beta: number[] } {
    const acts: string[] = [];
    const alpha: number[] = [];
    const beta: number[] = [];
    const add = (a: string): void => {
      switch (a) {
        case 'sigmoid':
          acts.push('Sigmoid');
          break;
        case 'tanh':
          acts.push('Tanh');
          break;
        case 'relu':
          acts.push('Relu');
          break;
        case 'linear':
          acts.push('Affine');
          alpha.push(1);
          beta.push(0);
          break;
        case 'hardSigmoid':
          acts.push('HardSigmoid');
          alpha.push(0.2);
          beta.push(0.5);
          break;
        case 'hardSigmoidKeras3':
          acts.push('HardSigmoid');
          alpha.push(1 / 6);
          beta.push(0.5);
          break;
        default:
          refuse(outer, `activation ${JSON.stringify(a)} cannot be exported in a recurrent op`);
      }
    };
    if (layer instanceof SimpleRNN) add(layer.activation);
    else if (layer instanceof GRU) {
      add(layer.recurrentActivation);
      add(layer.activation);
    } else {
      add(layer.recurrentActivation);
      add(layer.activation);
      add(layer.activation);
    }
    return { acts, alpha, beta };
  }

  /** W (G*H, I), R (G*H, H), B (2*G*H) of one direction in ONNX's layout. */
  private rnnWeights(layer: Rnn): { W: Float32Array; R: Float32Array; B: Float32Array; G: number; H: number; I: number } {
    const w = layer.getWeights();
    const H = layer.units;
    const G = layer instanceof GRU ? 3 : layer instanceof LSTM ? 4 : 1;
    const kernel = w[0].dataSync() as Float32Array, rec = w[1].dataSync() as Float32Array;
    const I = w[0].shape[0];
    // ONNX block k is Keras block order[k]: LSTM i,o,f,c ← Keras i,f,c,o.
    const order = layer instanceof LSTM ? [0, 3, 1, 2] : Array.from({ length: G }, (_, k) => k);
    const W = new Float32Array(G * H * I), R = new Float32Array(G * H * H), B = new Float32Array(2 * G * H);
    for (let k = 0; k < G; k++) {
      const src = order[k];
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < I; i++) W[(k * H + h) * I + i] = kernel[i * G * H + src * H + h];
        for (let j = 0; j < H; j++) R[(k * H + h) * H + j] = rec[j * G * H + src * H + h];
      }
    }
    if (layer.useBias) {
      const bias = w[2].dataSync() as Float32Array;
      const twoRows = layer instanceof GRU && layer.resetAfter;
      for (let k = 0; k < G; k++) {
        const src = order[k];
        for (let h = 0; h < H; h++) {
          B[k * H + h] = bias[src * H + h];
          if (twoRows) B[G * H + k * H + h] = bias[G * H + src * H + h];
        }
      }
    }
    return { W, R, B, G, H, I };
  }

  /** Runs an ONNX recurrent op over x (B, T, I); returns Y (T, D, B, H), Y_h (D, B, H), Y_c. */
  private rnnOp(layers: Rnn[], outer: Layer, x: string, direction: 'forward' | 'reverse' | 'bidirectional', initial: string[][]): { Y: string; Yh: string; Yc: string | null } {
    const g = this.g;
    const first = layers[0];
    const parts = layers.map((l) => this.rnnWeights(l));
    const { G, H, I } = parts[0];
    const D = layers.length;
    const cat = (key: 'W' | 'R' | 'B'): Float32Array => {
      const out = new Float32Array(parts.reduce((n, p) => n + p[key].length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p[key], o);
        o += p[key].length;
      }
      return out;
    };
    const W = this.weight(outer, 'W', cat('W'), [D, G * H, I]);
    const R = this.weight(outer, 'R', cat('R'), [D, G * H, H]);
    const B = this.weight(outer, 'B', cat('B'), [D, 2 * G * H]);
    const acts = layers.map((l) => this.rnnActivations(l, outer));
    const attrs: Record<string, unknown> = {
      hidden_size: H,
      direction,
      activations: acts.flatMap((a) => a.acts),
    };
    const alpha = acts.flatMap((a) => a.alpha), beta = acts.flatMap((a) => a.beta);
    if (alpha.length > 0) attrs.activation_alpha = { floats: alpha };
    if (beta.length > 0) attrs.activation_beta = { floats: beta };
    if (first instanceof GRU) attrs.linear_before_reset = first.resetAfter ? 1 : 0;
    const xt = g.op('Transpose', [x], { perm: [1, 0, 2] });
    const inputs = [xt, W, R, B];
    // initial[d] = the states of direction d: [h] or [h, c], each (B, H).
    const stateInput = (k: number): string => {
      const per = initial.map((s) => g.op('Unsqueeze', [s[k], this.i64([0])]));
      return per.length === 1 ? per[0] : g.op('Concat', per, { axis: 0 });
    };
    if (initial.length > 0) {
      inputs.push('', stateInput(0));
      if (first instanceof LSTM) inputs.push(stateInput(1));
    }
    const op = first instanceof GRU ? 'GRU' : first instanceof LSTM ? 'LSTM' : 'RNN';
    const outs = g.node(op, inputs, first instanceof LSTM ? [`${outer.name}/Y`, `${outer.name}/Y_h`, `${outer.name}/Y_c`] : [`${outer.name}/Y`, `${outer.name}/Y_h`], attrs as never);
    return { Y: outs[0], Yh: outs[1], Yc: outs[2] ?? null };
  }

  /** (T, B, H) → reversed along time. */
  private reverseTime(x: string): string {
    return this.g.op('Slice', [x, this.i64([-1]), this.i64([I64_MIN]), this.i64([0]), this.i64([-1])]);
  }

  private recurrent(layer: Rnn, ins: string[]): string[] {
    this.checkRecurrent(layer, layer);
    const g = this.g;
    const stateCount = layer instanceof LSTM ? 2 : 1;
    const initial = ins.length > 1 ? [ins.slice(1, 1 + stateCount)] : [];
    const { Y, Yh, Yc } = this.rnnOp([layer], layer, ins[0], layer.goBackwards ? 'reverse' : 'forward', initial);
    let out: string;
    if (layer.returnSequences) {
      let y = g.op('Squeeze', [Y, this.i64([1])]);
      if (layer.goBackwards) y = this.reverseTime(y);
      out = g.op('Transpose', [y], { perm: [1, 0, 2] }, layer.name);
    } else out = g.op('Squeeze', [Yh, this.i64([0])], {}, layer.name);
    if (!layer.returnState) return [out];
    const h = g.op('Squeeze', [Yh, this.i64([0])], {}, `${layer.name}/h`);
    const states = [h];
    if (Yc) states.push(g.op('Squeeze', [Yc, this.i64([0])], {}, `${layer.name}/c`));
    return [out, ...states];
  }

  private bidirectional(layer: Bidirectional, ins: string[]): string[] {
    const f = layer.forwardLayer as Rnn, b = layer.backwardLayer as Rnn;
    if (!(f instanceof GRU || f instanceof LSTM || f instanceof SimpleRNN)) return refuse(layer, `a Bidirectional over ${className(f)} cannot be exported`);
    this.checkRecurrent(f, layer);
    if (f.goBackwards || !b.goBackwards) refuse(layer, 'a Bidirectional whose wrapped layer has goBackwards set cannot be exported');
    const g = this.g;
    const stateCount = f instanceof LSTM ? 2 : 1;
    const initial = ins.length > 1 ? [ins.slice(1, 1 + stateCount), ins.slice(1 + stateCount, 1 + 2 * stateCount)] : [];
    const { Y, Yh, Yc } = this.rnnOp([f, b], layer, ins[0], 'bidirectional', initial);
    const mode = layer.mergeMode;
    const seq = f.returnSequences;
    const outs: string[] = [];
    if (seq) {
      // Y: (T, 2, B, H); the backward direction is already in input time order.
      if (mode === 'concat') outs.push(g.op('Reshape', [g.op('Transpose', [Y], { perm: [2, 0, 1, 3] }), this.i64([0, 0, -1])], {}, layer.name));
      else if (mode === 'sum') outs.push(g.op('Transpose', [g.op('ReduceSum', [Y, this.i64([1])], { keepdims: 0 })], { perm: [1, 0, 2] }, layer.name));
      else if (mode === 'ave') outs.push(g.op('Transpose', [g.op('ReduceMean', [Y], { axes: [1], keepdims: 0 })], { perm: [1, 0, 2] }, layer.name));
      else if (mode === 'mul') outs.push(g.op('Transpose', [g.op('ReduceProd', [Y], { axes: [1], keepdims: 0 })], { perm: [1, 0, 2] }, layer.name));
      else {
        for (const d of [0, 1]) outs.push(g.op('Transpose', [g.op('Gather', [Y, this.scalarIndex(d)], { axis: 1 })], { perm: [1, 0, 2] }, `${layer.name}_${d}`));
      }
    } else {
      // Y_h: (2, B, H): the forward and backward layers' last outputs.
      if (mode === 'concat') outs.push(g.op('Reshape', [g.op('Transpose', [Yh], { perm: [1, 0, 2] }), this.i64([0, -1])], {}, layer.name));
      else if (mode === 'sum') outs.push(g.op('ReduceSum', [Yh, this.i64([0])], { keepdims: 0 }, layer.name));
      else if (mode === 'ave') outs.push(g.op('ReduceMean', [Yh], { axes: [0], keepdims: 0 }, layer.name));
      else if (mode === 'mul') outs.push(g.op('ReduceProd', [Yh], { axes: [0], keepdims: 0 }, layer.name));
      else for (const d of [0, 1]) outs.push(g.op('Gather', [Yh, this.scalarIndex(d)], { axis: 0 }, `${layer.name}_${d}`));
    }
    if (!f.returnState) return outs;
    const states: string[] = [];
    for (const d of [0, 1]) {
      states.push(g.op('Gather', [Yh, this.scalarIndex(d)], { axis: 0 }, `${layer.name}/h${d}`));
      if (Yc) states.push(g.op('Gather', [Yc, this.scalarIndex(d)], { axis: 0 }, `${layer.name}/c${d}`));
    }
    return [...outs, ...states];
  }

  private readonly scalars = new Map<number, string>();

  /** A scalar int64 index (Gather with it drops the axis). */
  private scalarIndex(i: number): string {
    let name = this.scalars.get(i);
    if (!name) {
      name = this.g.int64s(`index_${i}`, [i], []);
      this.scalars.set(i, name);
    }
    return name;
  }
}

/** The model as ONNX bytes (a serialised ModelProto). */
export function modelToOnnx(model: LayersModel, options: ExportOnnxOptions = {}): Uint8Array {
  const graph = new Exporter(model).run();
  return encodeModel({
    ir_version: ONNX_IR_VERSION,
    producer_name: 'gatedrnn',
    producer_version: version,
    doc_string: options.docString ?? `${model.name}, exported by gatedrnn ${version}`,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    graph,
  });
}

/**
 * Writes the model as an ONNX file (atomically: a reader sees the old file
 * or the new one). Resolves to the number of bytes written.
 */
export async function exportOnnx(model: LayersModel, path: string, options: ExportOnnxOptions = {}): Promise<{ path: string; bytes: number }> {
  if (typeof path !== 'string' || path === '') throw new TypeError('exportOnnx: expected a file path like "model.onnx"');
  if (options === null || typeof options !== 'object') throw new TypeError('exportOnnx: options must be an object');
  for (const k of Object.keys(options)) if (k !== 'docString') throw new TypeError(`exportOnnx: unknown option ${JSON.stringify(k)}; the options are docString`);
  const bytes = modelToOnnx(model, options);
  await atomicWriteFile(path, bytes);
  return { path, bytes: bytes.length };
}
