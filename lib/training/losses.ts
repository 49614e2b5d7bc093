/**
 * Losses on flat arrays, with Keras's reduction, and their gradient with
 * respect to the predictions (what the backward pass starts from).
 *
 * yPred has shape (B, ..., C), batch first; the loss of one element is taken
 * over the last axis C (a mean for mse/mae/huber, a sum over classes for the
 * crossentropies), giving B·M element losses, M the product of the middle
 * dimensions (T for a sequence output (B, T, C); 1 for (B, C)). As Keras's
 * `sum_over_batch_size`: `value = Σ w · l / (B·M)`, with sample weights w
 * (one per sample, or one per sample and step for sequence outputs; default
 * 1). `perSample[b]` is the unweighted mean of sample b's element losses, so
 * `value = Σ_b w_b perSample[b] / B` with per-sample weights. A yPred of
 * shape (B) is read as (B, 1).
 */
import { checkBatch, sampleWeightOf } from './batch.js';
import { checkKnownOptions, normalizeName, numberOption, optionsObject } from './options.js';
import { optionalBool } from '../validate.js';

/** What a loss computes for one batch. */
export interface LossResult {
  /** The batch loss (weighted, `sum_over_batch_size`). */
  value: number;
  /** Each sample's loss, unweighted, averaged over its timesteps (B). */
  perSample: Float64Array;
  /** dValue/dyPred, the shape of yPred. */
  grad: Float32Array;
}

/**
 * A loss: the built-in ones, or a custom one with the same interface.
 * `yTrue` holds targets the size of yPred, or for sparse losses one class id
 * per element loss; `shape` is yPred's shape; `sampleWeight` one weight per
 * sample (B) or per sample and step (B·M).
 */
export interface Loss {
  /** The canonical camelCase name, e.g. `'meanSquaredError'`. */
  readonly name: string;
  /** True when yPred holds logits rather than probabilities (crossentropies). */
  readonly fromLogits?: boolean;
  compute(yTrue: ArrayLike<number>, yPred: Float32Array, shape: readonly number[], sampleWeight?: ArrayLike<number>): LossResult;
}

/** Keras's `backend.epsilon()`: where probabilities are clipped. */
const EPSILON = 1e-7;

/**
 * One element's loss over C values at offset `o` of yPred (`t` the offset in
 * yTrue); writes `scale · dl/dp` to `g` at the same offsets as yPred.
 */
type ElementLoss = (yTrue: ArrayLike<number>, t: number, p: Float32Array, o: number, C: number, g: Float32Array, scale: number) => number;

interface Kind {
  /** Sparse losses take one class id per element instead of C targets. */
  sparse: boolean;
  element: ElementLoss;
}

/** A built-in loss: a name, its options, and its per-element function. */
class BuiltinLoss implements Loss {
  constructor(
    readonly name: string,
    private readonly kind: Kind,
    readonly fromLogits: boolean,
    /** The options it was made with, for {@link withFromLogits}. */
    readonly options: Record<string, unknown>,
  ) {}

  compute(yTrue: ArrayLike<number>, yPred: Float32Array, shape: readonly number[], sampleWeight?: ArrayLike<number>): LossResult {
    const what = this.name;
    const layout = checkBatch(what, yTrue, yPred, shape, this.kind.sparse);
    const { B, M, C, N } = layout;
    if (this.kind.sparse) {
      for (let i = 0; i < N; i++) {
        const y = yTrue[i];
        if (!Number.isInteger(y) || y < 0 || y >= C) throw new RangeError(`${what}: yTrue[${i}] is ${y}; class ids must be integers in [0, ${C - 1}] for yPred of shape [${shape.join(', ')}]`);
      }
    }
    const weight = sampleWeightOf(what, sampleWeight, layout, shape);
    const grad = new Float32Array(yPred.length);
    const perSample = new Float64Array(B);
    let total = 0;
    for (let e = 0; e < N; e++) {
      const b = Math.floor(e / M);
      const w = weight(e);
      const l = this.kind.element(yTrue, this.kind.sparse ? e : e * C, yPred, e * C, C, grad, w / N);
      perSample[b] += l / M;
      total += w * l;
    }
    return { value: total / N, perSample, grad };
  }
}

const mse: ElementLoss = (y, t, p, o, C, g, s) => {
  let l = 0;
  for (let c = 0; c < C; c++) {
    const d = p[o + c] - y[t + c];
    l += d * d;
    g[o + c] = (s * 2 * d) / C;
  }
  return l / C;
};

const mae: ElementLoss = (y, t, p, o, C, g, s) => {
  let l = 0;
  for (let c = 0; c < C; c++) {
    const d = p[o + c] - y[t + c];
    l += Math.abs(d);
    g[o + c] = (s * Math.sign(d)) / C;
  }
  return l / C;
};

function huber(delta: number): ElementLoss {
  return (y, t, p, o, C, g, s) => {
    let l = 0;
    for (let c = 0; c < C; c++) {
      const d = p[o + c] - y[t + c];
      const a = Math.abs(d);
      if (a <= delta) {
        l += 0.5 * d * d;
        g[o + c] = (s * d) / C;
      } else {
        l += delta * a - 0.5 * delta * delta;
        g[o + c] = (s * delta * Math.sign(d)) / C;
      }
    }
    return l / C;
  };
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Keras: probabilities clipped to [eps, 1-eps] (no gradient where clipped); with logits, the stable form. */
function binaryCrossentropy(fromLogits: boolean, smoothing: number): ElementLoss {
  return (y, t, p, o, C, g, s) => {
    let l = 0;
    for (let c = 0; c < C; c++) {
      const yc = y[t + c] * (1 - smoothing) + 0.5 * smoothing;
      const x = p[o + c];
      if (fromLogits) {
        l += Math.max(x, 0) - x * yc + Math.log1p(Math.exp(-Math.abs(x)));
        g[o + c] = (s * (sigmoid(x) - yc)) / C;
      } else {
        const q = Math.min(1 - EPSILON, Math.max(EPSILON, x));
        l -= yc * Math.log(q) + (1 - yc) * Math.log(1 - q);
        g[o + c] = q === x ? (s * (-yc / q + (1 - yc) / (1 - q))) / C : 0;
      }
    }
    return l / C;
  };
}

/** log Σ exp(x) over C values, shifted by the max so that it cannot overflow. */
function logSumExp(p: Float32Array, o: number, C: number): number {
  let max = -Infinity;
  for (let c = 0; c < C; c++) max = Math.max(max, p[o + c]);
  let sum = 0;
  for (let c = 0; c < C; c++) sum += Math.exp(p[o + c] - max);
  return max + Math.log(sum);
}

/**
 * Crossentropy against a target distribution `target(c)` (one-hot for the
 * sparse loss). Probabilities: Keras normalises p to sum 1, clips to
 * [eps, 1-eps], `l = -Σ y log q`; logits: `l = Σ y (lse - x)`, gradient
 * `(Σ y) softmax - y` (= softmax - y for targets that sum to 1).
 */
function crossentropy(p: Float32Array, o: number, C: number, g: Float32Array, s: number, fromLogits: boolean, target: (c: number) => number): number {
  let l = 0;
  if (fromLogits) {
    const lse = logSumExp(p, o, C);
    let ySum = 0;
    for (let c = 0; c < C; c++) ySum += target(c);
    for (let c = 0; c < C; c++) {
      const yc = target(c);
      l += yc * (lse - p[o + c]);
      g[o + c] = s * (ySum * Math.exp(p[o + c] - lse) - yc);
    }
    return l;
  }
  let sum = 0;
  for (let c = 0; c < C; c++) sum += p[o + c];
  // dl/dq_c, then through q = p / sum: dl/dp_j = (dl/dq_j - Σ_c dl/dq_c q_c) / sum
  let dot = 0;
  for (let c = 0; c < C; c++) {
    const q = p[o + c] / sum;
    const qc = Math.min(1 - EPSILON, Math.max(EPSILON, q));
    const yc = target(c);
    l -= yc * Math.log(qc);
    const dq = qc === q ? -yc / qc : 0;
    g[o + c] = dq;
    dot += dq * q;
  }
  for (let c = 0; c < C; c++) g[o + c] = (s * (g[o + c] - dot)) / sum;
  return l;
}

function categoricalCrossentropy(fromLogits: boolean, smoothing: number): ElementLoss {
  return (y, t, p, o, C, g, s) => crossentropy(p, o, C, g, s, fromLogits, (c) => y[t + c] * (1 - smoothing) + smoothing / C);
}

function sparseCategoricalCrossentropy(fromLogits: boolean): ElementLoss {
  return (y, t, p, o, C, g, s) => {
    const id = y[t];
    return crossentropy(p, o, C, g, s, fromLogits, (c) => (c === id ? 1 : 0));
  };
}

/** Options of the crossentropies. */
export interface CrossentropyArgs {
  /** yPred holds logits (default false: probabilities). */
  fromLogits?: boolean;
  /** Targets become `y (1 - s) + s / K` (K = 2 for binary, C for categorical); default 0. */
  labelSmoothing?: number;
}

/** Options of {@link losses.huber}. */
export interface HuberArgs {
  /** Where the loss turns from quadratic to linear (default 1). */
  delta?: number;
}

function crossentropyOptions(args: CrossentropyArgs | undefined, what: string, smoothing: boolean): { fromLogits: boolean; labelSmoothing: number } {
  const a = optionsObject(args, what);
  checkKnownOptions(a, smoothing ? ['fromLogits', 'labelSmoothing'] : ['fromLogits'], what);
  return {
    fromLogits: optionalBool(a.fromLogits, `${what}: fromLogits`, false),
    labelSmoothing: numberOption(a.labelSmoothing, `${what}: labelSmoothing`, 0, { min: 0, max: 1 }),
  };
}

/** Keras-style loss objects: `losses.categoricalCrossentropy({fromLogits: true})`. */
export const losses = {
  /** `mean((p - y)²)` over the last axis. */
  meanSquaredError(): Loss {
    return new BuiltinLoss('meanSquaredError', { sparse: false, element: mse }, false, {});
  },
  /** `mean(|p - y|)` over the last axis (gradient 0 where p = y). */
  meanAbsoluteError(): Loss {
    return new BuiltinLoss('meanAbsoluteError', { sparse: false, element: mae }, false, {});
  },
  /** Keras `Huber`: `0.5 e²` for |e| <= delta, else `delta (|e| - 0.5 delta)`, mean over the last axis. */
  huber(args?: HuberArgs): Loss {
    const a = optionsObject(args, 'huber');
    checkKnownOptions(a, ['delta'], 'huber');
    const delta = numberOption(a.delta, 'huber: delta', 1, { min: 0, minOpen: true });
    return new BuiltinLoss('huber', { sparse: false, element: huber(delta) }, false, { delta });
  },
  /** Mean over the last axis of the binary crossentropy (Keras clips probabilities to [1e-7, 1 - 1e-7]). */
  binaryCrossentropy(args?: CrossentropyArgs): Loss {
    const o = crossentropyOptions(args, 'binaryCrossentropy', true);
    return new BuiltinLoss('binaryCrossentropy', { sparse: false, element: binaryCrossentropy(o.fromLogits, o.labelSmoothing) }, o.fromLogits, o);
  },
  /** `-Σ y log q` over the classes (last axis), q normalised and clipped as Keras; one-hot or soft targets. */
  categoricalCrossentropy(args?: CrossentropyArgs): Loss {
    const o = crossentropyOptions(args, 'categoricalCrossentropy', true);
    return new BuiltinLoss('categoricalCrossentropy', { sparse: false, element: categoricalCrossentropy(o.fromLogits, o.labelSmoothing) }, o.fromLogits, o);
  },
  /** Categorical crossentropy with integer class ids: yTrue (B), (B, 1), (B, T) or (B, T, 1). */
  sparseCategoricalCrossentropy(args?: Omit<CrossentropyArgs, 'labelSmoothing'>): Loss {
    const o = crossentropyOptions(args, 'sparseCategoricalCrossentropy', false);
    return new BuiltinLoss('sparseCategoricalCrossentropy', { sparse: true, element: sparseCategoricalCrossentropy(o.fromLogits) }, o.fromLogits, { fromLogits: o.fromLogits });
  },
};

type LossName = keyof typeof losses;

/** Canonical names and the other names they answer to (matched ignoring case and `_`). */
const ALIASES: Record<LossName, readonly string[]> = {
  meanSquaredError: ['mse'],
  meanAbsoluteError: ['mae'],
  huber: ['huberLoss'],
  binaryCrossentropy: ['bce'],
  categoricalCrossentropy: [],
  sparseCategoricalCrossentropy: [],
};

/**
 * The canonical name of a loss identifier (`'mse'`, `'mean_squared_error'`,
 * `'MeanSquaredError'` → `'meanSquaredError'`), or null for an unknown one.
 */
export function canonicalLossName(identifier: string): LossName | null {
  const n = normalizeName(identifier);
  for (const [name, aliases] of Object.entries(ALIASES) as Array<[LossName, readonly string[]]>) {
    if (normalizeName(name) === n || aliases.some((a) => normalizeName(a) === n)) return name;
  }
  return null;
}

/**
 * A loss from a Keras or tfjs name (snake_case or camelCase; `'mse'`, `'mae'`,
 * `'bce'`, `'huber'`, `'binary_crossentropy'`, `'categoricalCrossentropy'`,
 * `'sparse_categorical_crossentropy'`, …) with default options, or a loss
 * object (built in or custom: `{name, compute}`).
 */
export function getLoss(identifier: string | Loss): Loss {
  if (typeof identifier === 'string') {
    const name = canonicalLossName(identifier);
    if (name !== null) return losses[name]();
  } else if (identifier !== null && typeof identifier === 'object' && typeof identifier.compute === 'function' && typeof identifier.name === 'string') {
    return identifier;
  }
  const names = (Object.entries(ALIASES) as Array<[string, readonly string[]]>).flatMap(([n, a]) => [n, ...a]);
  throw new TypeError(`unknown loss ${typeof identifier === 'string' ? JSON.stringify(identifier) : typeof identifier}; use one of ${names.map((n) => `'${n}'`).join(', ')} (or their snake_case forms) or a loss object {name, compute}`);
}

/**
 * The final activation that a loss can take over (as tf.keras does with
 * `_keras_logits`): `'sigmoid'` for a binary crossentropy on probabilities,
 * `'softmax'` for a categorical or sparse one, else null (other losses, and
 * crossentropies already on logits). When the model's last activation is
 * that one, compute the loss with {@link withFromLogits} on the
 * pre-activation values: the value is then not clipped and the gradient
 * `sigmoid(x) - y` / `softmax(x) - y` stays exact where the probability
 * would saturate.
 */
export function logitsActivation(loss: Loss): 'sigmoid' | 'softmax' | null {
  if (!(loss instanceof BuiltinLoss) || loss.fromLogits) return null;
  if (loss.name === 'binaryCrossentropy') return 'sigmoid';
  if (loss.name === 'categoricalCrossentropy' || loss.name === 'sparseCategoricalCrossentropy') return 'softmax';
  return null;
}

/** The same crossentropy (same label smoothing) on logits; throws for a loss {@link logitsActivation} gives null for. */
export function withFromLogits(loss: Loss): Loss {
  if (logitsActivation(loss) === null) throw new TypeError(`withFromLogits: ${loss.name} has no logits form to switch to`);
  const b = loss as BuiltinLoss;
  return losses[b.name as 'binaryCrossentropy'](({ ...b.options, fromLogits: true }) as CrossentropyArgs);
}
