/**
 * preprocessing.json: everything `predict` must do to a raw row before the
 * model sees it and to the model's output after, saved next to model.json
 * by `train` and `demo`. One shape per task:
 *
 * - forecast: the window and its transform (windows.ts);
 * - classify: features per step, fixed timesteps (or null: any length),
 *   per-feature mean/std, the class labels, the padding value a Masking
 *   layer skips (null when the model has none);
 * - text: the text column, the tokenizer, the vocabulary, maxLen, classes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { atomicWriteFile } from '../../io/atomicWrite.js';
import { version } from '../../version.js';
import { JobError } from '../errors.js';
import type { ForecastTransform } from '../data/windows.js';

export const PREPROCESSING_JSON = 'preprocessing.json';
const FORMAT = 'gatedrnn-preprocessing';

interface Common {
  format: typeof FORMAT;
  version: 1;
  createdBy: string;
}

export interface ForecastPreprocessing extends Common, ForecastTransform {
  task: 'forecast';
  /** Unit of the target, for messages and charts (optional). */
  units?: string;
}

export interface ClassifyPreprocessing extends Common {
  task: 'classify';
  features: number;
  /** Steps per sequence, or null when the training sequences had different lengths. */
  timesteps: number | null;
  mean: number[];
  std: number[];
  classes: Array<string | number>;
  /** The value padded steps hold (the Masking layer's maskValue), or null. */
  padValue: number | null;
  /** The label column / JSON key in the training data. */
  label: string;
}

export interface TextPreprocessing extends Common {
  task: 'text';
  textColumn: string;
  tokenizer: string;
  maxLen: number;
  /** Words by id - 2 (0 is padding, 1 unknown). */
  vocabulary: string[];
  classes: Array<string | number>;
  label: string;
}

export type Preprocessing = ForecastPreprocessing | ClassifyPreprocessing | TextPreprocessing;
export type Task = Preprocessing['task'];
export const TASKS: readonly Task[] = ['forecast', 'classify', 'text'];

/** The common fields of a new preprocessing record. */
export function header(): Common {
  return { format: FORMAT, version: 1, createdBy: `gatedrnn ${version}` };
}

/** Writes preprocessing.json into `dir` (atomically). */
export async function writePreprocessing(dir: string, prep: Preprocessing): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  await atomicWriteFile(path.join(dir, PREPROCESSING_JSON), `${JSON.stringify(prep, null, 1)}\n`);
}

/** Reads and checks preprocessing.json from a model directory. */
export async function readPreprocessing(dir: string): Promise<Preprocessing> {
  const file = path.join(dir, PREPROCESSING_JSON);
  let json: unknown;
  try {
    json = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new JobError(`${file} does not exist: this model was not saved by gatedrnn train/demo, so predict does not know how to prepare its input`);
    throw new JobError(`${file}: ${(e as Error).message}`);
  }
  const p = json as Partial<Preprocessing>;
  if (!p || p.format !== FORMAT || p.version !== 1) throw new JobError(`${file}: not a gatedrnn preprocessing file (format ${JSON.stringify(p?.format)}, version ${JSON.stringify(p?.version)})`);
  if (!TASKS.includes(p.task as Task)) throw new JobError(`${file}: unknown task ${JSON.stringify(p.task)}`);
  return p as Preprocessing;
}
