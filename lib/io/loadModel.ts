/**
 * `loadLayersModel('file://dir/model.json')` (tfjs-node's name) and its
 * alias `loadModel(path)`: reads a model saved by this library, by
 * TensorFlow.js (`model.save('file://...')`) or converted from Keras by
 * tfjs's converter. The architecture is rebuilt (layer names kept), the
 * weights are checked and set, and when the file has a training config the
 * model is compiled with it and its optimizer state restored, so that
 * training continues where it stopped.
 */
import path from 'node:path';
import { ModelFileError } from '../errors.js';
import type { LayersModel } from '../models/layersModel.js';
import { losses as lossFactories } from '../training/losses.js';
import type { CompileArgs } from '../training/trainer.js';
import { deserializeOptimizer } from '../training/optimizers.js';
import type { Optimizer, OptimizerWeight } from '../training/optimizer.js';
import { toCamelCase, valueFromKeras } from './kerasConfig.js';
import { localPath, MODEL_JSON, readModelJson, resolveJsonFile, type ModelJson } from './modelJson.js';
import { modelFromTopology } from './modelFromConfig.js';
import { assignModelWeights } from './modelWeights.js';
import { describe, readWeights, type NamedWeight } from './weightsFormat.js';

/** Options of {@link loadLayersModel}. */
export interface LoadOptions {
  /**
   * Compile the model with the saved training config and restore the
   * optimizer state, when the file has them (default true). false loads an
   * uncompiled model (for a custom loss, or to compile differently).
   */
  compile?: boolean;
}

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A loss from the training config: a name, or `{class_name, config}` for one with options. */
function lossFromJson(value: unknown, where: string): CompileArgs['loss'] {
  if (typeof value === 'string') return value;
  if (isDict(value) && typeof value.class_name === 'string') {
    const name = toCamelCase(value.class_name);
    const make = (lossFactories as Record<string, (args?: unknown) => unknown>)[name] ?? (lossFactories as Record<string, (args?: unknown) => unknown>)[name.charAt(0).toLowerCase() + name.slice(1)];
    if (!make) throw new ModelFileError(`${where}: trainingConfig.loss: unknown loss class ${JSON.stringify(value.class_name)}`, { path: where });
    return make(valueFromKeras(value.config ?? {})) as CompileArgs['loss'];
  }
  throw new ModelFileError(`${where}: trainingConfig.loss: expected a loss name, got ${describe(value)}`, { path: where });
}

function perOutput<T>(value: unknown, one: (v: unknown) => T): T | T[] | Record<string, T> {
  if (Array.isArray(value)) return value.map(one);
  if (isDict(value) && value.class_name === undefined) {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(value)) out[k] = one(v);
    return out;
  }
  return one(value);
}

/** Keras/tfjs optimizer config keys that change nothing here. */
const IGNORED_OPTIMIZER_KEYS = new Set(['name', 'jitCompile', 'isLegacyOptimizer', 'useEma', 'emaMomentum', 'emaOverwriteFrequency', 'lossScaleFactor', 'gradientAccumulationSteps', 'decay']);

/** An optimizer from `optimizer_config: {class_name, config}` (camelCase as tfjs writes it, or Keras's snake_case). */
function optimizerFromJson(value: unknown, where: string): Optimizer {
  if (!isDict(value) || typeof value.class_name !== 'string') {
    throw new ModelFileError(`${where}: trainingConfig.optimizer_config must be {class_name, config}, got ${describe(value)}`, { path: where });
  }
  const raw = valueFromKeras(value.config ?? {}) as Dict;
  const config: Dict = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === null || v === undefined || IGNORED_OPTIMIZER_KEYS.has(k)) continue;
    config[k] = v;
  }
  try {
    return deserializeOptimizer({ className: value.class_name, config });
  } catch (e) {
    throw new ModelFileError(`${where}: cannot restore the optimizer ${value.class_name}: ${(e as Error).message}`, { path: where, cause: e });
  }
}

/** compile() arguments from a saved training config. */
export function compileArgsFromTrainingConfig(tc: unknown, where: string): CompileArgs {
  if (!isDict(tc)) throw new ModelFileError(`${where}: trainingConfig must be an object, got ${describe(tc)}`, { path: where });
  for (const key of ['weighted_metrics', 'sample_weight_mode']) {
    const v = tc[key];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) {
      throw new ModelFileError(`${where}: trainingConfig.${key} is not supported (got ${describe(v)}); load with {compile: false} and compile the model yourself`, { path: where });
    }
  }
  const args: CompileArgs = {
    optimizer: optimizerFromJson(tc.optimizer_config ?? tc.optimizerConfig, where),
    loss: perOutput(tc.loss, (v) => lossFromJson(v, where)) as CompileArgs['loss'],
  };
  const metrics = tc.metrics;
  if (metrics !== undefined && metrics !== null && !(Array.isArray(metrics) && metrics.length === 0)) {
    args.metrics = perOutput(metrics, (m) => {
      if (typeof m === 'string') return m;
      if (Array.isArray(m) && m.every((x) => typeof x === 'string')) return m;
      throw new ModelFileError(`${where}: trainingConfig.metrics: expected metric names, got ${describe(m)}`, { path: where });
    }) as CompileArgs['metrics'];
  }
  const lw = tc.loss_weights ?? tc.lossWeights;
  if (lw !== undefined && lw !== null) args.lossWeights = lw as CompileArgs['lossWeights'];
  return args;
}

/** Compiles the model from the training config and restores the optimizer state. */
function restoreTraining(model: LayersModel, tc: unknown, optimizerState: NamedWeight[], where: string): void {
  const args = compileArgsFromTrainingConfig(tc, where);
  try {
    model.compile(args);
  } catch (e) {
    throw new ModelFileError(`${where}: cannot compile the model from its trainingConfig: ${(e as Error).message}; load with {compile: false} to skip it`, { path: where, cause: e });
  }
  if (optimizerState.length === 0) return;
  const weights: OptimizerWeight[] = inTrainingOrder(model, optimizerState).map((w) => ({
    name: w.name,
    value: w.values instanceof Float32Array ? w.values : Float32Array.from(w.values),
    shape: [...w.shape],
  }));
  try {
    model.optimizer.setWeights(weights);
  } catch (e) {
    throw new ModelFileError(`${where}: cannot restore the optimizer state: ${(e as Error).message}`, { path: where, cause: e });
  }
}

/** The names of the variables training updates, in the order the trainer gives them to the optimizer. */
function trainableVariableNames(model: LayersModel): string[] {
  const out: string[] = [];
  for (const layer of model.layers) {
    const names = layer.weightNames();
    const flags = layer.trainableWeightFlags();
    names.forEach((n, k) => {
      if (flags[k]) out.push(`${layer.name}/${n}`);
    });
  }
  return out;
}

/**
 * The saved optimizer state (`iter`, then slot-major `<variable>/<slot>`)
 * reordered to this model's variable order: a file from tfjs lists the
 * variables in its own layer order (a functional model's layers may come in
 * another order here). Left as it is when the variables do not correspond,
 * so that `setWeights` reports the mismatch.
 */
function inTrainingOrder(model: LayersModel, state: NamedWeight[]): NamedWeight[] {
  const [iter, ...rest] = state;
  if (iter?.name !== 'iter' || rest.length === 0) return state;
  const order = trainableVariableNames(model);
  const slots: string[] = [];
  const bySlot = new Map<string, Map<string, NamedWeight>>();
  for (const w of rest) {
    const cut = w.name.lastIndexOf('/');
    if (cut <= 0) return state;
    const slot = w.name.slice(cut + 1);
    const variable = w.name.slice(0, cut);
    if (!bySlot.has(slot)) {
      slots.push(slot);
      bySlot.set(slot, new Map());
    }
    bySlot.get(slot)!.set(variable, w);
  }
  for (const vars of bySlot.values()) {
    if (vars.size !== order.length || !order.every((v) => vars.has(v))) return state;
  }
  return [iter, ...slots.flatMap((slot) => order.map((v) => bySlot.get(slot)!.get(v)!))];
}

/** The training config of a model.json: tfjs's top-level `trainingConfig`, or Keras's `modelTopology.training_config`. */
function trainingConfigOf(json: ModelJson): unknown {
  const j = json as unknown as Dict;
  return j.trainingConfig ?? j.training_config ?? json.modelTopology.training_config ?? null;
}

/**
 * Loads a saved model: `'file://dir/model.json'`, the directory, or a plain
 * path to either. http(s) URLs are refused (no downloads). Resolves to a
 * Sequential or functional model that predicts, evaluates, trains and saves
 * again. A missing, truncated or corrupt file, a manifest that does not
 * match the data, or an unknown layer class or option throws a
 * {@link ModelFileError} naming the file and the problem.
 */
export async function loadLayersModel(pathOrUrl: string, options: LoadOptions = {}): Promise<LayersModel> {
  const what = 'loadLayersModel';
  if (options === null || typeof options !== 'object') throw new TypeError(`${what}: options must be an object like {compile: false}`);
  for (const k of Object.keys(options)) if (k !== 'compile' && k !== 'strict') throw new TypeError(`${what}: unknown option ${JSON.stringify(k)}; the options are compile`);
  const file = await resolveJsonFile(localPath(pathOrUrl, what), [MODEL_JSON], what);
  const json = await readModelJson(file);
  const model = modelFromTopology(json.modelTopology, file);
  const all = await readWeights(path.dirname(file), json.weightsManifest);
  assignModelWeights(model, all.filter((w) => w.group !== 'optimizer'), file);
  const tc = trainingConfigOf(json);
  if (tc !== null && tc !== undefined && options.compile !== false) restoreTraining(model, tc, all.filter((w) => w.group === 'optimizer'), file);
  return model;
}

/** Alias of {@link loadLayersModel} taking a directory or its model.json (Keras's `load_model`). */
export function loadModel(pathOrUrl: string, options?: LoadOptions): Promise<LayersModel> {
  return loadLayersModel(pathOrUrl, options);
}

/**
 * A model from its architecture alone (tfjs `models.modelFromJSON`): a
 * `modelTopology` object or JSON string (`{class_name, config, ...}`), or a
 * model.json object holding one. The weights are freshly initialised.
 */
export async function modelFromJSON(json: string | Dict): Promise<LayersModel> {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw new ModelFileError(`modelFromJSON: not valid JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  if (isDict(value) && isDict(value.modelTopology)) value = value.modelTopology;
  return modelFromTopology(value, 'modelFromJSON');
}
