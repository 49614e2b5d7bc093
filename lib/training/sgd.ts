/**
 * Stochastic gradient descent with optional (Nesterov) momentum: Keras's
 * `SGD` and tfjs's `tf.train.sgd` / `tf.train.momentum`.
 *
 * With a constant learning rate both forms give the same steps; they differ
 * when the rate changes, because Keras keeps the rate inside the velocity:
 * - keras:   `v = μ v - lr g; p += v` (nesterov: `p += μ v - lr g`);
 * - pytorch: `buf = μ buf + g; p -= lr buf` (nesterov: `p -= lr (g + μ buf)`),
 *   which is also tfjs's MomentumOptimizer.
 */
import { BASE_OPTIONS, Optimizer, UPDATE_FORMS, withLearningRate, type BaseOptimizerArgs, type UpdateForm } from './optimizer.js';
import { checkKnownOptions, numberOption, optionsObject } from './options.js';
import { optionalBool, requireOneOf } from '../validate.js';

/** Options of `optimizers.sgd` (Keras names and defaults). */
export interface SGDArgs extends BaseOptimizerArgs {
  /** Default 0.01. */
  learningRate?: BaseOptimizerArgs['learningRate'];
  /** Momentum μ in [0, 1] (default 0: plain SGD, no state). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
  /** `'keras'` (default) or `'pytorch'`: see the file comment. */
  form?: UpdateForm;
}

function checked(args: SGDArgs | undefined, what: string): SGDArgs {
  const a = optionsObject(args, what);
  checkKnownOptions(a, [...BASE_OPTIONS, 'momentum', 'nesterov', 'form'], what);
  return a;
}

/** Keras `SGD` (with momentum and Nesterov); also tfjs `SGDOptimizer` when momentum is 0. */
export class SGD extends Optimizer {
  get className(): string {
    return 'SGD';
  }
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly form: UpdateForm;

  constructor(args?: SGDArgs, what = 'sgd') {
    const a = checked(args, what);
    super(a, 0.01, what);
    this.momentum = numberOption(a.momentum, `${what}: momentum`, 0, { min: 0, max: 1 });
    this.nesterov = optionalBool(a.nesterov, `${what}: nesterov`, false);
    this.form = a.form === undefined ? 'keras' : requireOneOf(a.form, `${what}: form`, UPDATE_FORMS);
  }

  protected slotNames(): readonly string[] {
    return this.momentum === 0 ? [] : ['momentum'];
  }

  protected ownConfig(): Record<string, unknown> {
    return { momentum: this.momentum, nesterov: this.nesterov, form: this.form };
  }

  protected update(value: Float32Array, grad: Float32Array, slots: Float32Array[], lr: number): void {
    const mu = this.momentum;
    if (slots.length === 0) {
      for (let i = 0; i < value.length; i++) value[i] -= lr * grad[i];
      return;
    }
    const buf = slots[0];
    if (this.form === 'keras') {
      for (let i = 0; i < value.length; i++) {
        const v = mu * buf[i] - lr * grad[i];
        buf[i] = v;
        value[i] += this.nesterov ? mu * v - lr * grad[i] : v;
      }
    } else {
      for (let i = 0; i < value.length; i++) {
        const b = mu * buf[i] + grad[i];
        buf[i] = b;
        value[i] -= lr * (this.nesterov ? grad[i] + mu * b : b);
      }
    }
  }

  /** Rebuilds an SGD from its {@link getConfig} (see `deserializeOptimizer`). */
  static fromConfig(config: Record<string, unknown>): SGD {
    return new SGD(withLearningRate(config) as SGDArgs);
  }
}

/**
 * tfjs `MomentumOptimizer` (`tf.train.momentum`): `accum = μ accum + g;
 * p -= lr accum` (nesterov: `p -= lr (g + μ accum)`), the pytorch form. It
 * always keeps a `momentum` slot, as tfjs does, and its config has tfjs's
 * keys: `{learningRate, momentum, useNesterov}`.
 */
export class Momentum extends SGD {
  override get className(): string {
    return 'Momentum';
  }

  constructor(learningRate: number, momentum: number, useNesterov = false) {
    numberOption(momentum, 'train.momentum: momentum', undefined, { min: 0, max: 1 });
    super({ learningRate, momentum, nesterov: optionalBool(useNesterov, 'train.momentum: useNesterov', false), form: 'pytorch' }, 'train.momentum');
  }

  protected override slotNames(): readonly string[] {
    return ['momentum'];
  }

  protected override ownConfig(): Record<string, unknown> {
    return { momentum: this.momentum, useNesterov: this.nesterov };
  }

  /** Rebuilds a Momentum optimizer from tfjs's config keys. */
  static override fromConfig(config: Record<string, unknown>): Momentum {
    checkKnownOptions(config, ['learningRate', 'momentum', 'useNesterov'], 'Momentum config');
    return new Momentum(withLearningRate(config).learningRate as number, config.momentum as number, (config.useNesterov as boolean | undefined) ?? false);
  }
}
