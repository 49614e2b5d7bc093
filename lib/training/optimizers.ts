/**
 * The optimizers' public entry points:
 * - `train`: tfjs's `tf.train.*` constructors, tfjs signatures and formulas;
 * - `optimizers`: Keras-style constructors taking an options object with
 *   Keras's option names and defaults, clipping and schedules;
 * - `getOptimizer(name)` (Keras defaults) and `deserializeOptimizer`.
 * Each optimizer's formula lives in its own file.
 */
import { Adagrad, type AdagradArgs } from './adagrad.js';
import { Adam, AdamW, type AdamArgs, type AdamWArgs } from './adam.js';
import { numberOption } from './options.js';
import { Optimizer } from './optimizer.js';
import { RMSProp, RMSprop, type RMSpropArgs } from './rmsprop.js';
import { Momentum, SGD, type SGDArgs } from './sgd.js';

function requiredLearningRate(value: unknown, what: string): number {
  return numberOption(value, `${what}: learningRate`, undefined, { min: 0 });
}

/** tfjs's optimizer constructors (`tf.train.*`), with tfjs's formulas. */
export const train = {
  /** `p -= lr g`. */
  sgd(learningRate: number): SGD {
    return new SGD({ learningRate: requiredLearningRate(learningRate, 'train.sgd') }, 'train.sgd');
  },
  /** `accum = μ accum + g; p -= lr accum` (nesterov: `p -= lr (g + μ accum)`). */
  momentum(learningRate: number, momentum: number, useNesterov = false): Momentum {
    return new Momentum(requiredLearningRate(learningRate, 'train.momentum'), momentum, useNesterov);
  },
  /** Adam with epsilon outside the bias-corrected sqrt (the pytorch form), as tfjs. */
  adam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null): Adam {
    return new Adam({ learningRate, beta1, beta2, epsilon: epsilon ?? 1e-7, form: 'pytorch' }, 'train.adam');
  },
  /** RMSprop with epsilon inside the sqrt and lr inside the momentum, as tfjs (class name `'RMSProp'`). */
  rmsprop(learningRate: number, decay = 0.9, momentum = 0, epsilon: number | null = null, centered = false): RMSProp {
    return new RMSProp(requiredLearningRate(learningRate, 'train.rmsprop'), decay, momentum, epsilon, centered);
  },
  /** `accum += g²; p -= lr g / sqrt(accum + 1e-7)`, accum starting at `initialAccumulatorValue`. */
  adagrad(learningRate: number, initialAccumulatorValue = 0.1): Adagrad {
    return new Adagrad({ learningRate: requiredLearningRate(learningRate, 'train.adagrad'), initialAccumulatorValue }, 'train.adagrad');
  },
};

/** Keras-style optimizers: `optimizers.adam({learningRate: 1e-3, globalClipnorm: 1})`. */
export const optimizers = {
  /** Keras `SGD`: learningRate 0.01, momentum 0, nesterov false. */
  sgd(args?: SGDArgs): SGD {
    return new SGD(args);
  },
  /** Keras `Adam` (epsilon-hat form; `form: 'pytorch'` for PyTorch's): learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7. */
  adam(args?: AdamArgs): Adam {
    return new Adam(args);
  },
  /** Keras 3 `AdamW`: Adam's options plus weightDecay 0.004. */
  adamw(args?: AdamWArgs): AdamW {
    return new AdamW(args);
  },
  /** Keras `RMSprop` (eps inside the sqrt; `form: 'pytorch'` outside): learningRate 0.001, rho 0.9, momentum 0, epsilon 1e-7. */
  rmsprop(args?: RMSpropArgs): RMSprop {
    return new RMSprop(args);
  },
  /** Keras `Adagrad`: learningRate 0.001, initialAccumulatorValue 0.1, epsilon 1e-7. */
  adagrad(args?: AdagradArgs): Adagrad {
    return new Adagrad(args);
  },
};

const BY_NAME: Record<string, () => Optimizer> = {
  sgd: () => new SGD(),
  adam: () => new Adam(),
  adamw: () => new AdamW(),
  rmsprop: () => new RMSprop(),
  adagrad: () => new Adagrad(),
};

/**
 * An optimizer from a name (case-insensitive: `'sgd'`, `'adam'`, `'adamw'`,
 * `'rmsprop'`, `'adagrad'`, with Keras's defaults, as `compile({optimizer: 'adam'})`)
 * or the optimizer itself.
 */
export function getOptimizer(identifier: string | Optimizer): Optimizer {
  if (identifier instanceof Optimizer) return identifier;
  if (typeof identifier === 'string') {
    const make = BY_NAME[identifier.toLowerCase()];
    if (make !== undefined) return make();
  }
  throw new TypeError(`unknown optimizer ${typeof identifier === 'string' ? JSON.stringify(identifier) : typeof identifier}; use one of ${Object.keys(BY_NAME).map((n) => `'${n}'`).join(', ')} or an optimizer object`);
}

const BY_CLASS_NAME: Record<string, (config: Record<string, unknown>) => Optimizer> = {
  SGD: (c) => SGD.fromConfig(c),
  Momentum: (c) => Momentum.fromConfig(c),
  Adam: (c) => Adam.fromConfig(c),
  AdamW: (c) => AdamW.fromConfig(c),
  RMSprop: (c) => RMSprop.fromConfig(c),
  RMSProp: (c) => RMSProp.fromConfig(c),
  Adagrad: (c) => Adagrad.fromConfig(c),
};

/**
 * Rebuilds an optimizer from `{className: optimizer.className, config:
 * optimizer.getConfig()}`; class names are exact (`'RMSprop'` is Keras's,
 * `'RMSProp'` tfjs's). tfjs's own configs load too: an `'Adam'` config
 * without `form` is tfjs's and gets tfjs's (pytorch) epsilon placement.
 * The state is not part of the config: restore it with `setWeights`.
 */
export function deserializeOptimizer(serialized: { className: string; config?: Record<string, unknown> }): Optimizer {
  if (serialized === null || typeof serialized !== 'object' || typeof serialized.className !== 'string') {
    throw new TypeError('deserializeOptimizer: expected {className, config}');
  }
  const make = Object.prototype.hasOwnProperty.call(BY_CLASS_NAME, serialized.className) ? BY_CLASS_NAME[serialized.className] : undefined;
  if (make === undefined) {
    throw new TypeError(`deserializeOptimizer: unknown className ${JSON.stringify(serialized.className)}; the optimizers are ${Object.keys(BY_CLASS_NAME).join(', ')}`);
  }
  return make(serialized.config ?? {});
}
