/**
 * From a data file to training tensors, per task, and the preprocessing
 * saved with the model. With a saved preprocessing (a resumed run) the
 * same statistics, vocabulary and classes are used instead of refitting.
 *
 * Splits: forecasts are chronological (validation then test are the last
 * windows, in order); classification and text rows are shuffled once with
 * the run's seed, then split, so a file sorted by label still validates
 * on every class.
 */
import { Random } from '../../random.js';
import { tensor, type Tensor } from '../../tensor.js';
import type { Sequential } from '../../models/sequential.js';
import type { LayersModel } from '../../models/layersModel.js';
import { JobError, UsageError } from '../errors.js';
import { readCsvTable } from '../data/csv.js';
import { isJsonlPath, readJsonl } from '../data/jsonl.js';
import { sequenceFromFields, sequenceFromJson, describeJson, type Sequence } from '../data/sequences.js';
import { buildVocabulary, encodeText, tokenize, vocabularyIndex, TOKENIZER } from '../data/text.js';
import { decodeForecast, fitForecastTransform, windowTensors, type Series } from '../data/windows.js';
import { classifyModel, forecastModel, textModel, type HyperParams } from '../model/build.js';
import { header, type ClassifyPreprocessing, type ForecastPreprocessing, type Preprocessing, type Task, type TextPreprocessing } from '../model/preprocessing.js';
import { rmse, round } from '../stats.js';

/** The resolved `train` configuration (flags over --config over defaults). */
export interface TrainConfig extends HyperParams {
  data: string;
  format: 'csv' | 'jsonl' | null;
  task: Task;
  out: string;
  target: string | null;
  features: string[] | null;
  window: number;
  horizon: number;
  difference: boolean;
  label: string;
  timesteps: number | null;
  text: string;
  maxLen: number;
  vocabSize: number;
  minCount: number;
  epochs: number;
  batchSize: number;
  validationSplit: number;
  testSplit: number;
  patience: number;
  seed: number;
}

export interface Split {
  x: Tensor;
  y: Tensor;
  n: number;
}

/** What a task's data turns into. */
export interface TaskData {
  prep: Preprocessing;
  train: Split;
  val: Split | null;
  test: Split | null;
  /** A fresh model for this data. */
  build(hp: HyperParams): Sequential;
  /** Extra test metrics in the data's own units (forecast: RMSE against the last-value forecast). */
  testReport(model: LayersModel): Promise<Record<string, number | string>>;
  /** A one-line description for the log. */
  summary: string;
}

/** Rows as records: CSV (header + string fields) or JSON Lines objects. */
interface Records {
  /** Field of record i by name (undefined when missing). */
  get(i: number, key: string): unknown;
  n: number;
  lineOf(i: number): number;
  columns: string[];
  kind: 'csv' | 'jsonl';
}

async function readRecords(cfg: TrainConfig): Promise<Records> {
  const jsonl = cfg.format ? cfg.format === 'jsonl' : isJsonlPath(cfg.data);
  if (jsonl) {
    const recs = await readJsonl(cfg.data);
    for (const r of recs) {
      if (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value)) throw new JobError(`${cfg.data}: line ${r.lineNo}: expected a JSON object like {"x": [...], "label": ...}, got ${describeJson(r.value)}`);
    }
    const columns = Object.keys(recs[0].value as object);
    return { get: (i, k) => (recs[i].value as Record<string, unknown>)[k], n: recs.length, lineOf: (i) => recs[i].lineNo, columns, kind: 'jsonl' };
  }
  const t = await readCsvTable(cfg.data);
  if (t.rows.length === 0) throw new JobError(`${cfg.data}: no data rows`);
  const index = new Map(t.header.map((h, i) => [h, i]));
  return { get: (i, k) => (index.has(k) ? t.rows[i][index.get(k)!] : undefined), n: t.rows.length, lineOf: (i) => t.lines[i], columns: t.header, kind: 'csv' };
}

function requireColumn(r: Records, name: string, flag: string, file: string): void {
  if (r.kind === 'csv' && !r.columns.includes(name)) throw new UsageError(`${flag} ${name}: ${file} has no such column; its columns are ${r.columns.join(', ')}`);
}

function numberField(v: unknown, r: Records, i: number, name: string, file: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new JobError(`${file}: line ${r.lineOf(i)}: ${name} is ${v === undefined ? 'missing' : JSON.stringify(v)}, not a number`);
  return n;
}

/** Split sizes: test and validation counts out of n. */
function splitSizes(n: number, cfg: TrainConfig): { train: number; val: number; test: number } {
  const test = Math.round(n * cfg.testSplit);
  const val = Math.round((n - test) * cfg.validationSplit);
  const train = n - test - val;
  if (train < 1) throw new UsageError(`${n} samples leave none for training with --validation-split ${cfg.validationSplit} and --test-split ${cfg.testSplit}`);
  if (cfg.validationSplit > 0 && val < 1) throw new UsageError(`${n} samples are too few for --validation-split ${cfg.validationSplit} (no validation sample); use more data or --validation-split 0`);
  return { train, val, test };
}

// ---------------------------------------------------------------- forecast

async function forecastData(cfg: TrainConfig, saved: ForecastPreprocessing | null): Promise<TaskData> {
  const r = await readRecords(cfg);
  const target = saved?.target ?? cfg.target ?? r.columns[r.columns.length - 1];
  const columns = saved?.columns ?? cfg.features ?? [target];
  if (!columns.includes(target)) columns.push(target);
  for (const c of columns) requireColumn(r, c, c === target ? '--target' : '--features', cfg.data);
  const F = columns.length;
  const values = new Float64Array(r.n * F);
  for (let i = 0; i < r.n; i++) for (let f = 0; f < F; f++) values[i * F + f] = numberField(r.get(i, columns[f]), r, i, columns[f], cfg.data);
  const series: Series = { values, rows: r.n, columns: F };
  const window = saved?.window ?? cfg.window;
  const horizon = saved?.horizon ?? cfg.horizon;
  const nw = r.n - window - horizon + 1;
  if (nw < 3) throw new UsageError(`${cfg.data}: ${r.n} rows are too few for --window ${window} and --horizon ${horizon} (${Math.max(0, nw)} windows)`);
  const sizes = splitSizes(nw, cfg);
  const targetIndex = columns.indexOf(target);
  const transform = saved ?? fitForecastTransform(series, { columns, target, targetIndex, window, horizon, difference: cfg.difference }, sizes.train);
  const prep: ForecastPreprocessing = saved ?? { ...header(), task: 'forecast', ...transform };
  const T = transform.difference ? window - 1 : window;
  const split = (from: number, to: number): Split | null => {
    if (to <= from) return null;
    const w = windowTensors(transform, series, from, to);
    return { x: tensor(w.x, [w.n, T, F]), y: tensor(w.y, [w.n, horizon]), n: w.n };
  };
  const test = split(sizes.train + sizes.val, nw);
  return {
    prep,
    train: split(0, sizes.train)!,
    val: split(sizes.train, sizes.train + sizes.val),
    test,
    build: (hp) => forecastModel(hp, F, horizon),
    summary: `forecast ${target} ${horizon} step(s) ahead from ${window} rows of ${columns.join(', ')}${transform.difference ? ' (differenced)' : ''}: ${sizes.train} train / ${sizes.val} validation / ${sizes.test} test windows`,
    async testReport(model): Promise<Record<string, number | string>> {
      if (!test) return {};
      const from = sizes.train + sizes.val;
      const out = ((await model.predict(test.x, { batchSize: 256 })) as Tensor).dataSync() as Float32Array;
      const pred: number[] = [];
      const truth: number[] = [];
      const last: number[] = [];
      for (let k = 0; k < test.n; k++) {
        const i = from + k;
        const lastTarget = values[(i + window - 1) * F + targetIndex];
        const y = decodeForecast(transform, out, k * horizon, lastTarget);
        for (let h = 0; h < horizon; h++) {
          pred.push(y[h]);
          truth.push(values[(i + window + h) * F + targetIndex]);
          last.push(lastTarget);
        }
      }
      return { testRmse: round(rmse(pred, truth), 6), baselineRmse: round(rmse(last, truth), 6), baseline: 'last value (naive forecast)' };
    },
  };
}

// ---------------------------------------------------------------- classes

function classList(labels: unknown[], file: string, lineOf: (i: number) => number): Array<string | number> {
  const seen = new Map<string, string | number>();
  labels.forEach((l, i) => {
    if (typeof l !== 'string' && typeof l !== 'number' && typeof l !== 'boolean') throw new JobError(`${file}: line ${lineOf(i)}: the label is ${describeJson(l)}; labels must be strings or numbers`);
    if (l === '') throw new JobError(`${file}: line ${lineOf(i)}: empty label`);
    const v = typeof l === 'boolean' ? String(l) : l;
    seen.set(String(v), v);
  });
  const all = [...seen.values()];
  if (all.length < 2) throw new JobError(`${file}: only one class (${JSON.stringify(all[0])}) in the data; classification needs at least two`);
  const numeric = all.every((v) => typeof v === 'number' || /^-?\d+(\.\d+)?$/.test(String(v)));
  if (numeric) return [...new Set(all.map(Number))].sort((a, b) => a - b);
  return all.sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
}

function classIds(labels: unknown[], classes: Array<string | number>, file: string, lineOf: (i: number) => number): Float32Array {
  const numeric = classes.every((c) => typeof c === 'number');
  const key = (l: unknown): string => (numeric && l !== '' && Number.isFinite(Number(l)) ? String(Number(l)) : String(l));
  const index = new Map(classes.map((c, i) => [key(c), i]));
  return Float32Array.from(labels, (l, i) => {
    const id = index.get(key(l));
    if (id === undefined) throw new JobError(`${file}: line ${lineOf(i)}: label ${JSON.stringify(l)} is not one of the model's classes (${classes.join(', ')})`);
    return id;
  });
}

/** A seeded order of 0..n-1. */
function shuffledOrder(n: number, seed: number): number[] {
  const rng = new Random(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

function accuracyReport(): Promise<Record<string, number | string>> {
  return Promise.resolve({});
}

// ---------------------------------------------------------------- classify

/** The value padded steps hold; the Masking layer skips them. Far outside z-scored data. */
export const PAD_VALUE = -10000;

async function classifyData(cfg: TrainConfig, saved: ClassifyPreprocessing | null): Promise<TaskData> {
  const r = await readRecords(cfg);
  const label = saved?.label ?? cfg.label;
  requireColumn(r, label, '--label', cfg.data);
  const seqs: Sequence[] = [];
  const labels: unknown[] = [];
  if (r.kind === 'jsonl') {
    for (let i = 0; i < r.n; i++) {
      const s = sequenceFromJson(r.get(i, 'x'), saved?.features);
      if (typeof s === 'string') throw new JobError(`${cfg.data}: line ${r.lineOf(i)}: ${s}`);
      if (seqs.length > 0 && s.features !== seqs[0].features) throw new JobError(`${cfg.data}: line ${r.lineOf(i)}: ${s.features} features per step, line ${r.lineOf(0)} has ${seqs[0].features}`);
      seqs.push(s);
      labels.push(r.get(i, label));
    }
  } else {
    const featureCols = r.columns.filter((c) => c !== label && c !== 'id');
    const timesteps = saved?.timesteps ?? cfg.timesteps ?? featureCols.length;
    if (featureCols.length % timesteps !== 0) throw new UsageError(`--timesteps ${timesteps}: the ${featureCols.length} feature columns of ${cfg.data} do not split into ${timesteps} steps`);
    const F = featureCols.length / timesteps;
    for (let i = 0; i < r.n; i++) {
      const s = sequenceFromFields(featureCols.map((c) => String(r.get(i, c))), F);
      if (typeof s === 'string') throw new JobError(`${cfg.data}: line ${r.lineOf(i)}: ${s}`);
      seqs.push(s);
      labels.push(r.get(i, label));
    }
  }
  const F = seqs[0].features;
  const classes = saved?.classes ?? classList(labels, cfg.data, r.lineOf);
  const y = classIds(labels, classes, cfg.data, r.lineOf);
  const order = shuffledOrder(r.n, cfg.seed);
  const sizes = splitSizes(r.n, cfg);
  const trainIdx = order.slice(0, sizes.train);
  const lengths = new Set(seqs.map((s) => s.steps));
  const timesteps = saved ? saved.timesteps : lengths.size === 1 ? seqs[0].steps : null;
  let prep: ClassifyPreprocessing;
  if (saved) prep = saved;
  else {
    const sum = new Float64Array(F);
    const sumSq = new Float64Array(F);
    let count = 0;
    for (const i of trainIdx) {
      const s = seqs[i];
      for (let t = 0; t < s.steps; t++) {
        for (let f = 0; f < F; f++) {
          const v = s.values[t * F + f];
          sum[f] += v;
          sumSq[f] += v * v;
        }
      }
      count += s.steps;
    }
    const mean = Array.from(sum, (s) => s / count);
    const std = Array.from(sumSq, (s, f) => {
      const sd = Math.sqrt(Math.max(0, s / count - mean[f] ** 2));
      return sd > 1e-12 ? sd : 1;
    });
    prep = { ...header(), task: 'classify', features: F, timesteps, mean, std, classes, padValue: timesteps === null ? PAD_VALUE : null, label };
  }
  const T = Math.max(...seqs.map((s) => s.steps));
  const split = (idx: number[]): Split | null => {
    if (idx.length === 0) return null;
    const x = new Float32Array(idx.length * T * F).fill(prep.padValue ?? 0);
    const yy = new Float32Array(idx.length);
    idx.forEach((i, k) => {
      const s = seqs[i];
      for (let t = 0; t < s.steps; t++) for (let f = 0; f < F; f++) x[(k * T + t) * F + f] = (s.values[t * F + f] - prep.mean[f]) / prep.std[f];
      yy[k] = y[i];
    });
    return { x: tensor(x, [idx.length, T, F]), y: tensor(yy, [idx.length]), n: idx.length };
  };
  return {
    prep,
    train: split(trainIdx)!,
    val: split(order.slice(sizes.train, sizes.train + sizes.val)),
    test: split(order.slice(sizes.train + sizes.val)),
    build: (hp) => classifyModel(hp, F, classes.length, prep.padValue),
    summary: `classify sequences (${timesteps ?? `1..${T}`} steps × ${F} features) into ${classes.length} classes: ${sizes.train} train / ${sizes.val} validation / ${sizes.test} test`,
    testReport: accuracyReport,
  };
}

// ---------------------------------------------------------------- text

async function textData(cfg: TrainConfig, saved: TextPreprocessing | null): Promise<TaskData> {
  const r = await readRecords(cfg);
  const textCol = saved?.textColumn ?? cfg.text;
  const label = saved?.label ?? cfg.label;
  requireColumn(r, textCol, '--text', cfg.data);
  requireColumn(r, label, '--label', cfg.data);
  const texts: string[] = [];
  const labels: unknown[] = [];
  for (let i = 0; i < r.n; i++) {
    const t = r.get(i, textCol);
    if (typeof t !== 'string') throw new JobError(`${cfg.data}: line ${r.lineOf(i)}: ${textCol} is ${describeJson(t)}, not a string`);
    texts.push(t);
    labels.push(r.get(i, label));
  }
  const classes = saved?.classes ?? classList(labels, cfg.data, r.lineOf);
  const y = classIds(labels, classes, cfg.data, r.lineOf);
  const order = shuffledOrder(r.n, cfg.seed);
  const sizes = splitSizes(r.n, cfg);
  const trainIdx = order.slice(0, sizes.train);
  const prep: TextPreprocessing = saved ?? {
    ...header(),
    task: 'text',
    textColumn: textCol,
    tokenizer: TOKENIZER,
    maxLen: cfg.maxLen,
    vocabulary: buildVocabulary(trainIdx.map((i) => tokenize(texts[i])), cfg.vocabSize, cfg.minCount),
    classes,
    label,
  };
  const index = vocabularyIndex(prep.vocabulary);
  const encoded = texts.map((t) => encodeText(t, index, prep.maxLen));
  const T = Math.max(...encoded.map((e) => e.length));
  const split = (idx: number[]): Split | null => {
    if (idx.length === 0) return null;
    const x = new Float32Array(idx.length * T);
    const yy = new Float32Array(idx.length);
    idx.forEach((i, k) => {
      x.set(encoded[i], k * T);
      yy[k] = y[i];
    });
    return { x: tensor(x, [idx.length, T]), y: tensor(yy, [idx.length]), n: idx.length };
  };
  return {
    prep,
    train: split(trainIdx)!,
    val: split(order.slice(sizes.train, sizes.train + sizes.val)),
    test: split(order.slice(sizes.train + sizes.val)),
    build: (hp) => textModel(hp, prep.vocabulary.length + 2, classes.length),
    summary: `text classification into ${classes.length} classes, vocabulary ${prep.vocabulary.length + 2}, up to ${prep.maxLen} words: ${sizes.train} train / ${sizes.val} validation / ${sizes.test} test`,
    testReport: accuracyReport,
  };
}

/** The training data of the configured task (with the saved preprocessing when resuming). */
export function taskData(cfg: TrainConfig, saved: Preprocessing | null): Promise<TaskData> {
  if (saved && saved.task !== cfg.task) throw new UsageError(`the checkpoint is for task ${saved.task}, not ${cfg.task}`);
  switch (cfg.task) {
    case 'forecast':
      return forecastData(cfg, saved as ForecastPreprocessing | null);
    case 'classify':
      return classifyData(cfg, saved as ClassifyPreprocessing | null);
    case 'text':
      return textData(cfg, saved as TextPreprocessing | null);
  }
}
