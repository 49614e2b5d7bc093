/**
 * `gatedrnn train`: trains a forecaster, sequence classifier or text
 * classifier from a CSV or JSON Lines file, with hyper-parameters from flags
 * or a JSON/YAML `--config`, a validation split, early stopping, a
 * checkpoint after every epoch (DIR/checkpoint, crash-safe) and `--resume`
 * after an interruption. Writes DIR/model (model.json, weights,
 * preprocessing.json: what predict needs), DIR/metrics.json,
 * DIR/history.json and DIR/training.svg.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { getBackend } from '../backend/index.js';
import { loadLayersModel } from '../io/loadModel.js';
import { atomicWriteFile } from '../io/atomicWrite.js';
import type { LayersModel } from '../models/layersModel.js';
import { setSeed } from '../random.js';
import type { Tensor } from '../tensor.js';
import { plotHistory } from '../training/plot.js';
import { JobError, UsageError } from './errors.js';
import { mergeOptions, parseBoolOption, parseFloatOption, parseIntOption, readConfigFile } from './options.js';
import { readPreprocessing, TASKS, writePreprocessing, type Preprocessing, type Task } from './model/preprocessing.js';
import { saveModelDir } from './model/store.js';
import { CheckpointCallback, emptyState, readState, type RunState } from './train/checkpoint.js';
import { EpochProgress } from './train/progress.js';
import { taskData, type TrainConfig } from './train/tasks.js';
import { round } from './stats.js';

/** Keys a --config file may set (camelCase; kebab-case and snake_case are accepted in the file). */
const CONFIG_KEYS = [
  'data', 'format', 'task', 'out', 'target', 'features', 'window', 'horizon', 'difference', 'label', 'timesteps', 'text', 'maxLen', 'vocabSize', 'minCount',
  'cell', 'units', 'layers', 'dropout', 'recurrentDropout', 'embeddingDim', 'epochs', 'batchSize', 'learningRate', 'clipnorm', 'validationSplit', 'testSplit', 'patience', 'seed',
] as const;

/** Settings that may differ when resuming; the rest come from the checkpoint's run.json. */
const RESUMABLE = new Set(['data', 'epochs', 'patience', 'out']);

export const TRAIN_DEFAULTS = {
  window: 24, horizon: 1, label: 'label', text: 'text', maxLen: 100, vocabSize: 10000, minCount: 1,
  cell: 'gru', units: 32, layers: 1, dropout: 0, recurrentDropout: 0, embeddingDim: 32,
  epochs: 50, batchSize: 32, learningRate: 0.001, clipnorm: 1, validationSplit: 0.2, testSplit: 0, patience: 10, seed: 42,
};

export function addTrainOptions(cmd: Command): Command {
  const d = TRAIN_DEFAULTS;
  return cmd
    .option('--data <file>', 'training data: .csv (header row) or .jsonl/.ndjson (one JSON object per line)')
    .addOption(new Option('--format <format>', 'data format, when the extension does not say').choices(['csv', 'jsonl']))
    .addOption(new Option('--task <task>', 'what to learn').choices([...TASKS]))
    .option('--out <dir>', 'output directory (model/, checkpoint/, metrics.json)')
    .option('--config <file>', 'hyper-parameters and options from a JSON or YAML file (flags win)')
    .option('--target <column>', 'forecast: the column to predict (default: the last column)')
    .option('--features <columns>', 'forecast: comma-separated input columns (default: the target alone)', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--window <n>', `forecast: rows per input window (default ${d.window})`)
    .option('--horizon <n>', `forecast: steps ahead predicted (default ${d.horizon})`)
    .option('--difference', 'forecast: model first differences and the change from the last value (for trending series)')
    .option('--label <column>', `classify/text: the label column or JSON key (default ${d.label})`)
    .option('--timesteps <n>', 'classify, CSV: steps per row of flattened features (default: one feature per step)')
    .option('--text <column>', `text: the text column or JSON key (default ${d.text})`)
    .option('--max-len <n>', `text: words kept per text (default ${d.maxLen})`)
    .option('--vocab-size <n>', `text: vocabulary size including padding and unknown (default ${d.vocabSize})`)
    .option('--min-count <n>', `text: least occurrences for a word to enter the vocabulary (default ${d.minCount})`)
    .addOption(new Option('--cell <cell>', `recurrent layer (default ${d.cell})`).choices(['gru', 'lstm']))
    .option('--units <n>', `units per recurrent layer (default ${d.units})`)
    .option('--layers <n>', `stacked recurrent layers (default ${d.layers})`)
    .option('--dropout <rate>', `input dropout of the recurrent layers (default ${d.dropout})`)
    .option('--recurrent-dropout <rate>', `recurrent dropout (default ${d.recurrentDropout})`)
    .option('--embedding-dim <n>', `text: embedding size (default ${d.embeddingDim})`)
    .option('--epochs <n>', `most epochs (default ${d.epochs})`)
    .option('--batch-size <n>', `samples per step (default ${d.batchSize})`)
    .option('--learning-rate <lr>', `Adam learning rate (default ${d.learningRate})`)
    .option('--clipnorm <c>', `gradient norm clipping, 0 for none (default ${d.clipnorm})`)
    .option('--validation-split <f>', `fraction held out for validation and early stopping (default ${d.validationSplit})`)
    .option('--test-split <f>', `fraction held out for a final test (default ${d.testSplit})`)
    .option('--patience <n>', `early stopping: epochs without improvement (default ${d.patience})`)
    .option('--seed <n>', `random seed (default ${d.seed})`)
    .option('--resume', 'continue the interrupted run in --out from its last checkpoint')
    .option('--overwrite', 'start afresh even if --out holds a run')
    .addOption(new Option('--stop-after-epochs <n>', 'end this run after n epochs, as an interruption (resume later)').hideHelp())
    .option('-q, --quiet', 'no progress output');
}

function str(v: unknown, flag: string): string {
  if (typeof v !== 'string' || v === '') throw new UsageError(`${flag} must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

/** The configuration from merged raw values, checked, with defaults. */
export function resolveConfig(raw: Record<string, unknown>): TrainConfig {
  const d = TRAIN_DEFAULTS;
  const get = <T>(k: string, parse: (v: unknown, flag: string) => T, def: T): T => (raw[k] === undefined ? def : parse(raw[k], `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`));
  const int = (min: number, max = Infinity) => (v: unknown, f: string) => parseIntOption(v, f, min, max);
  const float = (min: number, max = Infinity, open = false) => (v: unknown, f: string) => parseFloatOption(v, f, min, max, open);
  if (raw.data === undefined) throw new UsageError('--data FILE is required');
  if (raw.task === undefined) throw new UsageError(`--task is required: ${TASKS.join(', ')}`);
  if (raw.out === undefined) throw new UsageError('--out DIR is required');
  const task = raw.task as Task;
  if (!TASKS.includes(task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got ${JSON.stringify(raw.task)}`);
  const cell = get('cell', (v, f) => (v === 'gru' || v === 'lstm' ? v : (() => { throw new UsageError(`${f} must be gru or lstm`); })()), d.cell as 'gru' | 'lstm');
  const format = raw.format === undefined ? null : raw.format === 'csv' || raw.format === 'jsonl' ? raw.format : (() => { throw new UsageError('--format must be csv or jsonl'); })();
  const features = raw.features === undefined ? null : Array.isArray(raw.features) ? raw.features.map((f) => str(f, '--features')) : str(raw.features, '--features').split(',').map((s) => s.trim());
  const cfg: TrainConfig = {
    data: path.resolve(str(raw.data, '--data')),
    format,
    task,
    out: path.resolve(str(raw.out, '--out')),
    target: raw.target === undefined ? null : str(raw.target, '--target'),
    features,
    window: get('window', int(2), d.window),
    horizon: get('horizon', int(1), d.horizon),
    difference: get('difference', parseBoolOption, false),
    label: get('label', str, d.label),
    timesteps: get('timesteps', int(1), null as number | null),
    text: get('text', str, d.text),
    maxLen: get('maxLen', int(1), d.maxLen),
    vocabSize: get('vocabSize', int(3), d.vocabSize),
    minCount: get('minCount', int(1), d.minCount),
    cell,
    units: get('units', int(1, 8192), d.units),
    layers: get('layers', int(1, 16), d.layers),
    dropout: get('dropout', float(0, 1, true), d.dropout),
    recurrentDropout: get('recurrentDropout', float(0, 1, true), d.recurrentDropout),
    embeddingDim: get('embeddingDim', int(1), d.embeddingDim),
    epochs: get('epochs', int(1), d.epochs),
    batchSize: get('batchSize', int(1), d.batchSize),
    learningRate: get('learningRate', float(0), d.learningRate),
    clipnorm: (() => {
      const c = get('clipnorm', float(0), d.clipnorm as number);
      return c === 0 ? null : c;
    })(),
    validationSplit: get('validationSplit', float(0, 1, true), d.validationSplit),
    testSplit: get('testSplit', float(0, 1, true), d.testSplit),
    patience: get('patience', int(1), d.patience),
    seed: get('seed', int(0, 2 ** 32 - 1), d.seed),
  };
  if (cfg.validationSplit + cfg.testSplit >= 1) throw new UsageError('--validation-split plus --test-split must be below 1');
  if (!fs.existsSync(cfg.data)) throw new UsageError(`--data ${raw.data}: no such file`);
  return cfg;
}

function say(quiet: boolean, message: string): void {
  if (!quiet) process.stderr.write(`${message}\n`);
}

/** The `train` command. */
export async function runTrain(cmd: Command): Promise<void> {
  const o = cmd.opts() as Record<string, unknown>;
  const quiet = Boolean(o.quiet);
  const configFile = typeof o.config === 'string' ? o.config : null;
  const fileConfig = configFile ? readConfigFile(configFile) : {};
  // A data path in a config file is relative to the file.
  if (configFile && typeof fileConfig.data === 'string') fileConfig.data = path.resolve(path.dirname(path.resolve(configFile)), fileConfig.data);
  const raw = mergeOptions(cmd, fileConfig, CONFIG_KEYS, configFile ?? '');
  const stopAfter = o.stopAfterEpochs === undefined ? null : parseIntOption(o.stopAfterEpochs, '--stop-after-epochs', 1);
  if (o.resume && o.overwrite) throw new UsageError('give --resume or --overwrite, not both');
  if (raw.out === undefined) throw new UsageError('--out DIR is required');
  const out = path.resolve(String(raw.out));
  const ckpt = path.join(out, 'checkpoint');
  const runFile = path.join(ckpt, 'run.json');

  let cfg: TrainConfig;
  let state: RunState | null = readState(ckpt);
  let savedPrep: Preprocessing | null = null;
  if (o.resume) {
    if (!state || !fs.existsSync(runFile)) throw new UsageError(`--resume: ${out} has no checkpoint to resume (no ${path.join(ckpt, 'state.json')})`);
    const saved = JSON.parse(fs.readFileSync(runFile, 'utf8')) as Record<string, unknown>;
    const ignored: string[] = [];
    for (const k of CONFIG_KEYS) {
      if (raw[k] === undefined || RESUMABLE.has(k)) continue;
      if (JSON.stringify(raw[k]) !== JSON.stringify(saved[k]) && !(k === 'out')) ignored.push(`--${k}`);
    }
    if (ignored.length > 0) say(quiet, `note: ${ignored.join(', ')} ignored with --resume: the run keeps the settings it started with (${runFile})`);
    // run.json is a resolved TrainConfig: null means 'not set' (clipnorm null: no clipping).
    const merged: Record<string, unknown> = { out };
    for (const [k, v] of Object.entries(saved)) if (v !== null) merged[k] = v;
    if (saved.clipnorm === null) merged.clipnorm = 0;
    for (const k of RESUMABLE) if (raw[k] !== undefined) merged[k] = raw[k];
    cfg = resolveConfig(merged);
    savedPrep = await readPreprocessing(ckpt);
  } else {
    cfg = resolveConfig(raw);
    if (state) {
      if (!o.overwrite) {
        throw new UsageError(`${out} already holds a training run (${state.epochsDone} epoch(s) done); continue it with --resume, or start again with --overwrite`);
      }
      await fs.promises.rm(ckpt, { recursive: true, force: true });
      await fs.promises.rm(path.join(out, 'model'), { recursive: true, force: true });
      state = null;
    }
  }

  setSeed((cfg.seed + (state?.epochsDone ?? 0)) >>> 0);
  const data = await taskData(cfg, savedPrep);
  say(quiet, `gatedrnn train: ${data.summary} (backend ${getBackend()})`);
  const monitor = data.val ? 'val_loss' : 'loss';

  let model: LayersModel;
  if (state && state.latest) {
    try {
      model = await loadLayersModel(path.join(ckpt, state.latest), { compile: true });
    } catch (e) {
      throw new JobError(`cannot load the checkpoint ${path.join(ckpt, state.latest)}: ${(e as Error).message}`);
    }
  } else {
    model = data.build(cfg);
    state = state ?? emptyState(monitor);
    fs.mkdirSync(ckpt, { recursive: true });
    // Configuration and preprocessing first: a state.json is only ever next to them.
    const { ...runConfig } = cfg;
    await atomicWriteFile(runFile, `${JSON.stringify(runConfig, null, 1)}\n`);
    await writePreprocessing(ckpt, data.prep);
  }

  const done = state.stoppedEarly || state.epochsDone >= cfg.epochs;
  const checkpoint = new CheckpointCallback({ dir: ckpt, state, patience: cfg.patience, minDelta: 0, stopAfterEpochs: stopAfter });
  if (!done) {
    if (state.epochsDone > 0) say(quiet, `resuming from the checkpoint after epoch ${state.epochsDone}`);
    await model.fit(data.train.x, data.train.y, {
      epochs: cfg.epochs,
      initialEpoch: state.epochsDone,
      batchSize: cfg.batchSize,
      validationData: data.val ? [data.val.x, data.val.y] : undefined,
      shuffle: true,
      verbose: 0,
      callbacks: [new EpochProgress('training', quiet), checkpoint],
    });
    if (checkpoint.interrupted) {
      say(quiet, `stopped after epoch ${state.epochsDone} (--stop-after-epochs); continue with: gatedrnn train --out ${out} --resume`);
      return;
    }
  }
  await finish(model, data, cfg, state, out, quiet);
}

async function evaluateSplit(model: LayersModel, split: { x: Tensor; y: Tensor } | null, prefix: string): Promise<Record<string, number>> {
  if (!split) return {};
  const r = await model.evaluate(split.x, split.y, { batchSize: 256 });
  const values = (Array.isArray(r) ? r : [r]).map((t) => (t.dataSync() as Float32Array)[0]);
  const names = ['loss', ...(model.trainer?.logNames().slice(1) ?? [])];
  const out: Record<string, number> = {};
  values.forEach((v, i) => (out[`${prefix}${names[i] ?? `metric${i}`}`] = round(v, 6)));
  return out;
}

/** Best weights back, final evaluation, DIR/model, metrics.json, history.json, training.svg. */
async function finish(model: LayersModel, data: Awaited<ReturnType<typeof taskData>>, cfg: TrainConfig, state: RunState, out: string, quiet: boolean): Promise<void> {
  const ckpt = path.join(out, 'checkpoint');
  if (state.best) await model.loadWeights(path.join(ckpt, state.best.dir));
  const modelDir = path.join(out, 'model');
  await saveModelDir(model, modelDir, data.prep);
  const metrics: Record<string, unknown> = {
    task: cfg.task,
    epochs: state.epochsDone,
    bestEpoch: state.best ? state.best.epoch + 1 : null,
    monitor: state.monitor,
    stoppedEarly: state.stoppedEarly,
    ...(await evaluateSplit(model, data.train, 'train_')),
    ...(await evaluateSplit(model, data.val, 'val_')),
    ...(await evaluateSplit(model, data.test, 'test_')),
    ...(await data.testReport(model)),
    samples: { train: data.train.n, validation: data.val?.n ?? 0, test: data.test?.n ?? 0 },
    parameters: model.countParams(),
    backend: getBackend(),
    seconds: round(state.seconds, 1),
  };
  await atomicWriteFile(path.join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  await atomicWriteFile(path.join(out, 'history.json'), `${JSON.stringify({ epoch: state.epochs, history: state.history })}\n`);
  if (state.epochs.length > 0) await plotHistory({ epoch: state.epochs, history: state.history }, path.join(out, 'training.svg'), { title: `gatedrnn train: ${cfg.task}` });
  const shown = Object.entries(metrics).filter(([k, v]) => typeof v === 'number' && /^(val_|test)/.test(k)).map(([k, v]) => `${k} ${v}`);
  say(quiet, `trained ${state.epochsDone} epoch(s)${state.stoppedEarly ? ' (early stopping)' : ''}${state.best ? `, best ${state.best.epoch + 1}` : ''}; ${shown.join(', ')}`);
  say(quiet, `wrote ${path.join(modelDir, 'model.json')} (+ preprocessing.json), ${path.join(out, 'metrics.json')}`);
}
