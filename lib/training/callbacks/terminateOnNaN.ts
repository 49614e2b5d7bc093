/**
 * TerminateOnNaN (Keras 3 `keras.callbacks.TerminateOnNaN`): ends `fit`
 * after the batch whose loss is NaN or infinite.
 */
import { checkKnownOptions, optionsObject } from '../options.js';
import { Callback, type Logs } from './callback.js';
import { say } from './monitor.js';

/** Options of {@link TerminateOnNaN}. */
export interface TerminateOnNaNArgs {
  /**
   * false (default): stop gracefully (`model.stopTraining = true`, so every
   * callback's onEpochEnd/onTrainEnd still runs); true: throw at once, so
   * `fit` rejects and no other callback's end hooks run (Keras 3 `raise_error`).
   */
  raiseError?: boolean;
}

/**
 * Watches `loss` after every batch. The trainer records a non-finite loss
 * without updating the weights, so the weights left are those from before
 * that batch.
 */
export class TerminateOnNaN extends Callback {
  readonly raiseError: boolean;
  /** The batch the non-finite loss was seen at, or null. */
  stoppedBatch: number | null = null;

  constructor(args: TerminateOnNaNArgs = {}) {
    super();
    const a = optionsObject(args, 'TerminateOnNaN');
    checkKnownOptions(a, ['raiseError'], 'TerminateOnNaN');
    if (a.raiseError !== undefined && typeof a.raiseError !== 'boolean') throw new TypeError('TerminateOnNaN: raiseError must be a boolean');
    this.raiseError = a.raiseError ?? false;
  }

  override onTrainBegin(_logs?: Logs): void {
    this.stoppedBatch = null;
  }

  override onBatchEnd(batch: number, logs?: Logs): void {
    const loss = logs?.loss;
    if (typeof loss !== 'number' || Number.isFinite(loss)) return;
    this.stoppedBatch = batch;
    if (this.raiseError) throw new Error(`NaN or Inf loss encountered at batch ${batch}. Loss value: ${loss}. Terminating training immediately.`);
    say(`Batch ${batch}: Invalid loss, terminating training`);
    if (!this.model) throw new Error('TerminateOnNaN: no model; pass the callback to fit({callbacks})');
    this.model.stopTraining = true;
  }
}
