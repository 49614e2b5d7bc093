/**
 * EarlyStopping (Keras 3 `keras.callbacks.EarlyStopping`, tfjs
 * `tf.callbacks.earlyStopping`): stops `fit` when the monitored value has
 * stopped improving, optionally putting back the weights of the best epoch.
 */
import type { Tensor } from '../../tensor.js';
import { checkKnownOptions, numberOption, optionalNumber, optionsObject } from '../options.js';
import type { Logs } from './callback.js';
import { checkMode, checkMonitor, checkVerbose, MonitorCallback, say, type MonitorMode } from './monitor.js';

/** Options of {@link EarlyStopping} (Keras names in camelCase, Keras defaults). */
export interface EarlyStoppingArgs {
  /** The logged value watched (default `'val_loss'`). */
  monitor?: string;
  /** A change smaller than this (absolute) is no improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement after which training stops (default 0). */
  patience?: number;
  /** 1: say when training stops and when weights are restored (default 0). */
  verbose?: number;
  /** `'min'`, `'max'`, or `'auto'` (default): losses and errors go down, accuracy/AUC up. */
  mode?: MonitorMode;
  /** Stop unless the value gets better than this within `patience` epochs. */
  baseline?: number;
  /**
   * Set the weights of the best epoch back at the end of training (default
   * false). As in Keras 3 this happens whenever a best epoch was recorded,
   * whether or not training stopped early.
   */
  restoreBestWeights?: boolean;
  /** Epochs to wait before watching (warm-up; default 0). */
  startFromEpoch?: number;
}

const OPTIONS = ['monitor', 'minDelta', 'patience', 'verbose', 'mode', 'baseline', 'restoreBestWeights', 'startFromEpoch'];

/**
 * Stops training when `monitor` has not improved for `patience` epochs, by
 * setting `model.stopTraining`. The semantics are Keras 3's, counter for
 * counter: the first epoch's value is the first best; an epoch that does
 * not improve by more than `minDelta` adds one to `wait`, and training
 * stops once `wait >= patience` (never at epoch 0); with a `baseline`,
 * improvements that do not beat the baseline do not reset `wait`.
 * A monitored value missing from the logs is skipped with one warning.
 */
export class EarlyStopping extends MonitorCallback {
  readonly patience: number;
  readonly verbose: number;
  readonly baseline: number | undefined;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  /** Epochs since the last improvement. */
  wait = 0;
  /** The epoch training was stopped at (0: not stopped). */
  stoppedEpoch = 0;
  /** The epoch of the best value. */
  bestEpoch = 0;
  /** @internal The weights at the end of the best epoch (with restoreBestWeights). */
  bestWeights: Tensor[] | null = null;

  constructor(args: EarlyStoppingArgs = {}) {
    const what = 'EarlyStopping';
    const a = optionsObject(args, what);
    checkKnownOptions(a, OPTIONS, what);
    super(checkMonitor(a.monitor, what), checkMode(a.mode, what), numberOption(a.minDelta, `${what}: minDelta`, 0), what);
    this.patience = numberOption(a.patience, `${what}: patience`, 0, { min: 0, integer: true });
    this.verbose = checkVerbose(a.verbose, what);
    this.baseline = optionalNumber(a.baseline, `${what}: baseline`);
    if (a.restoreBestWeights !== undefined && typeof a.restoreBestWeights !== 'boolean') throw new TypeError(`${what}: restoreBestWeights must be a boolean`);
    this.restoreBestWeights = a.restoreBestWeights ?? false;
    this.startFromEpoch = numberOption(a.startFromEpoch, `${what}: startFromEpoch`, 0, { min: 0, integer: true });
  }

  override onTrainBegin(_logs?: Logs): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = null;
    this.bestWeights = null;
    this.bestEpoch = 0;
  }

  override onEpochEnd(epoch: number, logs?: Logs): void {
    const current = this.monitorValue(logs, 'Early stopping conditioned on metric');
    if (current === null || epoch < this.startFromEpoch) return;
    const model = this.requireModel();
    if (this.restoreBestWeights && this.bestWeights === null) {
      // Keras: the first watched epoch is the fallback best, even if its value is NaN.
      this.bestWeights = model.getWeights();
      this.bestEpoch = epoch;
    }
    this.wait += 1;
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = model.getWeights();
      if (this.baseline === undefined || this.isImprovement(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      model.stopTraining = true;
    }
  }

  override onTrainEnd(_logs?: Logs): void {
    if (this.stoppedEpoch > 0 && this.verbose > 0) say(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights !== null) {
      if (this.verbose > 0) say(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      this.requireModel().setWeights(this.bestWeights);
    }
  }

  private requireModel() {
    if (!this.model) throw new Error('EarlyStopping: no model; pass the callback to fit({callbacks})');
    return this.model;
  }
}
