/**
 * `model.save(pathOrUrl)`: the TensorFlow.js layers format, as tfjs-node's
 * `file://` handler writes it: a directory with `model.json`
 * (`{modelTopology, format: 'layers-model', generatedBy, convertedBy,
 * weightsManifest, trainingConfig?}`) and the weights as little-endian
 * float32 in `weights.bin` (or, above 4 MiB, in 4 MiB shards
 * `group1-shard1ofN.bin`, as tfjs's converter writes them). With
 * `includeOptimizer` (default true) a compiled model also saves its
 * training config and its optimizer's state (manifest entries with
 * `group: 'optimizer'`, `iter` as int32), as tfjs does.
 *
 * Crash safety: every file is written to a temporary name, fsynced and
 * renamed; model.json goes last. When a saved model is overwritten, the new
 * weights get names the old model.json does not use (`weights-2.bin`,
 * `group2-shard1ofN.bin`, ...), so until the new model.json replaces the old
 * one the old model stays complete and loadable; the old weight files are
 * removed afterwards. Always read the file names from model.json.
 */
import path from 'node:path';
import { ModelFileError } from '../errors.js';
import type { LayersModel } from '../models/layersModel.js';
import { writeFilesAtomically } from './atomicWrite.js';
import { ensureDirectory, localPath, MODEL_JSON, referencedFiles, removeFiles, WEIGHTS_MANIFEST_JSON, type ModelJson } from './modelJson.js';
import { GENERATED_BY, modelTopology, trainingConfig } from './modelConfig.js';
import { namedModelWeights } from './modelWeights.js';
import { encodeWeights, SHARD_SIZE_BYTES, splitShards, weightFileNames, type NamedWeight, type WeightsManifestGroup } from './weightsFormat.js';

/** Options of `model.save` (tfjs `SaveConfig`, plus the shard size). */
export interface SaveConfig {
  /** Save the training config and the optimizer's state when the model is compiled (default true). */
  includeOptimizer?: boolean;
  /** Largest weights file in bytes before the data is split into shards (default 4 MiB, as tfjs's converter). */
  shardSizeBytes?: number;
}

/** What `model.save` resolves to (tfjs `SaveResult`, plus the files written). */
export interface SaveResult {
  modelArtifactsInfo: {
    dateSaved: Date;
    modelTopologyType: 'JSON';
    modelTopologyBytes: number;
    weightSpecsBytes: number;
    weightDataBytes: number;
  };
  /** The files written, model.json last (absolute paths). */
  files: string[];
}

function checkSaveConfig(config: unknown, what: string): Required<SaveConfig> {
  if (config === undefined || config === null) return { includeOptimizer: true, shardSizeBytes: SHARD_SIZE_BYTES };
  if (typeof config !== 'object' || Array.isArray(config)) throw new TypeError(`${what}: options must be an object like {includeOptimizer: false}`);
  const c = config as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (k !== 'includeOptimizer' && k !== 'shardSizeBytes' && !(k === 'trainableOnly' && !c[k])) {
      throw new TypeError(`${what}: unknown option ${JSON.stringify(k)}; the options are includeOptimizer, shardSizeBytes`);
    }
  }
  if (c.includeOptimizer !== undefined && typeof c.includeOptimizer !== 'boolean') throw new TypeError(`${what}: includeOptimizer must be a boolean`);
  const shard = c.shardSizeBytes ?? SHARD_SIZE_BYTES;
  if (typeof shard !== 'number' || !Number.isInteger(shard) || shard < 4) throw new TypeError(`${what}: shardSizeBytes must be an integer >= 4, got ${JSON.stringify(shard)}`);
  return { includeOptimizer: (c.includeOptimizer as boolean | undefined) ?? true, shardSizeBytes: shard };
}

function checkFinite(weights: NamedWeight[], what: string): void {
  for (const w of weights) {
    const v = w.values;
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new RangeError(`${what}: weight ${w.name} contains ${v[i]} at flat index ${i}; a model with non-finite weights is not saved (it could not be loaded)`);
    }
  }
}

const SAFE_NAME = /^[^/\\]+$/;

/**
 * Writes weights plus the JSON file that lists them into `dir`, crash-safe:
 * new weight file names that neither `jsonName`'s current version nor the
 * other JSON files of the directory refer to, every file via temp + fsync +
 * rename, the JSON file last; then removes the weight files only the
 * replaced JSON file referred to.
 */
export async function writeWeightsAndJson(
  dir: string,
  weights: NamedWeight[],
  jsonName: string,
  makeJson: (manifest: WeightsManifestGroup[]) => unknown,
  shardSizeBytes: number,
): Promise<{ files: string[]; jsonBytes: number; specsBytes: number; dataBytes: number }> {
  const { specs, data } = encodeWeights(weights);
  const pieces = splitShards(data, shardSizeBytes);
  const old = await referencedFiles(dir, jsonName);
  const others = new Set<string>();
  for (const n of [MODEL_JSON, WEIGHTS_MANIFEST_JSON]) if (n !== jsonName) for (const f of await referencedFiles(dir, n)) others.add(f);
  let generation = 1;
  while (weightFileNames(pieces.length, generation).some((n) => old.has(n) || others.has(n))) generation++;
  const names = weightFileNames(pieces.length, generation);
  const manifest: WeightsManifestGroup[] = [{ paths: names, weights: specs }];
  const text = JSON.stringify(makeJson(manifest));
  const files = [...names.map((n, i) => ({ path: path.join(dir, n), data: pieces[i] })), { path: path.join(dir, jsonName), data: text }];
  try {
    await writeFilesAtomically(files);
  } catch (e) {
    // Weight files already renamed into place have new names nothing refers to.
    await removeFiles(dir, names);
    throw e;
  }
  const stale = [...old].filter((n) => SAFE_NAME.test(n) && n !== '.' && n !== '..' && n !== MODEL_JSON && n !== WEIGHTS_MANIFEST_JSON && !names.includes(n) && !others.has(n));
  await removeFiles(dir, stale);
  return { files: files.map((f) => f.path), jsonBytes: Buffer.byteLength(text), specsBytes: Buffer.byteLength(JSON.stringify(specs)), dataBytes: data.length };
}

/**
 * The optimizer's state as manifest weights (`group: 'optimizer'`; the
 * step counter `iter` as int32, as tfjs). A slot `<layer>/<weight>/<slot>`
 * gets the shape of its model weight (tfjs builds its state tensors from
 * these shapes), when the optimizer only knew the flat length.
 */
export function optimizerWeights(model: LayersModel, modelWeights: NamedWeight[]): NamedWeight[] {
  const shapes = new Map(modelWeights.map((w) => [w.name, w.shape]));
  return model.optimizer.getWeights().map((w) => {
    if (w.name === 'iter' && w.shape.length === 0) return { name: w.name, shape: [], dtype: 'int32' as const, values: Int32Array.from(w.value), group: 'optimizer' };
    const variable = w.name.slice(0, w.name.lastIndexOf('/'));
    const own = shapes.get(variable);
    const shape = own && own.reduce((a, b) => a * b, 1) === w.value.length ? own : w.shape;
    return { name: w.name, shape: [...shape], dtype: 'float32' as const, values: w.value, group: 'optimizer' };
  });
}

/**
 * Saves the model (architecture, weights, and with `includeOptimizer` the
 * compile settings and optimizer state) to a directory: `'file://dir'` or
 * a plain path. The directory is created if needed.
 */
export async function saveModel(model: LayersModel, pathOrUrl: string, config?: SaveConfig): Promise<SaveResult> {
  const what = `${model.name}.save`;
  const dir = localPath(pathOrUrl, what);
  const opts = checkSaveConfig(config, what);
  const topology = modelTopology(model);
  const weights = namedModelWeights(model);
  checkFinite(weights, what);
  const training = opts.includeOptimizer ? trainingConfig(model) : null;
  const optWeights = training ? optimizerWeights(model, weights) : [];
  checkFinite(optWeights, `${what} (optimizer state)`);
  try {
    await ensureDirectory(dir, what);
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    throw new ModelFileError(`${what}: cannot create directory ${dir}: ${(e as Error).message}`, { path: dir, cause: e });
  }
  const makeJson = (manifest: WeightsManifestGroup[]): ModelJson => {
    const json: ModelJson = { modelTopology: topology, format: 'layers-model', generatedBy: GENERATED_BY, convertedBy: null, weightsManifest: manifest };
    if (training) json.trainingConfig = training;
    return json;
  };
  const r = await writeWeightsAndJson(dir, [...weights, ...optWeights], MODEL_JSON, makeJson, opts.shardSizeBytes);
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: 'JSON',
      modelTopologyBytes: Buffer.byteLength(JSON.stringify(topology)),
      weightSpecsBytes: r.specsBytes,
      weightDataBytes: r.dataBytes,
    },
    files: r.files,
  };
}
