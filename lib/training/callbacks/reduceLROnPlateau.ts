/**
 * ReduceLROnPlateau (Keras 3 `keras.callbacks.ReduceLROnPlateau`):
 * multiplies the optimizer's learning rate by `factor` when the monitored
 * value has stopped improving for `patience` epochs.
 */
import { checkKnownOptions, numberOption, optionsObject } from '../options.js';
import type { Logs } from './callback.js';
import { checkMode, checkMonitor, checkVerbose, MonitorCallback, say, type MonitorMode } from './monitor.js';

/** Options of {@link ReduceLROnPlateau} (Keras names in camelCase, Keras defaults). */
export interface ReduceLROnPlateauArgs {
  /** The logged value watched (default `'val_loss'`). */
  monitor?: string;
  /** new lr = lr · factor, in [0, 1) (default 0.1). */
  factor?: number;
  /** Epochs without improvement before the rate is reduced (default 10). */
  patience?: number;
  /** 1: say when the rate is reduced (default 0). */
  verbose?: number;
  /** `'min'`, `'max'`, or `'auto'` (default). */
  mode?: MonitorMode;
  /** A change smaller than this is no improvement (default 1e-4). */
  minDelta?: number;
  /** Epochs after a reduction during which epochs without improvement are not counted (default 0). */
  cooldown?: number;
  /** The rate is never reduced below this (default 0). */
  minLr?: number;
}

const OPTIONS = ['monitor', 'factor', 'patience', 'verbose', 'mode', 'minDelta', 'cooldown', 'minLr'];

/**
 * Keras 3 semantics: at every epoch end the current rate is added to the
 * logs as `learning_rate` (so History and CSVLogger record it); after
 * `patience` epochs without improvement the rate becomes
 * `max(lr · factor, minLr)` (only while lr > minLr), then `cooldown` epochs
 * pass before epochs without improvement count again. Setting the rate
 * replaces a learning-rate schedule with a constant.
 */
export class ReduceLROnPlateau extends MonitorCallback {
  readonly factor: number;
  readonly patience: number;
  readonly verbose: number;
  readonly cooldown: number;
  readonly minLr: number;
  /** Epochs left in the current cooldown. */
  cooldownCounter = 0;
  /** Epochs without improvement (outside cooldown). */
  wait = 0;

  constructor(args: ReduceLROnPlateauArgs = {}) {
    const what = 'ReduceLROnPlateau';
    const a = optionsObject(args, what);
    checkKnownOptions(a, OPTIONS, what);
    super(checkMonitor(a.monitor, what), checkMode(a.mode, what), numberOption(a.minDelta, `${what}: minDelta`, 1e-4), what);
    this.factor = numberOption(a.factor, `${what}: factor`, 0.1, { min: 0, max: 1, maxOpen: true });
    this.patience = numberOption(a.patience, `${what}: patience`, 10, { min: 0, integer: true });
    this.verbose = checkVerbose(a.verbose, what);
    this.cooldown = numberOption(a.cooldown, `${what}: cooldown`, 0, { min: 0, integer: true });
    this.minLr = numberOption(a.minLr, `${what}: minLr`, 0, { min: 0 });
  }

  override onTrainBegin(_logs?: Logs): void {
    this.best = null;
    this.cooldownCounter = 0;
    this.wait = 0;
  }

  override onEpochEnd(epoch: number, logs?: Logs): void {
    if (!this.model) throw new Error('ReduceLROnPlateau: no model; pass the callback to fit({callbacks})');
    const optimizer = this.model.optimizer;
    if (logs) logs.learning_rate = optimizer.learningRate;
    const current = this.monitorValue(logs, 'Learning rate reduction is conditioned on metric');
    if (current === null) return;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.wait = 0;
    } else if (this.cooldownCounter === 0) {
      this.wait += 1;
      if (this.wait >= this.patience) {
        const old = optimizer.learningRate;
        // Keras keeps the rate as float32 and compares it with float32(min_lr).
        if (Math.fround(old) > Math.fround(this.minLr)) {
          const next = Math.max(old * this.factor, this.minLr);
          optimizer.learningRate = next;
          if (this.verbose > 0) say(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${next}.`);
          this.cooldownCounter = this.cooldown;
          this.wait = 0;
        }
      }
    }
  }
}
