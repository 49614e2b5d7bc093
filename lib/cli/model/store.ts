/**
 * A trained model on disk as the CLI writes it: `DIR/model.json` and its
 * weights (the TensorFlow.js layers format, `model.save`) with
 * `DIR/preprocessing.json` beside them. `--model` may name that directory,
 * its model.json, or a `train`/`demo` output directory holding `model/`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadLayersModel } from '../../io/loadModel.js';
import type { LayersModel } from '../../models/layersModel.js';
import { JobError, UsageError } from '../errors.js';
import { readPreprocessing, writePreprocessing, type Preprocessing } from './preprocessing.js';

/** Saves the model (with or without its optimizer state) and its preprocessing into `dir`. */
export async function saveModelDir(model: LayersModel, dir: string, prep: Preprocessing, includeOptimizer = false): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  // preprocessing.json first: a model.json is only ever next to the preprocessing it was trained with.
  await writePreprocessing(dir, prep);
  await model.save(dir, { includeOptimizer });
}

/** The directory holding model.json for a `--model` argument. */
export function resolveModelDir(arg: string): string {
  const p = path.resolve(arg.startsWith('file://') ? arg.slice('file://'.length) : arg);
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new UsageError(`--model ${arg}: no such file or directory`);
  }
  if (st.isFile()) return path.dirname(p);
  if (fs.existsSync(path.join(p, 'model.json'))) return p;
  if (fs.existsSync(path.join(p, 'model', 'model.json'))) return path.join(p, 'model');
  throw new UsageError(`--model ${arg}: no model.json there (nor in ${path.join(arg, 'model')})`);
}

/** Loads a model directory: the model (compiled with its optimizer state when saved with it) and its preprocessing. */
export async function loadModelDir(dir: string, options: { compile?: boolean } = {}): Promise<{ model: LayersModel; prep: Preprocessing }> {
  const prep = await readPreprocessing(dir);
  let model: LayersModel;
  try {
    model = await loadLayersModel(dir, { compile: options.compile ?? false });
  } catch (e) {
    throw new JobError(`cannot load the model in ${dir}: ${(e as Error).message}`);
  }
  return { model, prep };
}
