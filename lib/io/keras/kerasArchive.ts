/**
 * Reading a Keras 3 `.keras` archive: a zip (entries stored or deflated)
 * holding `metadata.json` (`keras_version`, `date_saved`), `config.json`
 * (the model serialised: `{module, class_name, config, build_config,
 * compile_config}`) and `model.weights.h5`.
 *
 * Weights in `model.weights.h5` are positional: layer i of the model is the
 * group `layers/<class name in snake_case>` (`gru`, `gru_1`, `dense`, ...:
 * numbered per class in model order, not the layer's name), and its
 * variables are the datasets `vars/0, 1, ...` of that group and of the
 * groups of the objects it holds (`cell/vars` of an RNN layer,
 * `forward_layer/...` then `backward_layer/...` of a Bidirectional,
 * `layer/...` of a TimeDistributed), as Keras's `saving_lib` walks them.
 * The walk here takes a layer's own `vars` first, then `forward_layer`,
 * `backward_layer`, `layer`, `cell`, then any other child in name order.
 */
import { strFromU8, unzipSync } from 'fflate';
import { ModelFileError } from '../../errors.js';
import { group, readFloat32, withHdf5, type H5Group } from './hdf5.js';
import type { FileLayerWeights, FileWeight } from './kerasWeights.js';

/** The files of a `.keras` archive. */
export const KERAS_CONFIG = 'config.json';
export const KERAS_METADATA = 'metadata.json';
export const KERAS_WEIGHTS = 'model.weights.h5';

/** Keras's `naming.to_snake_case`: `GRU` → `gru`, `SimpleRNN` → `simple_rnn`, `BatchNormalization` → `batch_normalization`. */
export function kerasSnakeCase(name: string): string {
  let s = name.replace(/\W+/g, '');
  s = s.replace(/(.)([A-Z][a-z]+)/g, '$1_$2');
  return s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The weight group names Keras gives the layers of a model, in model order: `gru`, `gru_1`, ... */
export function kerasLayerPaths(classNames: string[]): string[] {
  const used = new Map<string, number>();
  return classNames.map((cls) => {
    const base = kerasSnakeCase(cls);
    const n = used.get(base);
    if (n === undefined) {
      used.set(base, 0);
      return base;
    }
    used.set(base, n + 1);
    return `${base}_${n + 1}`;
  });
}

/** Unzips a `.keras` archive. */
export function unzipKeras(bytes: Uint8Array, where: string): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes);
  } catch (e) {
    throw new ModelFileError(`${where}: not a readable zip archive (a .keras file is one): ${(e as Error).message}`, { path: where, cause: e });
  }
}

/** A JSON entry of the archive. */
export function jsonEntry(entries: Record<string, Uint8Array>, name: string, where: string): unknown {
  const data = entries[name];
  if (!data) return undefined;
  try {
    return JSON.parse(strFromU8(data));
  } catch (e) {
    throw new ModelFileError(`${where}: ${name} is not valid JSON: ${(e as Error).message}`, { path: where, cause: e });
  }
}

const CHILD_ORDER = ['forward_layer', 'backward_layer', 'layer', 'cell', 'cells'];

/** Every variable under a layer's group, in the walk order of the file header. */
function collectVars(g: H5Group, path: string, where: string, out: FileWeight[]): void {
  const keys = g.keys();
  const vars = keys.includes('vars') ? group(g, 'vars') : null;
  if (vars) {
    const names = vars.keys().filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b));
    names.forEach((k, i) => {
      if (Number(k) !== i) throw new ModelFileError(`${where}: ${path}/vars has variables ${names.join(', ')}: expected 0, 1, 2, ...`, { path: where });
      const ds = vars.get(k);
      if (!ds || (ds as { type?: string }).type !== 'Dataset') throw new ModelFileError(`${where}: ${path}/vars/${k} is not a dataset`, { path: where });
      const { values, shape } = readFloat32(ds as never, where);
      out.push({ name: `${path}/vars/${k}`, shape, values });
    });
  }
  const children = keys.filter((k) => k !== 'vars');
  children.sort((a, b) => {
    const ia = CHILD_ORDER.indexOf(a), ib = CHILD_ORDER.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  for (const k of children) {
    const child = group(g, k);
    if (child) collectVars(child, `${path}/${k}`, where, out);
  }
}

/**
 * The per-layer weights of `model.weights.h5` for the model's layers, given
 * as their names and Keras class names in model order (for Sequential
 * without its InputLayer; for functional models every layer, InputLayers
 * included, as Keras numbers them).
 */
export async function readKerasWeights(bytes: Uint8Array, layers: Array<{ name: string; className: string }>, where: string): Promise<FileLayerWeights[]> {
  return withHdf5(bytes, `${where} (${KERAS_WEIGHTS})`, (file) => {
    // tf.keras 2.13-2.15 wrote the same format under `_layer_checkpoint_dependencies`.
    const root = group(file, 'layers') ?? group(file, '_layer_checkpoint_dependencies');
    const prefix = root ? root.path.replace(/^\//, '') : 'layers';
    const paths = kerasLayerPaths(layers.map((l) => l.className));
    return layers.map((l, i) => {
      const g = root ? group(root, paths[i]) : null;
      const weights: FileWeight[] = [];
      if (g) collectVars(g, `${prefix}/${paths[i]}`, where, weights);
      return { layerName: l.name, weights };
    });
  });
}
