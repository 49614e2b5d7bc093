/**
 * Weights read from a Keras file, layer by layer, set on a model built
 * from the same file.
 *
 * The file gives, for each layer, its weights in Keras's order (legacy
 * HDF5: the layer group's `weight_names`; `.keras`: the positional
 * `vars/0, 1, ...`), which is also this library's order (`weightNames()`).
 * Layers are matched by name (the model keeps the file's layer names), or,
 * when the names differ, by position among the layers that have weights,
 * as Keras's `load_weights` does. Every shape is checked before anything is
 * set; a mismatch names the layer, its class and the weight.
 *
 * Keras 2's CuDNNGRU / CuDNNLSTM weights (recognised, as Keras does, by a
 * bias of 6H / 8H values) are converted the way Keras converts them:
 * per gate, the input kernel from CuDNN's Fortran layout and the recurrent
 * kernel transposed; the CuDNNGRU bias reshaped to (2, 3H); the CuDNNLSTM
 * input and recurrent biases summed.
 */
import { formatShape, ModelFileError } from '../../errors.js';
import type { Layer } from '../../layers/layer.js';
import { Bidirectional } from '../../layers/recurrent/bidirectional.js';
import { GRU } from '../../layers/recurrent/gru.js';
import { LSTM } from '../../layers/recurrent/lstm.js';
import { TimeDistributed } from '../../layers/core/timeDistributed.js';
import type { LayersModel } from '../../models/layersModel.js';
import { assignModelWeights } from '../modelWeights.js';
import type { NamedWeight } from '../weightsFormat.js';

/** One weight as the file holds it. */
export interface FileWeight {
  /** The name in the file (`gru/gru_cell/kernel:0`, `layers/gru/cell/vars/0`). */
  name: string;
  shape: number[];
  values: Float32Array;
}

/** A layer's weights as the file holds them. */
export interface FileLayerWeights {
  layerName: string;
  weights: FileWeight[];
}

function className(layer: Layer): string {
  return (layer.constructor as unknown as { className?: string }).className ?? layer.constructor.name;
}

function layerError(where: string, layer: Layer, message: string): ModelFileError {
  return new ModelFileError(`${where}: layer ${JSON.stringify(layer.name)} (class ${className(layer)}): ${message}`, { path: where });
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Keras's `transform_kernels` with CuDNN's input-kernel layout: per gate block (I, H), `k.T.reshape((I, H), order='F')`. */
function cudnnInputKernel(w: FileWeight, gates: number): FileWeight {
  const [I, GH] = w.shape;
  const H = GH / gates;
  const out = new Float32Array(w.values.length);
  for (let g = 0; g < gates; g++) {
    for (let a = 0; a < I; a++) {
      for (let b = 0; b < H; b++) {
        const f = a + I * b;
        const i = Math.floor(f / H), h = f % H;
        out[a * GH + g * H + b] = w.values[i * GH + g * H + h];
      }
    }
  }
  return { ...w, values: out };
}

/** Per gate block (H, H): transposed. */
function cudnnRecurrentKernel(w: FileWeight, gates: number): FileWeight {
  const [H, GH] = w.shape;
  const out = new Float32Array(w.values.length);
  for (let g = 0; g < gates; g++)
    for (let r = 0; r < H; r++)
      for (let c = 0; c < H; c++) out[r * GH + g * H + c] = w.values[c * GH + g * H + r];
  return { ...w, values: out };
}

/** GRU/LSTM weights from a CuDNN layer converted to the plain layer's, or as they are. */
function recurrentWeights(layer: Layer, weights: FileWeight[]): FileWeight[] {
  if (weights.length !== 3 || weights[1].shape.length !== 2) return weights;
  const units = weights[1].shape[0];
  const bias = weights[2];
  if (layer instanceof LSTM && bias.shape.length === 1 && bias.shape[0] === 8 * units) {
    const summed = new Float32Array(4 * units);
    for (let i = 0; i < 4 * units; i++) summed[i] = bias.values[i] + bias.values[4 * units + i];
    return [cudnnInputKernel(weights[0], 4), cudnnRecurrentKernel(weights[1], 4), { ...bias, shape: [4 * units], values: summed }];
  }
  if (layer instanceof GRU && bias.shape.length === 1 && bias.shape[0] === 6 * units) {
    return [cudnnInputKernel(weights[0], 3), cudnnRecurrentKernel(weights[1], 3), { ...bias, shape: [2, 3 * units] }];
  }
  return weights;
}

/** The file's weights of one layer in this library's layout. */
function converted(layer: Layer, weights: FileWeight[]): FileWeight[] {
  if (layer instanceof Bidirectional) {
    const half = weights.length / 2;
    if (!Number.isInteger(half)) return weights;
    return [...converted(layer.forwardLayer, weights.slice(0, half)), ...converted(layer.backwardLayer, weights.slice(half))];
  }
  if (layer instanceof TimeDistributed) return converted(layer.layer, weights);
  if (layer instanceof GRU || layer instanceof LSTM) return recurrentWeights(layer, weights);
  return weights;
}

/** `gru/gru_cell/recurrent_kernel:0` → `recurrent_kernel`. */
function baseName(name: string): string {
  const last = name.replace(/:\d+$/, '').split('/').pop() ?? name;
  return last;
}

/**
 * The file's weights in the layer's order: as they are, unless their base
 * names are all distinct, are the layer's names, and come in another order.
 */
function ordered(layer: Layer, weights: FileWeight[]): FileWeight[] {
  const ours = layer.weightNames().map(baseName);
  const theirs = weights.map((w) => baseName(w.name));
  if (new Set(ours).size !== ours.length || new Set(theirs).size !== theirs.length) return weights;
  if (!ours.every((n) => theirs.includes(n)) || ours.every((n, i) => theirs[i] === n)) return weights;
  return ours.map((n) => weights[theirs.indexOf(n)]);
}

/**
 * Sets the model's weights from the file's, layer by layer (see the file
 * header). `where` names the file in messages.
 */
export function assignKerasWeights(model: LayersModel, fileLayers: FileLayerWeights[], where: string): void {
  const ours = model.layers.filter((l) => l.weightNames().length > 0);
  const theirs = fileLayers.filter((f) => f.weights.length > 0);
  const byName = new Map(theirs.map((f) => [f.layerName, f]));
  let pairs: Array<[Layer, FileLayerWeights]>;
  if (ours.every((l) => byName.has(l.name)) && theirs.length === ours.length) {
    pairs = ours.map((l) => [l, byName.get(l.name) as FileLayerWeights]);
  } else if (theirs.length === ours.length) {
    pairs = ours.map((l, i) => [l, theirs[i]]);
  } else {
    const list = (names: string[]): string => (names.length === 0 ? '(none)' : names.map((n) => JSON.stringify(n)).join(', '));
    throw new ModelFileError(
      `${where}: the file has weights for ${theirs.length} layer(s) (${list(theirs.map((f) => f.layerName))}) but the model has ${ours.length} layer(s) with weights (${list(ours.map((l) => l.name))})`,
      { path: where },
    );
  }
  const named: NamedWeight[] = [];
  for (const [layer, file] of pairs) {
    const names = layer.weightNames();
    const weights = ordered(layer, converted(layer, file.weights));
    if (weights.length !== names.length) {
      throw layerError(where, layer, `the file has ${weights.length} weight(s) for it (${weights.map((w) => w.name).join(', ')}), the layer has ${names.length} (${names.join(', ')})`);
    }
    const expected = layer.built ? layer.getWeights().map((w) => [...w.shape]) : null;
    weights.forEach((w, i) => {
      if (w.values.length !== size(w.shape)) throw layerError(where, layer, `weight ${w.name} has ${w.values.length} values for shape ${formatShape(w.shape)}`);
      const want = expected?.[i];
      if (want && (want.length !== w.shape.length || want.some((d, k) => d !== w.shape[k]))) {
        throw layerError(where, layer, `weight ${names[i]} (${w.name} in the file) has shape ${formatShape(w.shape)}, the layer expects ${formatShape(want)}`);
      }
      named.push({ name: `${layer.name}/${names[i]}`, shape: [...w.shape], dtype: 'float32', values: w.values });
    });
  }
  assignModelWeights(model, named, where);
}
