/**
 * What `fit` resolves to (Keras/tfjs `History`): the logs of every epoch,
 * by name, and the run's parameters.
 */
import type { CallbackHooks, Logs, TrainingParams } from './callbacks/callback.js';
import { plotHistory, type PlotHistoryOptions } from './plot.js';

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

  /**
   * Writes the curves as a picture: one panel per value (loss, each
   * metric), training solid and validation (`val_…`) dashed, against the
   * epoch. SVG, or PNG when `path` ends in `.png` (needs the optional
   * package @resvg/resvg-js). Written atomically.
   *
   * ```ts
   * const history = await model.fit(x, y, {epochs: 20, validationSplit: 0.2});
   * await history.plot('training.svg', {title: 'GRU on sine waves'});
   * ```
   */
  plot(path: string, options?: PlotHistoryOptions): Promise<void> {
    return plotHistory(this, path, options);
  }

  /** @internal The callback `fit` records epochs with (always last, so it sees the final logs). */
  asCallback(): CallbackHooks {
    return { onEpochEnd: (epoch, logs) => this.record(epoch, { ...(logs ?? {}) }) };
  }
}
