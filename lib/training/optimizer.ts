/**
 * The optimizer base: what every optimizer shares (learning rate or
 * schedule, gradient clipping, the step counter, per-variable state and
 * its saving), so that each optimizer file holds only its update formula.
 *
 * Variables are flat Float32Arrays updated in place. State is kept per
 * variable position, as tfjs keeps it, and each position remembers the
 * variable's name and size: a call with other variables throws instead of
 * silently applying one variable's moments to another.
 */
import { NonFiniteError } from '../errors.js';
import { clipByGlobalNorm, clipByNorm, clipByValue } from './clipping.js';
import { deserializeSchedule, isSchedule, type LearningRateSchedule } from './schedules.js';
import { numberOption, optionalNumber } from './options.js';

/** One trainable variable and its gradient; `value` is updated in place. */
export interface OptimizerVariable {
  /** The weight's name, e.g. `gru/kernel`; optimizer state is saved under it. */
  name: string;
  value: Float32Array;
  /** dLoss/dValue, the same length as `value`. */
  grad: Float32Array;
  /** The weight's shape, used only for saving state (default `[value.length]`). */
  shape?: readonly number[];
}

/** A saved optimizer weight: the step counter or one slot of one variable. */
export interface OptimizerWeight {
  name: string;
  value: Float32Array;
  shape: number[];
}

/**
 * Which library's formula an optimizer follows where Keras and PyTorch
 * differ (where epsilon goes, whether the learning rate is inside the
 * momentum buffer). Only the formula: each optimizer keeps its own defaults.
 */
export type UpdateForm = 'keras' | 'pytorch';

/** The values of {@link UpdateForm}. */
export const UPDATE_FORMS: readonly UpdateForm[] = ['keras', 'pytorch'];

/** A learning rate: a constant or a schedule evaluated at the optimizer's step. */
export type LearningRate = number | LearningRateSchedule;

/** Options every Keras-style optimizer takes. */
export interface BaseOptimizerArgs {
  learningRate?: LearningRate;
  /** Clip each gradient array to this L2 norm separately (Keras `clipnorm`). */
  clipnorm?: number;
  /** Clamp every gradient value to [-clipvalue, clipvalue] (Keras `clipvalue`). */
  clipvalue?: number;
  /** Scale all gradients by min(1, c / globalNorm) (Keras `global_clipnorm`). */
  globalClipnorm?: number;
}

/** The option names of {@link BaseOptimizerArgs}. */
export const BASE_OPTIONS: readonly string[] = ['learningRate', 'clipnorm', 'clipvalue', 'globalClipnorm'];

interface VariableState {
  name: string;
  size: number;
  shape: number[];
  slots: Float32Array[];
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The base of every optimizer. */
export abstract class Optimizer {
  /** The Keras / tfjs class name, e.g. `'Adam'`, `'RMSprop'`, `'Momentum'`. */
  abstract get className(): string;
  /** Updates applied so far; the step being applied is `iterations + 1`. */
  iterations = 0;

  private lr: LearningRate;
  /** Keras `clipnorm`, if set. */
  readonly clipnorm: number | undefined;
  /** Keras `clipvalue`, if set. */
  readonly clipvalue: number | undefined;
  /** Keras `global_clipnorm`, if set. */
  readonly globalClipnorm: number | undefined;
  private state: VariableState[] | null = null;

  protected constructor(args: BaseOptimizerArgs, defaultLearningRate: number, what: string) {
    this.lr = checkLearningRate(args.learningRate ?? defaultLearningRate, `${what}: learningRate`);
    this.clipnorm = optionalNumber(args.clipnorm, `${what}: clipnorm`, { min: 0, minOpen: true });
    this.clipvalue = optionalNumber(args.clipvalue, `${what}: clipvalue`, { min: 0, minOpen: true });
    this.globalClipnorm = optionalNumber(args.globalClipnorm, `${what}: globalClipnorm`, { min: 0, minOpen: true });
    const set = (['clipnorm', 'clipvalue', 'globalClipnorm'] as const).filter((k) => this[k] !== undefined);
    // Keras 3 refuses more than one: their order of application would be a guess.
    if (set.length > 1) throw new TypeError(`${what}: only one of clipnorm, clipvalue and globalClipnorm can be set, got ${set.join(' and ')}`);
  }

  /**
   * The learning rate of the next update: the constant, or the schedule at
   * `iterations`. Setting it replaces a schedule with the constant (what
   * ReduceLROnPlateau and LearningRateScheduler need; Keras 3 refuses instead).
   */
  get learningRate(): number {
    const lr = typeof this.lr === 'number' ? this.lr : this.lr.at(this.iterations);
    if (!Number.isFinite(lr) || lr < 0) throw new RangeError(`${this.className}: the learning rate schedule gave ${lr} at step ${this.iterations}; it must be a finite number >= 0`);
    return lr;
  }

  set learningRate(value: number) {
    if (typeof value !== 'number') throw new TypeError(`${this.className}: learningRate can only be set to a number, got ${typeof value}`);
    this.lr = checkLearningRate(value, `${this.className}: learningRate`);
  }

  /** The schedule given at construction, or null once the rate is a constant. */
  get learningRateSchedule(): LearningRateSchedule | null {
    return typeof this.lr === 'number' ? null : this.lr;
  }

  /**
   * One optimizer step: checks the gradients (a NaN or infinity throws a
   * RangeError naming the variable, before any weight changes), clips them
   * if the optimizer was made with a clip option (on copies: the caller's
   * gradients are left as they are), updates every value in place, then
   * increments `iterations`.
   */
  applyGradients(variables: OptimizerVariable[]): void {
    this.checkVariables(variables);
    const state = this.stateFor(variables);
    let grads = variables.map((v) => v.grad);
    if (this.clipnorm !== undefined || this.clipvalue !== undefined || this.globalClipnorm !== undefined) {
      grads = grads.map((g) => g.slice());
      if (this.clipnorm !== undefined) clipByNorm(grads, this.clipnorm);
      else if (this.clipvalue !== undefined) clipByValue(grads, this.clipvalue);
      else if (this.globalClipnorm !== undefined) clipByGlobalNorm(grads, this.globalClipnorm);
    }
    const lr = this.learningRate;
    const step = this.iterations + 1;
    for (let i = 0; i < variables.length; i++) this.update(variables[i].value, grads[i], state[i].slots, lr, step);
    this.iterations = step;
  }

  /**
   * The optimizer's state for saving: `iter` (the step counter, one value)
   * first, then slot-major: every variable's first slot, then every
   * variable's second slot, … (tfjs's order), each named
   * `<variable name>/<slot>`. Before the first update, only `iter`.
   */
  getWeights(): OptimizerWeight[] {
    const out: OptimizerWeight[] = [{ name: 'iter', value: Float32Array.of(this.iterations), shape: [] }];
    if (this.state === null) return out;
    this.slotNames().forEach((slot, k) => {
      for (const s of this.state!) out.push({ name: `${s.name}/${slot}`, value: s.slots[k].slice(), shape: [...s.shape] });
    });
    return out;
  }

  /**
   * Restores what {@link getWeights} gave. Names and sizes are checked (and
   * against the variables this optimizer has already seen, if any); the
   * first update after it checks them against the variables it is given.
   * Only `iter` resets the state to fresh (zeros) with the step counter set.
   */
  setWeights(weights: OptimizerWeight[]): void {
    const what = `${this.className}.setWeights`;
    if (!Array.isArray(weights) || weights.length === 0) throw new TypeError(`${what}: expected an array starting with the 'iter' weight, as getWeights() returns`);
    weights.forEach((w, i) => {
      if (w === null || typeof w !== 'object' || typeof w.name !== 'string' || !(w.value instanceof Float32Array)) {
        throw new TypeError(`${what}: weights[${i}] must be {name: string, value: Float32Array, shape: number[]}`);
      }
    });
    const [iter, ...rest] = weights;
    if (iter.name !== 'iter' || iter.value.length !== 1 || !Number.isInteger(iter.value[0]) || iter.value[0] < 0) {
      throw new RangeError(`${what}: weights[0] must be 'iter' holding one integer >= 0, got ${JSON.stringify(iter.name)} with ${iter.value.length} value(s)`);
    }
    const slots = this.slotNames();
    if (rest.length === 0) {
      this.state = null;
      this.iterations = iter.value[0];
      return;
    }
    if (slots.length === 0 || rest.length % slots.length !== 0) {
      throw new RangeError(`${what}: ${this.className} keeps ${slots.length === 0 ? 'no slots' : `the slots ${slots.join(', ')} for each variable`}, so after 'iter' it takes a multiple of ${slots.length} weights, got ${rest.length}`);
    }
    const n = rest.length / slots.length;
    const restored: VariableState[] = [];
    for (let i = 0; i < n; i++) {
      const first = rest[i];
      const suffix = `/${slots[0]}`;
      if (!first.name.endsWith(suffix)) throw new RangeError(`${what}: weight ${JSON.stringify(first.name)} should be a '${slots[0]}' slot ('<variable>${suffix}')`);
      const name = first.name.slice(0, -suffix.length);
      const shape = Array.isArray(first.shape) ? [...first.shape] : [first.value.length];
      restored.push({ name, size: first.value.length, shape, slots: [] });
      if (sizeOf(shape) !== first.value.length) throw new RangeError(`${what}: weight ${JSON.stringify(first.name)} has ${first.value.length} values for shape [${shape.join(', ')}]`);
    }
    slots.forEach((slot, k) => {
      for (let i = 0; i < n; i++) {
        const w = rest[k * n + i];
        const want = `${restored[i].name}/${slot}`;
        if (w.name !== want) throw new RangeError(`${what}: weights[${1 + k * n + i}] should be ${JSON.stringify(want)}, got ${JSON.stringify(w.name)}`);
        if (w.value.length !== restored[i].size) throw new RangeError(`${what}: ${want} has ${w.value.length} values, expected ${restored[i].size}`);
        for (let j = 0; j < w.value.length; j++) {
          if (!Number.isFinite(w.value[j])) throw new RangeError(`${what}: ${want} contains ${w.value[j]} at flat index ${j}`);
        }
        restored[i].slots.push(w.value.slice());
      }
    });
    if (this.state !== null) this.checkSameVariables(this.state, restored.map((r) => ({ name: r.name, size: r.size })), what);
    this.state = restored;
    this.iterations = iter.value[0];
  }

  /** The constructor options as plain JSON; `deserializeOptimizer({className, config})` rebuilds the optimizer. */
  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      learningRate: typeof this.lr === 'number' ? this.lr : { className: this.lr.className, config: this.lr.getConfig() },
    };
    if (this.clipnorm !== undefined) config.clipnorm = this.clipnorm;
    if (this.clipvalue !== undefined) config.clipvalue = this.clipvalue;
    if (this.globalClipnorm !== undefined) config.globalClipnorm = this.globalClipnorm;
    return { ...config, ...this.ownConfig() };
  }

  /** The optimizer's own options for {@link getConfig}. */
  protected abstract ownConfig(): Record<string, unknown>;

  /** Names of the per-variable state arrays, in saving order (may depend on options). */
  protected abstract slotNames(): readonly string[];

  /** The value a slot starts at (0 unless an optimizer says otherwise). */
  protected slotInitialValue(_slot: string): number {
    return 0;
  }

  /**
   * Applies one update to `value` in place. `slots` are this variable's
   * state arrays in {@link slotNames} order, `lr` the learning rate of this
   * step, `step` the step number starting at 1.
   */
  protected abstract update(value: Float32Array, grad: Float32Array, slots: Float32Array[], lr: number, step: number): void;

  private checkVariables(variables: OptimizerVariable[]): void {
    const what = `${this.className}.applyGradients`;
    if (!Array.isArray(variables)) throw new TypeError(`${what}: expected an array of {name, value, grad}`);
    variables.forEach((v, i) => {
      if (v === null || typeof v !== 'object' || typeof v.name !== 'string') throw new TypeError(`${what}: variables[${i}] must be {name: string, value: Float32Array, grad: Float32Array}`);
      if (!(v.value instanceof Float32Array)) throw new TypeError(`${what}: the value of ${JSON.stringify(v.name)} must be a Float32Array`);
      if (!(v.grad instanceof Float32Array)) throw new TypeError(`${what}: the gradient of ${JSON.stringify(v.name)} must be a Float32Array`);
      if (v.grad.length !== v.value.length) throw new RangeError(`${what}: the gradient of ${JSON.stringify(v.name)} has ${v.grad.length} values, the variable ${v.value.length}`);
      if (v.shape !== undefined && sizeOf(v.shape) !== v.value.length) throw new RangeError(`${what}: ${JSON.stringify(v.name)} has ${v.value.length} values for shape [${v.shape.join(', ')}]`);
      const g = v.grad;
      for (let j = 0; j < g.length; j++) {
        if (!Number.isFinite(g[j])) throw new NonFiniteError(`${what}: the gradient of ${JSON.stringify(v.name)} contains ${g[j]} at flat index ${j}; no weight was changed`);
      }
    });
  }

  private stateFor(variables: OptimizerVariable[]): VariableState[] {
    if (this.state === null) {
      const slots = this.slotNames();
      this.state = variables.map((v) => ({
        name: v.name,
        size: v.value.length,
        shape: v.shape ? [...v.shape] : [v.value.length],
        slots: slots.map((s) => new Float32Array(v.value.length).fill(this.slotInitialValue(s))),
      }));
      return this.state;
    }
    this.checkSameVariables(this.state, variables.map((v) => ({ name: v.name, size: v.value.length })), `${this.className}.applyGradients`);
    return this.state;
  }

  private checkSameVariables(state: VariableState[], got: Array<{ name: string; size: number }>, what: string): void {
    if (got.length !== state.length) {
      throw new RangeError(`${what}: this optimizer's state is for ${state.length} variables (${state.map((s) => s.name).join(', ')}), got ${got.length}; use a new optimizer for other variables`);
    }
    got.forEach((g, i) => {
      if (g.name !== state[i].name || g.size !== state[i].size) {
        throw new RangeError(`${what}: variable ${i} is ${JSON.stringify(g.name)} with ${g.size} values, but this optimizer's state at that position is for ${JSON.stringify(state[i].name)} with ${state[i].size} values`);
      }
    });
  }
}

function checkLearningRate(value: unknown, name: string): LearningRate {
  if (isSchedule(value)) return value;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number >= 0 or a LearningRateSchedule, got ${JSON.stringify(value) ?? typeof value}`);
  return numberOption(value, name, undefined, { min: 0 });
}

/**
 * A config with its `learningRate` made a schedule again when getConfig()
 * wrote one as `{className, config}`; for the optimizers' fromConfig.
 */
export function withLearningRate(config: Record<string, unknown>): Record<string, unknown> {
  if (config === null || typeof config !== 'object') throw new TypeError('optimizer config must be an object');
  const lr = config.learningRate;
  if (lr !== null && typeof lr === 'object' && !isSchedule(lr)) {
    return { ...config, learningRate: deserializeSchedule(lr as { className: string; config: Record<string, unknown> }) };
  }
  return config;
}
