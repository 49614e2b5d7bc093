/**
 * The built-in callbacks as one namespace, as tfjs (`tf.callbacks.earlyStopping(...)`)
 * and Keras (`keras.callbacks.EarlyStopping(...)`) offer them: a factory
 * in camelCase for each, and the classes.
 */
import { CSVLogger, type CSVLoggerArgs } from './csvLogger.js';
import { EarlyStopping, type EarlyStoppingArgs } from './earlyStopping.js';
import { LearningRateScheduler, type LearningRateSchedulerFn } from './learningRateScheduler.js';
import { ModelCheckpoint, type ModelCheckpointArgs } from './modelCheckpoint.js';
import { ReduceLROnPlateau, type ReduceLROnPlateauArgs } from './reduceLROnPlateau.js';
import { TerminateOnNaN, type TerminateOnNaNArgs } from './terminateOnNaN.js';

export const callbacks = {
  /** Stops fit when `monitor` stops improving (tfjs `tf.callbacks.earlyStopping`). */
  earlyStopping: (args?: EarlyStoppingArgs): EarlyStopping => new EarlyStopping(args),
  /** Saves the model or its weights every epoch / N batches, or when `monitor` improves. */
  modelCheckpoint: (args: ModelCheckpointArgs): ModelCheckpoint => new ModelCheckpoint(args),
  /** Sets the learning rate at each epoch begin from `schedule(epoch, lr)`. */
  learningRateScheduler: (schedule: LearningRateSchedulerFn, verbose = 0): LearningRateScheduler => new LearningRateScheduler(schedule, verbose),
  /** Multiplies the learning rate by `factor` when `monitor` stops improving. */
  reduceLROnPlateau: (args?: ReduceLROnPlateauArgs): ReduceLROnPlateau => new ReduceLROnPlateau(args),
  /** Stops fit after a batch whose loss is NaN or infinite. */
  terminateOnNaN: (args?: TerminateOnNaNArgs): TerminateOnNaN => new TerminateOnNaN(args),
  /** Writes each epoch's logs as a CSV row. */
  csvLogger: (args: CSVLoggerArgs): CSVLogger => new CSVLogger(args),
  EarlyStopping,
  ModelCheckpoint,
  LearningRateScheduler,
  ReduceLROnPlateau,
  TerminateOnNaN,
  CSVLogger,
};

export { CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN };
export type { CSVLoggerArgs, EarlyStoppingArgs, LearningRateSchedulerFn, ModelCheckpointArgs, ReduceLROnPlateauArgs, TerminateOnNaNArgs };
