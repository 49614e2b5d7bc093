/**
 * `model.saveWeights(path)` and `model.loadWeights(path)`: the weights
 * alone, without the architecture. saveWeights writes a directory with
 * `weights_manifest.json` (the tfjs manifest array `[{paths, weights}]`)
 * and `weights.bin`, crash-safe as `model.save`. loadWeights reads a
 * directory or file written by saveWeights or by `model.save` (its
 * model.json), matching weights by name (`<layer>/<weight>`), else by
 * order, and sets them all or none. Optimizer state is not touched.
 */
import path from 'node:path';
import { ModelFileError } from '../errors.js';
import type { LayersModel } from '../models/layersModel.js';
import { checkManifest, readWeights, SHARD_SIZE_BYTES, type WeightsManifestGroup } from './weightsFormat.js';
import { ensureDirectory, localPath, MODEL_JSON, readJsonFile, readModelJson, resolveJsonFile, WEIGHTS_MANIFEST_JSON } from './modelJson.js';
import { assignModelWeights, namedModelWeights } from './modelWeights.js';
import { writeWeightsAndJson, type SaveResult } from './saveModel.js';

/** Writes the model's weights to a directory (`weights_manifest.json` + `weights.bin`). */
export async function saveWeights(model: LayersModel, pathOrUrl: string): Promise<SaveResult> {
  const what = `${model.name}.saveWeights`;
  const dir = localPath(pathOrUrl, what);
  const weights = namedModelWeights(model);
  for (const w of weights) {
    for (let i = 0; i < w.values.length; i++) {
      if (!Number.isFinite(w.values[i])) throw new RangeError(`${what}: weight ${w.name} contains ${w.values[i]} at flat index ${i}; non-finite weights are not saved`);
    }
  }
  await ensureDirectory(dir, what);
  const r = await writeWeightsAndJson(dir, weights, WEIGHTS_MANIFEST_JSON, (manifest) => manifest, SHARD_SIZE_BYTES);
  return {
    modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', modelTopologyBytes: 0, weightSpecsBytes: r.specsBytes, weightDataBytes: r.dataBytes },
    files: r.files,
  };
}

/** Reads the manifest of a weights_manifest.json (an array) or a model.json (its weightsManifest). */
async function readManifest(file: string): Promise<WeightsManifestGroup[]> {
  if (path.basename(file) === WEIGHTS_MANIFEST_JSON) {
    const json = await readJsonFile(file);
    return checkManifest(Array.isArray(json) ? json : (json as { weightsManifest?: unknown })?.weightsManifest, file);
  }
  return (await readModelJson(file, false)).weightsManifest;
}

/**
 * Sets the model's weights from files saved by `saveWeights` or `save`
 * (a directory, its weights_manifest.json or model.json, or a `file://` URL).
 */
export async function loadWeights(model: LayersModel, pathOrUrl: string): Promise<void> {
  const what = `${model.name}.loadWeights`;
  const p = localPath(pathOrUrl, what);
  const file = await resolveJsonFile(p, [WEIGHTS_MANIFEST_JSON, MODEL_JSON], what);
  const manifest = await readManifest(file);
  const all = await readWeights(path.dirname(file), manifest);
  const weights = all.filter((w) => w.group !== 'optimizer');
  if (weights.length === 0 && model.layers.some((l) => l.weightNames().length > 0)) throw new ModelFileError(`${file} holds no model weights`, { path: file });
  assignModelWeights(model, weights, file);
}
