/**
 * What the callbacks that watch one logged value share (Keras 3
 * `MonitorCallback`): which way is better (`mode`), what counts as an
 * improvement (`minDelta`), and the one warning when the value is not in
 * the logs. Used by EarlyStopping, ReduceLROnPlateau and ModelCheckpoint.
 */
import { Callback, type Logs } from './callback.js';

/** Which way the monitored value improves; `'auto'` decides from its name. */
export type MonitorMode = 'auto' | 'min' | 'max';

const MODES: readonly MonitorMode[] = ['auto', 'min', 'max'];

/** Names (after `val_` and an output-name prefix) that improve upwards. */
const UP = /(^|_)(acc|accuracy|auc|precision|recall|f1_score|fbeta_score|r2_score)$|accuracy$/;
/** Names that improve downwards: losses and errors. */
const DOWN = /(^|_)(loss|mse|mae|mape|msle|rmse|logcosh|hinge|squared_hinge|categorical_hinge|kld|kl_divergence|poisson|crossentropy)$|error$|crossentropy$/;

/**
 * Whether `monitor` improves upwards ('max') or downwards ('min') by its
 * name, as Keras 3 decides for mode 'auto': losses and errors go down,
 * accuracies, AUC, precision and recall go up. Null when the name says
 * nothing (Keras 3 raises then; so does the callback's constructor).
 */
export function directionOf(monitor: string): 'min' | 'max' | null {
  const name = monitor.replace(/^val_/, '').toLowerCase();
  if (DOWN.test(name)) return 'min';
  if (UP.test(name)) return 'max';
  return null;
}

/** Checks a `mode` option. */
export function checkMode(mode: unknown, what: string): MonitorMode {
  if (mode === undefined) return 'auto';
  if (typeof mode !== 'string' || !MODES.includes(mode as MonitorMode)) throw new TypeError(`${what}: mode must be 'auto', 'min' or 'max', got ${JSON.stringify(mode)}`);
  return mode as MonitorMode;
}

/** Checks a `monitor` option. */
export function checkMonitor(monitor: unknown, what: string): string {
  if (monitor === undefined) return 'val_loss';
  if (typeof monitor !== 'string' || monitor === '') throw new TypeError(`${what}: monitor must be the name of a logged value like 'val_loss', got ${JSON.stringify(monitor)}`);
  return monitor;
}

/** Checks an optional verbosity (0 or 1, Keras; 2 is taken as 1). */
export function checkVerbose(verbose: unknown, what: string): number {
  if (verbose === undefined) return 0;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2 && verbose !== true && verbose !== false) throw new TypeError(`${what}: verbose must be 0 or 1, got ${JSON.stringify(verbose)}`);
  return Number(verbose);
}

/** A callback's message when `verbose` is on; stderr, as the progress bar, so stdout stays the program's. */
export function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** The base of the callbacks that watch one logged value. */
export abstract class MonitorCallback extends Callback {
  /** The logged value watched, e.g. `'val_loss'`. */
  readonly monitor: string;
  /** `'min'` or `'max'`: the direction `mode` resolved to. */
  readonly direction: 'min' | 'max';
  /** Minimum change that counts as an improvement (absolute value). */
  readonly minDelta: number;
  /** The best value seen so far (null before the first one). */
  best: number | null = null;
  private warned = false;

  protected constructor(monitor: string, mode: MonitorMode, minDelta: number, what: string) {
    super();
    this.monitor = monitor;
    const dir = mode === 'auto' ? directionOf(monitor) : mode;
    if (dir === null) {
      throw new TypeError(
        `${what}: monitor ${JSON.stringify(monitor)} with mode 'auto': cannot tell whether it should be minimized or maximized; pass mode: 'min' or mode: 'max'`,
      );
    }
    this.direction = dir;
    this.minDelta = Math.abs(minDelta);
  }

  /** Whether `value` improves on `reference` by more than minDelta (always, against null). */
  protected isImprovement(value: number, reference: number | null): boolean {
    if (reference === null) return true;
    return this.direction === 'min' ? value + this.minDelta < reference : value - this.minDelta > reference;
  }

  /**
   * The monitored value from the logs, or null (with one console.warn per
   * callback, as Python shows a warning once) when it is not there — e.g.
   * `val_loss` in a fit without validation data.
   */
  protected monitorValue(logs: Logs | undefined, message: string): number | null {
    const value = logs?.[this.monitor];
    if (typeof value === 'number') return value;
    if (!this.warned) {
      this.warned = true;
      console.warn(`${message} \`${this.monitor}\` which is not available. Available metrics are: ${Object.keys(logs ?? {}).join(',')}`);
    }
    return null;
  }
}
