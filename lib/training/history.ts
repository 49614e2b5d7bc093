/**
 * What `fit` resolves to (Keras/tfjs `History`): the logs of every epoch,
 * by name, and the run's parameters.
 */
import type { CallbackHooks, Logs, TrainingParams } from './callbacks/callback.js';

export class History {
  /** Epoch numbers, from `initialEpoch`. */
  readonly epoch: number[] = [];
  /** Every logged value per epoch: `history.loss[3]` is the loss of the fourth epoch. */
  readonly history: Record<string, number[]> = {};
  /** The run's parameters. */
  params: TrainingParams | null = null;

  /** @internal */
  record(epoch: number, logs: Logs): void {
    this.epoch.push(epoch);
    for (const [key, value] of Object.entries(logs)) {
      (this.history[key] ??= []).push(value);
    }
  }

  /** @internal The callback `fit` records epochs with (always last, so it sees the final logs). */
  asCallback(): CallbackHooks {
    return { onEpochEnd: (epoch, logs) => this.record(epoch, { ...(logs ?? {}) }) };
  }
}
