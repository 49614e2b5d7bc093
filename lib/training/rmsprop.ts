/**
 * RMSprop: `v = ρ v + (1-ρ) g²` (centered: also `mg = ρ mg + (1-ρ) g`, and
 * `v - mg²` replaces v below). Where epsilon and the learning rate go:
 * - keras (Keras 2/3 and tfjs): `inc = lr g / sqrt(v + eps)`; with momentum
 *   `mom = μ mom + inc; p -= mom`, else `p -= inc`;
 * - pytorch: `d = sqrt(v) + eps`; with momentum `buf = μ buf + g / d;
 *   p -= lr buf`, else `p -= lr g / d`.
 * Only the formula changes with `form`: PyTorch's defaults (α 0.99, eps 1e-8)
 * are not implied.
 */
import { BASE_OPTIONS, Optimizer, UPDATE_FORMS, withLearningRate, type BaseOptimizerArgs, type UpdateForm } from './optimizer.js';
import { checkKnownOptions, numberOption, optionsObject } from './options.js';
import { optionalBool, requireOneOf } from '../validate.js';

/** Options of `optimizers.rmsprop` (Keras names and defaults). */
export interface RMSpropArgs extends BaseOptimizerArgs {
  /** Default 0.001. */
  learningRate?: BaseOptimizerArgs['learningRate'];
  /** Decay of the mean square ρ, in [0, 1), default 0.9 (PyTorch calls it alpha). */
  rho?: number;
  /** Momentum μ in [0, 1], default 0. */
  momentum?: number;
  /** >= 0, default 1e-7. */
  epsilon?: number;
  /** Divide by the estimated variance `v - mg²` instead of v (default false). */
  centered?: boolean;
  /** `'keras'` (default) or `'pytorch'`: see the file comment. */
  form?: UpdateForm;
}

const RMSPROP_OPTIONS = [...BASE_OPTIONS, 'rho', 'momentum', 'epsilon', 'centered', 'form'];

/** Keras `RMSprop`. */
export class RMSprop extends Optimizer {
  get className(): string {
    return 'RMSprop';
  }
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;
  readonly form: UpdateForm;

  constructor(args?: RMSpropArgs, what = 'rmsprop') {
    const a = optionsObject(args, what);
    checkKnownOptions(a, RMSPROP_OPTIONS, what);
    super(a, 0.001, what);
    this.rho = numberOption(a.rho, `${what}: ${what === 'rmsprop' ? 'rho' : 'decay'}`, 0.9, { min: 0, max: 1, maxOpen: true });
    this.momentum = numberOption(a.momentum, `${what}: momentum`, 0, { min: 0, max: 1 });
    this.epsilon = numberOption(a.epsilon, `${what}: epsilon`, 1e-7, { min: 0 });
    this.centered = optionalBool(a.centered, `${what}: centered`, false);
    this.form = a.form === undefined ? 'keras' : requireOneOf(a.form, `${what}: form`, UPDATE_FORMS);
  }

  /** tfjs's names: `rms`, then `momentum` (only when momentum > 0), then `mg` when centered. */
  protected slotNames(): readonly string[] {
    return ['rms', ...(this.momentum > 0 ? ['momentum'] : []), ...(this.centered ? ['mg'] : [])];
  }

  protected ownConfig(): Record<string, unknown> {
    return { rho: this.rho, momentum: this.momentum, epsilon: this.epsilon, centered: this.centered, form: this.form };
  }

  protected update(value: Float32Array, grad: Float32Array, slots: Float32Array[], lr: number): void {
    const names = this.slotNames();
    const ms = slots[0];
    const mom = this.momentum > 0 ? slots[names.indexOf('momentum')] : undefined;
    const mg = this.centered ? slots[names.indexOf('mg')] : undefined;
    const { rho, momentum: mu, epsilon: eps } = this;
    const keras = this.form === 'keras';
    for (let i = 0; i < value.length; i++) {
      const g = grad[i];
      const vi = rho * ms[i] + (1 - rho) * g * g;
      ms[i] = vi;
      let variance = vi;
      if (mg !== undefined) {
        const a = rho * mg[i] + (1 - rho) * g;
        mg[i] = a;
        // v - mg² >= 0 in exact arithmetic; the clamp only stops rounding from taking a sqrt of a negative.
        variance = Math.max(0, vi - a * a);
      }
      if (keras) {
        const inc = (lr * g) / Math.sqrt(variance + eps);
        if (mom === undefined) value[i] -= inc;
        else {
          const b = mu * mom[i] + inc;
          mom[i] = b;
          value[i] -= b;
        }
      } else {
        const q = g / (Math.sqrt(variance) + eps);
        if (mom === undefined) value[i] -= lr * q;
        else {
          const b = mu * mom[i] + q;
          mom[i] = b;
          value[i] -= lr * b;
        }
      }
    }
  }

  /** Rebuilds an RMSprop from its config. */
  static fromConfig(config: Record<string, unknown>): RMSprop {
    return new RMSprop(withLearningRate(config) as RMSpropArgs);
  }
}

/**
 * tfjs `RMSPropOptimizer` (`tf.train.rmsprop`, class name `'RMSProp'`):
 * the keras form with tfjs's argument names (`decay` for ρ) and config keys,
 * and, as tfjs, a `momentum` slot even when momentum is 0.
 *
 * One deliberate difference: centered tfjs computes `sqrt(v - mg² - eps)`
 * (its `sub(mg².add(eps))`), which is NaN whenever v - mg² < eps (e.g. a
 * zero gradient at the first step); this uses Keras's `sqrt(v - mg² + eps)`.
 */
export class RMSProp extends RMSprop {
  override get className(): string {
    return 'RMSProp';
  }

  constructor(learningRate: number, decay = 0.9, momentum = 0, epsilon: number | null = null, centered = false) {
    super({ learningRate, rho: decay, momentum, epsilon: epsilon ?? 1e-7, centered }, 'train.rmsprop');
  }

  protected override slotNames(): readonly string[] {
    return ['rms', 'momentum', ...(this.centered ? ['mg'] : [])];
  }

  protected override ownConfig(): Record<string, unknown> {
    return { decay: this.rho, momentum: this.momentum, epsilon: this.epsilon, centered: this.centered };
  }

  /** Rebuilds an RMSProp from tfjs's config keys. */
  static override fromConfig(config: Record<string, unknown>): RMSProp {
    checkKnownOptions(config, ['learningRate', 'decay', 'momentum', 'epsilon', 'centered'], 'RMSProp config');
    const c = withLearningRate(config);
    return new RMSProp(c.learningRate as number, c.decay as number | undefined, c.momentum as number | undefined, c.epsilon as number | null | undefined, c.centered as boolean | undefined);
  }
}
