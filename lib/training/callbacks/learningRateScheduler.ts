/**
 * LearningRateScheduler (Keras 3 `keras.callbacks.LearningRateScheduler`):
 * sets the optimizer's learning rate at the start of every epoch from a
 * function of the epoch and the current rate.
 */
import { Callback, type Logs } from './callback.js';
import { checkVerbose, say } from './monitor.js';

/** `(epoch, lr) => newLr`: epoch counts from 0; may be async. */
export type LearningRateSchedulerFn = (epoch: number, lr: number) => number | Promise<number>;

/**
 * At each epoch begin: `optimizer.learningRate = await schedule(epoch, lr)`;
 * at each epoch end the rate is added to the logs as `learning_rate`
 * (Keras 3's key; tf.keras 2 used `lr`), so History and CSVLogger record
 * it. Setting the rate replaces a learning-rate schedule object with a
 * constant. A schedule that returns anything but a finite number >= 0
 * stops `fit` with an error naming the epoch.
 */
export class LearningRateScheduler extends Callback {
  constructor(
    readonly schedule: LearningRateSchedulerFn,
    readonly verbose: number = 0,
  ) {
    super();
    if (typeof schedule !== 'function') throw new TypeError('LearningRateScheduler: schedule must be a function (epoch, lr) => number');
    this.verbose = checkVerbose(verbose, 'LearningRateScheduler');
  }

  override async onEpochBegin(epoch: number, _logs?: Logs): Promise<void> {
    const optimizer = this.requireModel().optimizer;
    const lr = await this.schedule(epoch, optimizer.learningRate);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new TypeError(`LearningRateScheduler: the schedule must return a finite number >= 0; at epoch ${epoch} it returned ${JSON.stringify(lr) ?? typeof lr}`);
    }
    optimizer.learningRate = lr;
    if (this.verbose > 0) say(`Epoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
  }

  override onEpochEnd(_epoch: number, logs?: Logs): void {
    if (logs) logs.learning_rate = this.requireModel().optimizer.learningRate;
  }

  private requireModel() {
    if (!this.model) throw new Error('LearningRateScheduler: no model; pass the callback to fit({callbacks})');
    return this.model;
  }
}
