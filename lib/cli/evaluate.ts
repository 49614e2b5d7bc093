/**
 * `gatedrnn evaluate`: the metrics of a trained model (DIR/model of `train`
 * or `demo`) on a labelled file, prepared exactly as `train` prepared its
 * data, from the preprocessing.json saved beside the model:
 *
 * - forecast: every window of the file's rows (CSV, or JSON Lines objects
 *   with the same columns), z-scored or differenced with the saved
 *   statistics; RMSE and MAE in the target's own units, per horizon step
 *   too, against the naive forecasts (the last value; the value one season
 *   earlier with `--season N`);
 * - classify: labelled sequences (JSON Lines `{"x": ..., "label": ...}` or
 *   CSV rows of flattened steps), z-scored with the saved mean/std, padded
 *   with the saved pad value; loss, accuracy, the confusion matrix,
 *   per-class precision/recall/F1, and the majority-class baseline;
 * - text: a text column and a label column, tokenised with the saved
 *   vocabulary; the same report as classify.
 *
 * `loss` (and any metric the model was compiled with) is `model.evaluate`'s,
 * on the model's own scale (forecasts: z-scored targets). The file is read
 * into memory, as `train` reads its data. The report goes to `--output`
 * (written atomically) or to stdout as JSON; a summary goes to stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { getBackend } from '../backend/index.js';
import { atomicWriteFile } from '../io/atomicWrite.js';
import type { LayersModel } from '../models/layersModel.js';
import { tensor, type Tensor } from '../tensor.js';
import { readCsvTable } from './data/csv.js';
import { isJsonlPath, readJsonl } from './data/jsonl.js';
import { describeJson, sequenceFromFields, sequenceFromJson, type Sequence } from './data/sequences.js';
import { encodeText, vocabularyIndex } from './data/text.js';
import { decodeForecast, modelSteps, windowCount, windowTensors, type Series } from './data/windows.js';
import { JobError, UsageError } from './errors.js';
import type { ClassifyPreprocessing, ForecastPreprocessing, Preprocessing, TextPreprocessing } from './model/preprocessing.js';
import { loadModelDir, resolveModelDir } from './model/store.js';
import { parseIntOption } from './options.js';
import { mae, rmse, round } from './stats.js';

export function addEvaluateOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--model <dir>', 'model directory (DIR/model of train or demo, or its model.json)')
    .requiredOption('--data <file>', 'labelled data in the training format: .csv (header row) or .jsonl (one JSON object per line)')
    .addOption(new Option('--format <format>', 'data format, when the extension does not say').choices(['csv', 'jsonl']))
    .option('--batch-size <n>', 'samples per forward pass (default 256)')
    .option('--output <file>', 'write the metrics as JSON to this file (default: print them to stdout)')
    .option('--label <column>', 'classify/text: the label column or JSON key (default: the one the model was trained with)')
    .option('--season <n>', 'forecast: also score the seasonal-naive forecast (the value n rows earlier), e.g. 12 for monthly data')
    .option('-q, --quiet', 'no summary on stderr');
}

export interface EvaluateOptions {
  model: string;
  data: string;
  format: 'csv' | 'jsonl' | null;
  batchSize: number;
  output: string | null;
  label: string | null;
  season: number | null;
  quiet: boolean;
}

/** Rows of the data file as records (CSV header + fields, or JSON objects). */
interface Records {
  get(i: number, key: string): unknown;
  n: number;
  lineOf(i: number): number;
  columns: string[];
  kind: 'csv' | 'jsonl';
}

async function readRecords(file: string, format: 'csv' | 'jsonl' | null): Promise<Records> {
  const jsonl = format ? format === 'jsonl' : isJsonlPath(file);
  if (jsonl) {
    const recs = await readJsonl(file);
    for (const r of recs) {
      if (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value)) throw new JobError(`${file}: line ${r.lineNo}: expected a JSON object, got ${describeJson(r.value)}`);
    }
    return {
      get: (i, k) => (recs[i].value as Record<string, unknown>)[k],
      n: recs.length,
      lineOf: (i) => recs[i].lineNo,
      columns: Object.keys(recs[0].value as object),
      kind: 'jsonl',
    };
  }
  const t = await readCsvTable(file);
  if (t.rows.length === 0) throw new JobError(`${file}: no data rows`);
  const index = new Map(t.header.map((h, i) => [h, i]));
  return { get: (i, k) => (index.has(k) ? t.rows[i][index.get(k)!] : undefined), n: t.rows.length, lineOf: (i) => t.lines[i], columns: t.header, kind: 'csv' };
}

function requireColumn(r: Records, name: string, what: string, file: string): void {
  if (r.kind === 'csv' && !r.columns.includes(name)) throw new JobError(`${file}: no column ${JSON.stringify(name)} (${what}); its columns are ${r.columns.join(', ')}`);
}

/** model.evaluate's values by name (loss first, then the compiled metrics), on the model's own scale. */
async function modelEvaluate(model: LayersModel, x: Tensor, y: Tensor, batchSize: number): Promise<Record<string, number>> {
  const r = await model.evaluate(x, y, { batchSize, verbose: 0 });
  const values = (Array.isArray(r) ? r : [r]).map((t) => (t.dataSync() as Float32Array)[0]);
  const names = ['loss', ...(model.trainer?.logNames().slice(1) ?? [])];
  const out: Record<string, number> = {};
  values.forEach((v, i) => (out[names[i] ?? `metric${i}`] = round(v, 6)));
  return out;
}

/** The model compiled for evaluation: its saved training config if it has one, else the loss `train` uses for the task. */
function ensureCompiled(model: LayersModel, prep: Preprocessing): void {
  if (model.trainer) return;
  if (prep.task === 'forecast') model.compile({ optimizer: 'adam', loss: 'meanSquaredError', metrics: ['mae'] });
  else model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
}

// ---------------------------------------------------------------- forecast

async function evaluateForecast(model: LayersModel, prep: ForecastPreprocessing, o: EvaluateOptions): Promise<Record<string, unknown>> {
  const r = await readRecords(o.data, o.format);
  const F = prep.columns.length;
  for (const c of prep.columns) requireColumn(r, c, c === prep.target ? 'the target' : 'an input column', o.data);
  const values = new Float64Array(r.n * F);
  for (let i = 0; i < r.n; i++) {
    for (let f = 0; f < F; f++) {
      const v = r.get(i, prep.columns[f]);
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw new JobError(`${o.data}: line ${r.lineOf(i)}: ${prep.columns[f]} is ${v === undefined ? 'missing' : JSON.stringify(v)}, not a number`);
      values[i * F + f] = n;
    }
  }
  const H = prep.horizon;
  const W = prep.window;
  const nw = windowCount(r.n, W, H);
  if (nw < 1) throw new JobError(`${o.data}: ${r.n} rows are too few for the model's window of ${W} rows and horizon ${H} (needs at least ${W + H})`);
  if (o.season !== null && o.season > W) throw new UsageError(`--season ${o.season}: must be at most the model's window (${W})`);
  const series: Series = { values, rows: r.n, columns: F };
  const w = windowTensors(prep, series, 0, nw);
  const T = modelSteps(prep);
  const x = tensor(w.x, [nw, T, F]);
  const y = tensor(w.y, [nw, H]);
  const evaluated = await modelEvaluate(model, x, y, o.batchSize);
  const out = ((await model.predict(x, { batchSize: o.batchSize })) as Tensor).dataSync() as Float32Array;

  const ti = prep.targetIndex;
  const at = (row: number): number => values[row * F + ti];
  const pred: number[][] = Array.from({ length: H }, () => []);
  const truth: number[][] = Array.from({ length: H }, () => []);
  const last: number[][] = Array.from({ length: H }, () => []);
  const seasonal: number[][] = Array.from({ length: H }, () => []);
  for (let k = 0; k < nw; k++) {
    const lastRow = k + W - 1;
    const yhat = decodeForecast(prep, out, k * H, at(lastRow));
    for (let h = 0; h < H; h++) {
      const target = lastRow + 1 + h;
      pred[h].push(yhat[h]);
      truth[h].push(at(target));
      last[h].push(at(lastRow));
      if (o.season !== null) seasonal[h].push(at(target - o.season * (Math.floor(h / o.season) + 1)));
    }
  }
  const flat = (a: number[][]): number[] => a.flat();
  const score = (p: number[][]): { rmse: number; mae: number } => ({ rmse: round(rmse(flat(p), flat(truth)), 6), mae: round(mae(flat(p), flat(truth)), 6) });
  const model_ = score(pred);
  const baselines: Record<string, { rmse: number; mae: number; description: string }> = {
    lastValue: { ...score(last), description: 'last value (naive forecast): every step ahead equals the window\'s last value' },
  };
  if (o.season !== null) baselines.seasonalNaive = { ...score(seasonal), description: `seasonal naive: the value ${o.season} rows before the forecast row` };
  const best = Object.entries(baselines).reduce((a, b) => (b[1].rmse < a[1].rmse ? b : a));
  const report: Record<string, unknown> = {
    loss: evaluated.loss,
    modelMetrics: evaluated,
    rmse: model_.rmse,
    mae: model_.mae,
    ...(prep.units ? { units: prep.units } : {}),
    baselines,
    baselineRmse: best[1].rmse,
    baseline: best[0],
    beatsBaseline: model_.rmse < best[1].rmse,
    windows: nw,
    target: prep.target,
    window: W,
    horizon: H,
  };
  if (H > 1) {
    report.perHorizon = Array.from({ length: H }, (_, h) => ({
      step: h + 1,
      rmse: round(rmse(pred[h], truth[h]), 6),
      mae: round(mae(pred[h], truth[h]), 6),
      lastValueRmse: round(rmse(last[h], truth[h]), 6),
      ...(o.season !== null ? { seasonalNaiveRmse: round(rmse(seasonal[h], truth[h]), 6) } : {}),
    }));
  }
  return report;
}

// ---------------------------------------------------------------- classes

/** Class index of each label (the model's classes, compared as train compares them). */
function classIndex(classes: Array<string | number>): (label: unknown) => number | undefined {
  const numeric = classes.every((c) => typeof c === 'number');
  const key = (l: unknown): string => (numeric && l !== '' && l !== null && typeof l !== 'boolean' && Number.isFinite(Number(l)) ? String(Number(l)) : String(l));
  const index = new Map(classes.map((c, i) => [key(c), i]));
  return (l) => (l === undefined || l === null || l === '' ? undefined : index.get(key(l)));
}

/** Loss, accuracy, confusion matrix, per-class scores and the majority baseline of a classifier on (x, labels). */
async function classificationReport(model: LayersModel, x: Tensor, labels: Int32Array, classes: Array<string | number>, batchSize: number): Promise<Record<string, unknown>> {
  const n = labels.length;
  const C = classes.length;
  const y = tensor(Float32Array.from(labels), [n]);
  const evaluated = await modelEvaluate(model, x, y, batchSize);
  const out = ((await model.predict(x, { batchSize })) as Tensor).dataSync() as Float32Array;
  const width = out.length / n;
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (width === 1) predicted[i] = out[i] > 0.5 ? 1 : 0;
    else {
      let best = 0;
      for (let c = 1; c < width; c++) if (out[i * width + c] > out[i * width + best]) best = c;
      predicted[i] = best;
    }
  }
  const matrix = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    matrix[labels[i]][predicted[i]]++;
    if (labels[i] === predicted[i]) correct++;
  }
  const perClass = classes.map((cls, c) => {
    const support = matrix[c].reduce((a, b) => a + b, 0);
    const predictedCount = matrix.reduce((a, row) => a + row[c], 0);
    const tp = matrix[c][c];
    const precision = predictedCount > 0 ? tp / predictedCount : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: cls, support, predicted: predictedCount, correct: tp, precision: round(precision, 6), recall: round(recall, 6), f1: round(f1, 6) };
  });
  const present = perClass.filter((p) => p.support > 0);
  const majority = perClass.reduce((a, b) => (b.support > a.support ? b : a));
  const accuracy = correct / n;
  return {
    loss: evaluated.loss,
    modelMetrics: evaluated,
    accuracy: round(accuracy, 6),
    correct,
    samples: n,
    macroF1: round(present.reduce((a, p) => a + p.f1, 0) / Math.max(1, present.length), 6),
    classes,
    perClass,
    confusionMatrix: { rows: 'true class', columns: 'predicted class', labels: classes, matrix },
    baseline: 'majority class',
    baselineAccuracy: round(majority.support / n, 6),
    majorityClass: majority.class,
    beatsBaseline: accuracy > majority.support / n,
  };
}

function labelsOf(r: Records, key: string, classes: Array<string | number>, file: string): Int32Array {
  const idx = classIndex(classes);
  return Int32Array.from({ length: r.n }, (_, i) => {
    const l = r.get(i, key);
    const c = idx(l);
    if (c === undefined) throw new JobError(`${file}: line ${r.lineOf(i)}: label ${l === undefined ? '(missing)' : JSON.stringify(l)} is not one of the model's classes (${classes.join(', ')})`);
    return c;
  });
}

// ---------------------------------------------------------------- classify

async function evaluateClassify(model: LayersModel, prep: ClassifyPreprocessing, o: EvaluateOptions): Promise<Record<string, unknown>> {
  const r = await readRecords(o.data, o.format);
  const label = o.label ?? prep.label;
  requireColumn(r, label, '--label', o.data);
  const F = prep.features;
  const seqs: Sequence[] = [];
  const featureCols = r.kind === 'csv' ? r.columns.filter((c) => c !== label && c !== 'id') : [];
  for (let i = 0; i < r.n; i++) {
    let s: Sequence | string;
    if (r.kind === 'jsonl') s = sequenceFromJson(r.get(i, 'x'), F);
    else {
      const fields = featureCols.map((c) => String(r.get(i, c)));
      let end = fields.length;
      while (end > 0 && fields[end - 1] === '') end--;
      s = sequenceFromFields(fields.slice(0, end), F);
    }
    if (typeof s === 'string') throw new JobError(`${o.data}: line ${r.lineOf(i)}: ${s}`);
    if (s.features !== F) throw new JobError(`${o.data}: line ${r.lineOf(i)}: ${s.features} features per step, the model takes ${F}`);
    if (prep.timesteps !== null && s.steps !== prep.timesteps) throw new JobError(`${o.data}: line ${r.lineOf(i)}: ${s.steps} steps, the model was trained on sequences of exactly ${prep.timesteps}`);
    seqs.push(s);
  }
  const labels = labelsOf(r, label, prep.classes, o.data);
  const T = Math.max(...seqs.map((s) => s.steps));
  const x = new Float32Array(r.n * T * F).fill(prep.padValue ?? 0);
  seqs.forEach((s, k) => {
    for (let t = 0; t < s.steps; t++) for (let f = 0; f < F; f++) x[(k * T + t) * F + f] = (s.values[t * F + f] - prep.mean[f]) / prep.std[f];
  });
  return classificationReport(model, tensor(x, [r.n, T, F]), labels, prep.classes, o.batchSize);
}

// ---------------------------------------------------------------- text

async function evaluateText(model: LayersModel, prep: TextPreprocessing, o: EvaluateOptions): Promise<Record<string, unknown>> {
  const r = await readRecords(o.data, o.format);
  const label = o.label ?? prep.label;
  const textCol = r.kind === 'csv' && !r.columns.includes(prep.textColumn) && r.columns.includes('text') ? 'text' : prep.textColumn;
  requireColumn(r, textCol, 'the text column', o.data);
  requireColumn(r, label, '--label', o.data);
  const index = vocabularyIndex(prep.vocabulary);
  const encoded: number[][] = [];
  for (let i = 0; i < r.n; i++) {
    const t = r.get(i, textCol);
    if (typeof t !== 'string') throw new JobError(`${o.data}: line ${r.lineOf(i)}: ${textCol} is ${describeJson(t)}, not a string`);
    encoded.push(encodeText(t, index, prep.maxLen));
  }
  const labels = labelsOf(r, label, prep.classes, o.data);
  const T = Math.max(...encoded.map((e) => e.length));
  const x = new Float32Array(r.n * T);
  encoded.forEach((e, k) => x.set(e, k * T));
  let unknown = 0;
  let words = 0;
  for (const e of encoded) {
    for (const id of e) {
      if (id === 0) continue;
      words++;
      if (id === 1) unknown++;
    }
  }
  const report = await classificationReport(model, tensor(x, [r.n, T]), labels, prep.classes, o.batchSize);
  return { ...report, unknownWords: words > 0 ? round(unknown / words, 6) : 0 };
}

// ---------------------------------------------------------------- command

/** Evaluates and returns the report (also written to --output or stdout). */
export async function runEvaluate(o: EvaluateOptions): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const dir = resolveModelDir(o.model);
  const data = path.resolve(o.data);
  if (!fs.existsSync(data)) throw new UsageError(`--data ${o.data}: no such file`);
  const { model, prep } = await loadModelDir(dir, { compile: true });
  ensureCompiled(model, prep);
  const opts = { ...o, data };
  let body: Record<string, unknown>;
  switch (prep.task) {
    case 'forecast':
      body = await evaluateForecast(model, prep, opts);
      break;
    case 'classify':
      body = await evaluateClassify(model, prep, opts);
      break;
    case 'text':
      body = await evaluateText(model, prep, opts);
      break;
  }
  const report: Record<string, unknown> = { task: prep.task, model: dir, data, ...body, backend: getBackend(), seconds: round((Date.now() - t0) / 1000, 2) };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (o.output) await atomicWriteFile(path.resolve(o.output), json);
  else process.stdout.write(json);
  if (!o.quiet) process.stderr.write(`${summary(report)}\n`);
  return report;
}

function summary(r: Record<string, unknown>): string {
  if (r.task === 'forecast') {
    const b = r.baselines as Record<string, { rmse: number }>;
    const base = Object.entries(b).map(([k, v]) => `${k} ${v.rmse}`).join(', ');
    return `gatedrnn evaluate: ${r.windows} windows of ${r.target}: RMSE ${r.rmse}${r.units ? ` ${r.units}` : ''}, MAE ${r.mae} (baselines: ${base}); loss ${r.loss}`;
  }
  return `gatedrnn evaluate: ${r.samples} samples: accuracy ${r.accuracy} (majority class ${r.baselineAccuracy}), macro F1 ${r.macroF1}, loss ${r.loss}`;
}

/** The `evaluate` command. */
export async function runEvaluateCommand(cmd: Command): Promise<void> {
  const o = cmd.opts() as Record<string, string | boolean | undefined>;
  await runEvaluate({
    model: String(o.model),
    data: String(o.data),
    format: (o.format as 'csv' | 'jsonl' | undefined) ?? null,
    batchSize: o.batchSize === undefined ? 256 : parseIntOption(o.batchSize, '--batch-size', 1, 1 << 20),
    output: typeof o.output === 'string' ? o.output : null,
    label: typeof o.label === 'string' ? o.label : null,
    season: o.season === undefined ? null : parseIntOption(o.season, '--season', 1),
    quiet: Boolean(o.quiet),
  });
}
