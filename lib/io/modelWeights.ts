/**
 * A model's weights as named tensors (`<layer>/<weight>`, the names tfjs
 * and Keras save them under: `gru/kernel`, `bidirectional/forward_gru/bias`)
 * and back: matching saved weights to the model's by name, falling back to
 * their order when the names differ, checking every shape, and setting them
 * all or none.
 */
import { formatShape, ModelFileError } from '../errors.js';
import { float32Tensor, type Tensor } from '../tensor.js';
import type { Layer } from '../layers/layer.js';
import type { LayersModel } from '../models/layersModel.js';
import type { NamedWeight } from './weightsFormat.js';

/** The model's weights in `model.getWeights()` order, named `<layer>/<weight>`. */
export function namedModelWeights(model: LayersModel): NamedWeight[] {
  const out: NamedWeight[] = [];
  for (const layer of model.layers) {
    if (!layer.built) continue;
    const names = layer.weightNames();
    const weights = layer.getWeights();
    if (names.length !== weights.length) {
      throw new Error(`internal: layer ${layer.name} has ${weights.length} weights but ${names.length} weight names`);
    }
    weights.forEach((w, i) => out.push({ name: `${layer.name}/${names[i]}`, shape: [...w.shape], dtype: 'float32', values: w.view() as Float32Array }));
  }
  return out;
}

interface Target {
  layer: Layer;
  name: string;
  /** The current shape, when the layer is built. */
  shape: number[] | null;
}

function targetsOf(model: LayersModel): Target[] {
  const out: Target[] = [];
  for (const layer of model.layers) {
    const names = layer.weightNames();
    const shapes = layer.built ? layer.getWeights().map((w) => [...w.shape]) : null;
    names.forEach((n, i) => out.push({ layer, name: `${layer.name}/${n}`, shape: shapes ? shapes[i] : null }));
  }
  return out;
}

/** `gru/gru_cell/kernel:0` matches `gru/kernel`: same layer, same weight, our path a subsequence of theirs. */
function looseMatch(ours: string, theirs: string): boolean {
  const a = ours.split('/');
  const b = theirs.split('/');
  if (b.length < a.length || a[0] !== b[0] || a[a.length - 1] !== b[b.length - 1]) return false;
  let j = 1;
  for (let i = 1; i < a.length - 1; i++) {
    while (j < b.length - 1 && b[j] !== a[i]) j++;
    if (j >= b.length - 1) return false;
    j++;
  }
  return true;
}

const stripSuffix = (name: string): string => name.replace(/:\d+$/, '');

/**
 * Which saved weight goes to which of the model's weights: by name (exact,
 * then `gru/gru_cell/kernel`-style), else by order when the counts agree.
 * Throws a ModelFileError that lists what is missing or left over.
 */
function match(targets: Target[], saved: NamedWeight[], where: string): NamedWeight[] {
  const byName = new Map<string, NamedWeight>();
  for (const w of saved) byName.set(stripSuffix(w.name), w);
  const used = new Set<NamedWeight>();
  const picked: Array<NamedWeight | undefined> = targets.map((t) => {
    const w = byName.get(t.name);
    if (w) used.add(w);
    return w;
  });
  targets.forEach((t, i) => {
    if (picked[i]) return;
    const candidates = saved.filter((w) => !used.has(w) && looseMatch(t.name, stripSuffix(w.name)));
    if (candidates.length === 1) {
      picked[i] = candidates[0];
      used.add(candidates[0]);
    }
  });
  const missing = targets.filter((_, i) => !picked[i]).map((t) => t.name);
  const extra = saved.filter((w) => !used.has(w)).map((w) => w.name);
  if (missing.length === 0 && extra.length === 0) return picked as NamedWeight[];
  // tfjs also accepts weights in model order when names differ.
  const list = (names: string[]): string => (names.length > 8 ? `${names.slice(0, 8).join(', ')}, ... (${names.length})` : names.join(', '));
  const problem = `${missing.length > 0 ? `the model's weights ${list(missing)} are not in the file` : ''}${missing.length > 0 && extra.length > 0 ? '; ' : ''}${extra.length > 0 ? `the file's weights ${list(extra)} match no weight of the model` : ''}`;
  if (saved.length !== targets.length) {
    throw new ModelFileError(`${where}: the weights do not match the model: ${problem} (the file has ${saved.length} weights, the model ${targets.length})`, { path: where });
  }
  const mismatch = targets.findIndex((t, i) => t.shape !== null && !sameShape(t.shape, saved[i].shape));
  if (mismatch >= 0) {
    throw new ModelFileError(
      `${where}: the weights do not match the model: ${problem}; taken in order, weight ${mismatch} (${saved[mismatch].name}) has shape ${formatShape(saved[mismatch].shape)} where the model's ${targets[mismatch].name} has ${formatShape(targets[mismatch].shape as number[])}`,
      { path: where },
    );
  }
  return saved;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Sets the model's weights from saved ones (`group` other than
 * `'optimizer'`). Every shape is checked before anything changes; if a
 * layer still refuses its weights, the layers set before it get their old
 * weights back.
 */
export function assignModelWeights(model: LayersModel, saved: NamedWeight[], where: string): void {
  const targets = targetsOf(model);
  const weights = match(targets, saved, where);
  targets.forEach((t, i) => {
    if (t.shape !== null && !sameShape(t.shape, weights[i].shape)) {
      throw new ModelFileError(`${where}: weight ${weights[i].name} has shape ${formatShape(weights[i].shape)}, but the model's ${t.name} has shape ${formatShape(t.shape)}`, { path: where });
    }
  });
  const perLayer = new Map<Layer, Tensor[]>();
  targets.forEach((t, i) => {
    const w = weights[i];
    const values = w.values instanceof Float32Array ? w.values : Float32Array.from(w.values);
    const list = perLayer.get(t.layer) ?? [];
    list.push(float32Tensor(values, w.shape));
    perLayer.set(t.layer, list);
  });
  const done: Array<[Layer, Tensor[] | null]> = [];
  try {
    for (const [layer, list] of perLayer) {
      const before = layer.built ? layer.getWeights() : null;
      layer.setWeights(list);
      done.push([layer, before]);
    }
  } catch (e) {
    for (const [layer, before] of done) if (before) layer.setWeights(before);
    const failed = [...perLayer.keys()][done.length];
    throw new ModelFileError(`${where}: cannot set the weights of layer ${failed?.name ?? '?'}: ${(e as Error).message}`, { path: where, cause: e });
  }
}
