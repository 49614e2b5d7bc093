/**
 * Streaming metrics, averaged over an epoch as Keras averages them: each
 * batch adds `Σ w · value` and `Σ w` (w the sample weights, default 1), so
 * the result after several batches of any sizes equals the metric over all
 * their samples at once. Values are taken per element row over the last
 * axis and, for sequence outputs (B, T, C), averaged over T per sample
 * (Keras's `reduce_to_samplewise_values`). Shapes are read as losses read
 * them (see `batch.ts`).
 */
import { checkBatch, sampleWeightOf, type BatchLayout } from './batch.js';
import { canonicalLossName } from './losses.js';
import { checkKnownOptions, normalizeName, numberOption, optionsObject } from './options.js';

/** A streaming metric: `update` per batch, `result` for the epoch so far, `reset` between epochs. */
export interface Metric {
  /** The name in training logs (Keras: the string it was asked for by, e.g. `'acc'`, `'mae'`). */
  readonly name: string;
  update(yTrue: ArrayLike<number>, yPred: Float32Array, shape: readonly number[], sampleWeight?: ArrayLike<number>): void;
  result(): number;
  reset(): void;
}

/** One element row's value from C predictions at `o` (targets at `t`). */
type ElementMetric = (yTrue: ArrayLike<number>, t: number, p: Float32Array, o: number, C: number) => number;

/** Keras's `MeanMetricWrapper`: the weighted mean of a per-element value. */
class MeanMetric implements Metric {
  private total = 0;
  private count = 0;

  constructor(
    readonly name: string,
    private readonly element: ElementMetric,
    private readonly sparse = false,
  ) {}

  update(yTrue: ArrayLike<number>, yPred: Float32Array, shape: readonly number[], sampleWeight?: ArrayLike<number>): void {
    const layout = checkBatch(`metric ${this.name}`, yTrue, yPred, shape, this.sparse);
    const weight = sampleWeightOf(`metric ${this.name}`, sampleWeight, layout, shape);
    const { C, N, M } = layout;
    let total = 0;
    let count = 0;
    for (let e = 0; e < N; e++) {
      const w = weight(e);
      total += w * this.element(yTrue, this.sparse ? e : e * C, yPred, e * C, C);
      count += w;
    }
    // Per sample: the mean over its M rows, weighted by the sample's weight.
    this.total += total / M;
    this.count += count / M;
  }

  result(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }

  reset(): void {
    this.total = 0;
    this.count = 0;
  }
}

/** Keras `RootMeanSquaredError`: sqrt of the streaming mean squared error. */
class RootMeanSquaredError extends MeanMetric {
  override result(): number {
    return Math.sqrt(super.result());
  }
}

function argmax(v: ArrayLike<number>, o: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (v[o + c] > v[o + best]) best = c;
  return best;
}

function binaryAccuracyOf(threshold: number): ElementMetric {
  return (y, t, p, o, C) => {
    let hits = 0;
    for (let c = 0; c < C; c++) if ((p[o + c] > threshold ? 1 : 0) === y[t + c]) hits++;
    return hits / C;
  };
}

const categoricalAccuracy: ElementMetric = (y, t, p, o, C) => (argmax(y, t, C) === argmax(p, o, C) ? 1 : 0);
const sparseCategoricalAccuracy: ElementMetric = (y, t, p, o, C) => (y[t] === argmax(p, o, C) ? 1 : 0);

const meanAbsoluteError: ElementMetric = (y, t, p, o, C) => {
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.abs(p[o + c] - y[t + c]);
  return s / C;
};

/** Keras: 100 · |y - p| / max(|y|, epsilon), epsilon 1e-7. */
const meanAbsolutePercentageError: ElementMetric = (y, t, p, o, C) => {
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.abs(y[t + c] - p[o + c]) / Math.max(Math.abs(y[t + c]), 1e-7);
  return (100 * s) / C;
};

const meanSquaredError: ElementMetric = (y, t, p, o, C) => {
  let s = 0;
  for (let c = 0; c < C; c++) s += (p[o + c] - y[t + c]) ** 2;
  return s / C;
};

/**
 * Keras `AUC()` defaults: ROC curve over 200 thresholds (-1e-7, 1/199, …,
 * 198/199, 1 + 1e-7), a prediction counting as positive when above a
 * threshold, summed with the trapezoid rule ("interpolation"). Every value
 * of yPred is one prediction (Keras's `multi_label: false`); labels are in
 * [0, 1] (soft labels count fractionally, as Keras). It equals the exact ROC
 * AUC when no positive and negative fall between the same two thresholds.
 */
class AUC implements Metric {
  private readonly thresholds: Float64Array;
  /** Weighted positive and negative labels by bucket: bucket k = predictions above exactly k thresholds. */
  private readonly pos: Float64Array;
  private readonly neg: Float64Array;

  constructor(
    readonly name: string,
    readonly numThresholds: number,
  ) {
    const n = numThresholds;
    this.thresholds = new Float64Array(n);
    this.thresholds[0] = -1e-7;
    for (let i = 1; i < n - 1; i++) this.thresholds[i] = i / (n - 1);
    this.thresholds[n - 1] = 1 + 1e-7;
    this.pos = new Float64Array(n + 1);
    this.neg = new Float64Array(n + 1);
  }

  update(yTrue: ArrayLike<number>, yPred: Float32Array, shape: readonly number[], sampleWeight?: ArrayLike<number>): void {
    const what = `metric ${this.name}`;
    const layout: BatchLayout = checkBatch(what, yTrue, yPred, shape, false);
    const weight = sampleWeightOf(what, sampleWeight, layout, shape);
    for (let i = 0; i < yPred.length; i++) {
      const y = yTrue[i];
      if (y < 0 || y > 1) throw new RangeError(`${what}: yTrue[${i}] is ${y}; AUC labels must be in [0, 1]`);
    }
    const th = this.thresholds;
    for (let i = 0; i < yPred.length; i++) {
      const p = yPred[i];
      // k = how many thresholds lie strictly below p (binary search: thresholds increase).
      let lo = 0;
      let hi = th.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (th[mid] < p) lo = mid + 1;
        else hi = mid;
      }
      const w = weight(Math.floor(i / layout.C));
      this.pos[lo] += w * yTrue[i];
      this.neg[lo] += w * (1 - yTrue[i]);
    }
  }

  result(): number {
    const n = this.numThresholds;
    // At threshold j, predictions in buckets k > j are called positive.
    const tpr = new Float64Array(n);
    const fpr = new Float64Array(n);
    let posTotal = 0;
    let negTotal = 0;
    for (let k = 0; k <= n; k++) {
      posTotal += this.pos[k];
      negTotal += this.neg[k];
    }
    let tp = posTotal;
    let fp = negTotal;
    for (let j = 0; j < n; j++) {
      tp -= this.pos[j];
      fp -= this.neg[j];
      tpr[j] = posTotal === 0 ? 0 : tp / posTotal;
      fpr[j] = negTotal === 0 ? 0 : fp / negTotal;
    }
    let auc = 0;
    for (let j = 0; j < n - 1; j++) auc += (fpr[j] - fpr[j + 1]) * ((tpr[j] + tpr[j + 1]) / 2);
    return auc;
  }

  reset(): void {
    this.pos.fill(0);
    this.neg.fill(0);
  }
}

/**
 * Keras `Mean`: the weighted running mean of numbers, e.g. a loss averaged
 * over an epoch with each batch weighted by its size (Keras's loss tracker).
 */
export class Mean {
  private total = 0;
  private count = 0;
  constructor(readonly name = 'mean') {}

  /** Adds `value` with weight `weight` (default 1). */
  update(value: number, weight = 1): void {
    if (typeof value !== 'number' || typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new RangeError(`${this.name}: update(value, weight) needs a number and a finite weight >= 0, got ${value}, ${weight}`);
    }
    this.total += value * weight;
    this.count += weight;
  }

  /** The mean so far (0 before any update, as Keras). */
  result(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }

  reset(): void {
    this.total = 0;
    this.count = 0;
  }
}

/** Options every metric factory takes. */
export interface MetricArgs {
  /** The name in logs (defaults are Keras's: `'binary_accuracy'`, …). */
  name?: string;
}

function metricOptions<T extends MetricArgs>(args: T | undefined, known: readonly string[], what: string, defaultName: string): T & { name: string } {
  const a = optionsObject(args, what);
  checkKnownOptions(a, ['name', ...known], what);
  if (a.name !== undefined && (typeof a.name !== 'string' || a.name === '')) throw new TypeError(`${what}: name must be a non-empty string, got ${JSON.stringify(a.name)}`);
  return { ...a, name: a.name ?? defaultName };
}

/** Keras-style metric objects: `metrics.binaryAccuracy({threshold: 0.3})`. */
export const metrics = {
  /** Share of values with `(p > threshold) == y` (threshold default 0.5). */
  binaryAccuracy(args?: MetricArgs & { threshold?: number }): Metric {
    const a = metricOptions(args, ['threshold'], 'binaryAccuracy', 'binary_accuracy');
    return new MeanMetric(a.name, binaryAccuracyOf(numberOption(a.threshold, 'binaryAccuracy: threshold', 0.5)));
  },
  /** Share of rows where argmax(yPred) equals argmax(yTrue) (one-hot targets; ties: the first). */
  categoricalAccuracy(args?: MetricArgs): Metric {
    return new MeanMetric(metricOptions(args, [], 'categoricalAccuracy', 'categorical_accuracy').name, categoricalAccuracy);
  },
  /** Share of rows where argmax(yPred) equals the class id in yTrue. */
  sparseCategoricalAccuracy(args?: MetricArgs): Metric {
    return new MeanMetric(metricOptions(args, [], 'sparseCategoricalAccuracy', 'sparse_categorical_accuracy').name, sparseCategoricalAccuracy, true);
  },
  /** Mean of |p - y|. */
  meanAbsoluteError(args?: MetricArgs): Metric {
    return new MeanMetric(metricOptions(args, [], 'meanAbsoluteError', 'mean_absolute_error').name, meanAbsoluteError);
  },
  /** Mean of 100·|y - p| / max(|y|, 1e-7), as Keras's `mape`. */
  meanAbsolutePercentageError(args?: MetricArgs): Metric {
    return new MeanMetric(metricOptions(args, [], 'meanAbsolutePercentageError', 'mean_absolute_percentage_error').name, meanAbsolutePercentageError);
  },
  /** Mean of (p - y)². */
  meanSquaredError(args?: MetricArgs): Metric {
    return new MeanMetric(metricOptions(args, [], 'meanSquaredError', 'mean_squared_error').name, meanSquaredError);
  },
  /** sqrt of the mean of (p - y)² over everything seen since `reset`. */
  rootMeanSquaredError(args?: MetricArgs): Metric {
    return new RootMeanSquaredError(metricOptions(args, [], 'rootMeanSquaredError', 'root_mean_squared_error').name, meanSquaredError);
  },
  /** ROC AUC as Keras's `AUC()` computes it (see the class comment); numThresholds default 200. */
  auc(args?: MetricArgs & { numThresholds?: number }): Metric {
    const a = metricOptions(args, ['numThresholds'], 'auc', 'auc');
    return new AUC(a.name, numberOption(a.numThresholds, 'auc: numThresholds', 200, { min: 2, integer: true }));
  },
};

type MetricFactory = (args: MetricArgs) => Metric;

/** Names `getMetric` knows (matched ignoring case and `_`), and what they make. */
const BY_NAME: ReadonlyArray<[readonly string[], MetricFactory]> = [
  [['binaryAccuracy'], metrics.binaryAccuracy],
  [['categoricalAccuracy'], metrics.categoricalAccuracy],
  [['sparseCategoricalAccuracy'], metrics.sparseCategoricalAccuracy],
  [['mae', 'meanAbsoluteError'], metrics.meanAbsoluteError],
  [['mape', 'meanAbsolutePercentageError'], metrics.meanAbsolutePercentageError],
  [['mse', 'meanSquaredError'], metrics.meanSquaredError],
  [['rmse', 'rootMeanSquaredError'], metrics.rootMeanSquaredError],
  [['auc'], metrics.auc],
];

/** What `'accuracy'` needs to know to pick an accuracy (Keras decides from the loss, then the output). */
export interface MetricContext {
  /** The loss's name (any form `getLoss` takes). */
  lossName?: string;
  /** The model output's shape, batch first; null for unknown dimensions. */
  outputShape?: ReadonlyArray<number | null>;
}

/**
 * `'accuracy'` / `'acc'` as tf.keras resolves them: binaryCrossentropy →
 * binary accuracy (threshold 0.5), categoricalCrossentropy → categorical,
 * sparseCategoricalCrossentropy → sparse categorical; any other loss by the
 * output: last dimension 1 → binary, else categorical.
 */
function accuracyFor(name: string, context: MetricContext): Metric {
  const loss = context.lossName === undefined ? null : canonicalLossName(context.lossName);
  if (loss === 'binaryCrossentropy') return metrics.binaryAccuracy({ name });
  if (loss === 'categoricalCrossentropy') return metrics.categoricalAccuracy({ name });
  if (loss === 'sparseCategoricalCrossentropy') return metrics.sparseCategoricalAccuracy({ name });
  const shape = context.outputShape;
  if (shape === undefined || shape.length === 0) {
    throw new TypeError(`metric ${JSON.stringify(name)}: cannot tell which accuracy without a crossentropy loss or the output shape`);
  }
  return shape[shape.length - 1] === 1 ? metrics.binaryAccuracy({ name }) : metrics.categoricalAccuracy({ name });
}

/**
 * A metric from a name, reported in logs under that same name (Keras:
 * `'acc'` → `acc`, `'accuracy'` → `accuracy`, `'mae'` → `mae`), or a metric
 * object. Names: `'accuracy'`/`'acc'` (resolved with `context`),
 * `'binaryAccuracy'`, `'categoricalAccuracy'`, `'sparseCategoricalAccuracy'`,
 * `'mae'`/`'meanAbsoluteError'`, `'mse'`/`'meanSquaredError'`,
 * `'rmse'`/`'rootMeanSquaredError'`, `'auc'`, in camelCase or snake_case.
 */
export function getMetric(identifier: string | Metric, context: MetricContext = {}): Metric {
  if (typeof identifier === 'string') {
    const n = normalizeName(identifier);
    if (n === 'accuracy' || n === 'acc') return accuracyFor(identifier, context);
    const found = BY_NAME.find(([names]) => names.some((k) => normalizeName(k) === n));
    if (found !== undefined) return found[1]({ name: identifier });
  } else if (identifier !== null && typeof identifier === 'object' && typeof identifier.update === 'function' && typeof identifier.result === 'function' && typeof identifier.reset === 'function' && typeof identifier.name === 'string') {
    return identifier;
  }
  const names = ['accuracy', 'acc', ...BY_NAME.flatMap(([k]) => k)];
  throw new TypeError(`unknown metric ${typeof identifier === 'string' ? JSON.stringify(identifier) : typeof identifier}; use one of ${names.map((k) => `'${k}'`).join(', ')} (or their snake_case forms) or a metric object {name, update, result, reset}`);
}
