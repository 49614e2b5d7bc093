/**
 * The fit and evaluate loops: epochs, shuffled batches, validation,
 * callbacks, History. Each step is the Trainer's; this file decides which
 * samples go into which step and when the callbacks hear about it.
 */
import { Random } from '../random.js';
import type { Tensor } from '../tensor.js';
import { requireInt } from '../validate.js';
import { checkKnownOptions } from '../layers/layer.js';
import type { LayersModel } from '../models/layersModel.js';
import { gatherRows, sliceRows, type ModelData } from '../models/data.js';
import { CallbackList, toCallbackList, type Callback, type CallbackHooks, type Logs, type TrainingParams } from './callbacks/callback.js';
import { History } from './history.js';
import type { PreparedData, Trainer } from './trainer.js';
import { ProgressLogger } from './callbacks/progress.js';

/** Options of `fit` (tfjs `ModelFitArgs`). */
export interface ModelFitArgs {
  /** Passes over the data (default 1). */
  epochs?: number;
  /** Samples per step (default 32). */
  batchSize?: number;
  /** 0: silent; 1 (default): a progress bar per epoch; 2: one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Callbacks: built-in ones or objects with onEpochEnd/onBatchEnd/... hooks. */
  callbacks?: Array<Callback | CallbackHooks> | Callback | CallbackHooks;
  /** Fraction of the samples, taken from the end before shuffling, held out for validation (Keras). */
  validationSplit?: number;
  /** `[xVal, yVal]` or `[xVal, yVal, sampleWeightVal]`, evaluated after every epoch. */
  validationData?: [ModelData, ModelData] | [ModelData, ModelData, Tensor | number[]];
  /** Samples per validation step (default: batchSize). */
  validationBatchSize?: number;
  /** Shuffle the training samples before each epoch (default true). */
  shuffle?: boolean;
  /** Weight of each class in the loss, `{0: 1, 1: 5}`. */
  classWeight?: Record<number, number>;
  /** Weight of each sample in the loss, shape (samples). */
  sampleWeight?: Tensor | number[];
  /** Epoch to start from (resuming): epochs run from initialEpoch to epochs - 1. */
  initialEpoch?: number;
}

/** Options of `evaluate`. */
export interface ModelEvaluateArgs {
  batchSize?: number;
  verbose?: 0 | 1;
  sampleWeight?: Tensor | number[];
}

const FIT_OPTIONS = ['epochs', 'batchSize', 'verbose', 'callbacks', 'validationSplit', 'validationData', 'validationBatchSize', 'shuffle', 'classWeight', 'sampleWeight', 'initialEpoch', 'yieldEvery', 'stepsPerEpoch'];

export async function fitLoop(model: LayersModel, trainer: Trainer, x: ModelData, y: ModelData, args: ModelFitArgs): Promise<History> {
  if (args === null || typeof args !== 'object') throw new TypeError('fit: the third argument must be an object like {epochs, batchSize}');
  checkKnownOptions(args, FIT_OPTIONS, 'fit');
  const epochs = args.epochs === undefined ? 1 : requireInt(args.epochs, 'epochs', 0);
  const batchSize = args.batchSize === undefined ? 32 : requireInt(args.batchSize, 'batchSize', 1);
  const initialEpoch = args.initialEpoch === undefined ? 0 : requireInt(args.initialEpoch, 'initialEpoch', 0);
  const verbose = args.verbose === undefined ? 1 : args.verbose;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) throw new TypeError(`verbose must be 0, 1 or 2, got ${JSON.stringify(args.verbose)}`);
  const shuffle = args.shuffle === undefined ? true : args.shuffle;
  if (typeof shuffle !== 'boolean') throw new TypeError(`shuffle must be a boolean, got ${JSON.stringify(shuffle)}`);
  if (args.validationSplit !== undefined && (typeof args.validationSplit !== 'number' || !(args.validationSplit >= 0 && args.validationSplit < 1))) {
    throw new RangeError(`validationSplit must be a number in [0, 1), got ${JSON.stringify(args.validationSplit)}`);
  }
  if (args.validationSplit && args.validationData) throw new TypeError('fit: give validationSplit or validationData, not both');
  const userCallbacks = toCallbackList(args.callbacks);

  let train = trainer.prepare(x, y, args.sampleWeight, args.classWeight, 'fit');
  let validation: PreparedData | null = null;
  if (args.validationData !== undefined) {
    const v = args.validationData;
    if (!Array.isArray(v) || v.length < 2 || v.length > 3) throw new TypeError('validationData must be [xVal, yVal] or [xVal, yVal, sampleWeightVal]');
    validation = trainer.prepare(v[0], v[1], v[2] as Tensor | number[] | undefined, undefined, 'validationData');
  } else if (args.validationSplit) {
    const n = train.n;
    const split = Math.floor(n * (1 - args.validationSplit));
    if (split === 0 || split === n) throw new RangeError(`validationSplit ${args.validationSplit} of ${n} samples leaves ${split === 0 ? 'no training' : 'no validation'} samples`);
    validation = slicePrepared(train, split, n);
    train = slicePrepared(train, 0, split);
  }
  const valBatch = args.validationBatchSize === undefined ? batchSize : requireInt(args.validationBatchSize, 'validationBatchSize', 1);

  const steps = Math.ceil(train.n / batchSize);
  const names = trainer.logNames();
  const params: TrainingParams = {
    epochs,
    steps,
    samples: train.n,
    batchSize,
    verbose,
    metrics: validation ? [...names, ...names.map((k) => `val_${k}`)] : names,
    initialEpoch,
  };
  const history = new History();
  history.params = params;
  const callbacks = new CallbackList([...(verbose > 0 ? [new ProgressLogger(verbose as 1 | 2)] : []), ...userCallbacks, history.asCallback()]);
  callbacks.setup(model, params);
  model.stopTraining = false;
  const rng = new Random();
  await callbacks.trainBegin({});
  let lastLogs: Logs = {};
  for (let epoch = initialEpoch; epoch < epochs && !model.stopTraining; epoch++) {
    await callbacks.epochBegin(epoch, {});
    trainer.resetMetrics();
    const order = shuffle ? permutation(train.n, rng) : null;
    let logs: Logs = {};
    for (let step = 0; step < steps && !model.stopTraining; step++) {
      const start = step * batchSize;
      const end = Math.min(train.n, start + batchSize);
      const batch = order ? gatherPrepared(train, order.subarray(start, end)) : slicePrepared(train, start, end);
      await callbacks.batchBegin(step, { batch: step, size: end - start });
      logs = await trainer.trainStep(batch.xs, batch.ys, batch.weights);
      await callbacks.batchEnd(step, { batch: step, size: end - start, ...logs });
    }
    // Validation even after a stop mid-epoch, as Keras 3: History's columns stay aligned.
    if (validation) {
      const v = await runEvaluation(trainer, validation, valBatch);
      for (const [k, val] of Object.entries(v)) logs[`val_${k}`] = val;
    }
    lastLogs = { ...logs };
    await callbacks.epochEnd(epoch, lastLogs);
  }
  await callbacks.trainEnd(lastLogs);
  return history;
}

export async function evaluateLoop(_model: LayersModel, trainer: Trainer, x: ModelData, y: ModelData, args: ModelEvaluateArgs): Promise<Logs> {
  if (args === null || typeof args !== 'object') throw new TypeError('evaluate: the third argument must be an object like {batchSize}');
  checkKnownOptions(args, ['batchSize', 'verbose', 'sampleWeight', 'steps'], 'evaluate');
  const batchSize = args.batchSize === undefined ? 32 : requireInt(args.batchSize, 'batchSize', 1);
  const data = trainer.prepare(x, y, args.sampleWeight, undefined, 'evaluate');
  return runEvaluation(trainer, data, batchSize);
}

async function runEvaluation(trainer: Trainer, data: PreparedData, batchSize: number): Promise<Logs> {
  trainer.resetMetrics();
  let logs: Logs = {};
  for (let start = 0; start < data.n; start += batchSize) {
    const batch = slicePrepared(data, start, Math.min(data.n, start + batchSize));
    logs = await trainer.testStep(batch.xs, batch.ys, batch.weights);
  }
  return logs;
}

function slicePrepared(d: PreparedData, start: number, end: number): PreparedData {
  return {
    xs: d.xs.map((t) => sliceRows(t, start, end)),
    ys: d.ys.map((t) => sliceRows(t, start, end)),
    weights: d.weights ? d.weights.subarray(start, end) : null,
    n: end - start,
  };
}

function gatherPrepared(d: PreparedData, rows: Uint32Array): PreparedData {
  return {
    xs: d.xs.map((t) => gatherRows(t, rows)),
    ys: d.ys.map((t) => gatherRows(t, rows)),
    weights: d.weights ? Float32Array.from(rows, (r) => (d.weights as Float32Array)[r]) : null,
    n: rows.length,
  };
}

/** A random order of 0..n-1 (Fisher-Yates), from the global seed when set. */
function permutation(n: number, rng: Random): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
