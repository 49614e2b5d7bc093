/**
 * Adam and AdamW. Both keep `m = β1 m + (1-β1) g` and `v = β2 v + (1-β2) g²`
 * (and with `amsgrad`, `vhat = max(vhat, v)` used in place of v); they
 * differ in where epsilon goes:
 * - keras ("epsilon hat"): `α = lr sqrt(1-β2^t) / (1-β1^t); p -= α m / (sqrt(v) + eps)`;
 * - pytorch (also tfjs's `tf.train.adam`): `p -= lr (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)`.
 * They agree but for eps, which the keras form in effect scales by 1/sqrt(1-β2^t).
 */
import { BASE_OPTIONS, Optimizer, UPDATE_FORMS, withLearningRate, type BaseOptimizerArgs, type UpdateForm } from './optimizer.js';
import { checkKnownOptions, numberOption, optionsObject } from './options.js';
import { optionalBool, requireOneOf } from '../validate.js';

/** Options of `optimizers.adam` (Keras names and defaults). */
export interface AdamArgs extends BaseOptimizerArgs {
  /** Default 0.001. */
  learningRate?: BaseOptimizerArgs['learningRate'];
  /** In [0, 1), default 0.9. */
  beta1?: number;
  /** In [0, 1), default 0.999. */
  beta2?: number;
  /** >= 0, default 1e-7 (Keras and tfjs; PyTorch's 1e-8 is not implied by `form`). */
  epsilon?: number;
  /** AMSGrad: divide by the running maximum of v (default false). */
  amsgrad?: boolean;
  /** `'keras'` (default) or `'pytorch'`: see the file comment. */
  form?: UpdateForm;
}

const ADAM_OPTIONS = [...BASE_OPTIONS, 'beta1', 'beta2', 'epsilon', 'amsgrad', 'form'];

function checked<T extends object>(args: T | undefined, known: readonly string[], what: string): T {
  const a = optionsObject(args, what);
  checkKnownOptions(a, known, what);
  return a;
}

/** Keras `Adam` (epsilon-hat form by default) and tfjs `AdamOptimizer` (`form: 'pytorch'`). */
export class Adam extends Optimizer {
  get className(): string {
    return 'Adam';
  }
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly amsgrad: boolean;
  readonly form: UpdateForm;

  constructor(args?: AdamArgs, what = 'adam', known: readonly string[] = ADAM_OPTIONS) {
    const a = checked(args, known, what);
    super(a, 0.001, what);
    this.beta1 = numberOption(a.beta1, `${what}: beta1`, 0.9, { min: 0, max: 1, maxOpen: true });
    this.beta2 = numberOption(a.beta2, `${what}: beta2`, 0.999, { min: 0, max: 1, maxOpen: true });
    this.epsilon = numberOption(a.epsilon, `${what}: epsilon`, 1e-7, { min: 0 });
    this.amsgrad = optionalBool(a.amsgrad, `${what}: amsgrad`, false);
    this.form = a.form === undefined ? 'keras' : requireOneOf(a.form, `${what}: form`, UPDATE_FORMS);
  }

  /** `m` and `v` (tfjs's names), then `vhat` with amsgrad. */
  protected slotNames(): readonly string[] {
    return this.amsgrad ? ['m', 'v', 'vhat'] : ['m', 'v'];
  }

  protected ownConfig(): Record<string, unknown> {
    return { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, amsgrad: this.amsgrad, form: this.form };
  }

  protected update(value: Float32Array, grad: Float32Array, slots: Float32Array[], lr: number, step: number): void {
    const [m, v, vhat] = slots;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const bc1 = 1 - Math.pow(b1, step);
    const bc2 = 1 - Math.pow(b2, step);
    const keras = this.form === 'keras';
    const alpha = keras ? (lr * Math.sqrt(bc2)) / bc1 : lr / bc1;
    // pytorch: lr (m/bc1) / (sqrt(v/bc2) + eps) = (lr/bc1) m / (sqrt(v)/sqrt(bc2) + eps)
    const vScale = keras ? 1 : 1 / Math.sqrt(bc2);
    for (let i = 0; i < value.length; i++) {
      const g = grad[i];
      const mi = b1 * m[i] + (1 - b1) * g;
      let vi = b2 * v[i] + (1 - b2) * g * g;
      m[i] = mi;
      v[i] = vi;
      if (vhat !== undefined) {
        vi = Math.max(vhat[i], vi);
        vhat[i] = vi;
      }
      value[i] -= (alpha * mi) / (Math.sqrt(vi) * vScale + eps);
    }
  }

  /** Rebuilds an Adam from its config. A config without `form` is read as tfjs writes it: the pytorch form. */
  static fromConfig(config: Record<string, unknown>): Adam {
    const c = withLearningRate(config);
    return new Adam({ ...c, form: (c.form as UpdateForm | undefined) ?? 'pytorch' } as AdamArgs);
  }
}

/** Options of `optimizers.adamw`. */
export interface AdamWArgs extends AdamArgs {
  /**
   * Decoupled weight decay, >= 0. Default 0.004 (Keras 3's AdamW); PyTorch's
   * default is 0.01 and is not implied by `form: 'pytorch'`.
   */
  weightDecay?: number;
}

/**
 * AdamW (Keras 3 and PyTorch): `p -= lr · weightDecay · p` with the step's
 * learning rate, then the Adam step (same `form`s). Applied to every
 * variable given (PyTorch users often exclude biases by param groups: pass
 * those to a separate optimizer).
 */
export class AdamW extends Adam {
  override get className(): string {
    return 'AdamW';
  }
  readonly weightDecay: number;

  constructor(args?: AdamWArgs) {
    super(args, 'adamw', [...ADAM_OPTIONS, 'weightDecay']);
    this.weightDecay = numberOption(args?.weightDecay, 'adamw: weightDecay', 0.004, { min: 0 });
  }

  protected override ownConfig(): Record<string, unknown> {
    return { ...super.ownConfig(), weightDecay: this.weightDecay };
  }

  protected override update(value: Float32Array, grad: Float32Array, slots: Float32Array[], lr: number, step: number): void {
    const decay = lr * this.weightDecay;
    if (decay !== 0) for (let i = 0; i < value.length; i++) value[i] -= decay * value[i];
    super.update(value, grad, slots, lr, step);
  }

  /** Rebuilds an AdamW from its config (keras form when `form` is absent: tfjs has no AdamW). */
  static override fromConfig(config: Record<string, unknown>): AdamW {
    return new AdamW(withLearningRate(config) as AdamWArgs);
  }
}
