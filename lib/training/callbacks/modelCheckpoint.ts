/**
 * ModelCheckpoint (Keras 3 `keras.callbacks.ModelCheckpoint`): saves the
 * model (or only its weights) during training, every epoch or every N
 * batches, optionally only when the monitored value improves.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { checkKnownOptions, optionalNumber, optionsObject } from '../options.js';
import type { Logs } from './callback.js';
import { checkMode, checkMonitor, checkVerbose, MonitorCallback, say, type MonitorMode } from './monitor.js';
import { checkTemplate, pyFormat } from './pyFormat.js';

/** Options of {@link ModelCheckpoint} (Keras names in camelCase, Keras defaults). */
export interface ModelCheckpointArgs {
  /**
   * Where to save: a directory that `model.save` fills (`model.json` +
   * `weights.bin`), or the path `model.saveWeights` writes. May hold Python
   * format fields filled from the epoch (from 1, as Keras), the batch (from
   * 1, with a numeric saveFreq) and the logs: `'ckpt/epoch-{epoch:02d}-{val_loss:.4f}'`.
   */
  filepath: string;
  /** The logged value watched with saveBestOnly (default `'val_loss'`). */
  monitor?: string;
  /** 1: say when saving (default 0). */
  verbose?: number;
  /** Save only when `monitor` improves on the best so far (default false). */
  saveBestOnly?: boolean;
  /** Save the weights only (`model.saveWeights`), not the whole model (default false). */
  saveWeightsOnly?: boolean;
  /** `'min'`, `'max'`, or `'auto'` (default). */
  mode?: MonitorMode;
  /** `'epoch'` (default): at every epoch end; a number N: every N batches. */
  saveFreq?: 'epoch' | number;
  /** With saveBestOnly: the value to beat at the start (default: none). */
  initialValueThreshold?: number;
}

const OPTIONS = ['filepath', 'monitor', 'verbose', 'saveBestOnly', 'saveWeightsOnly', 'mode', 'saveFreq', 'initialValueThreshold'];

/** What ModelCheckpoint needs of the model: the save functions of `lib/io`. */
interface SavingModel {
  save?(pathOrUrl: string, options?: { includeOptimizer?: boolean }): Promise<unknown>;
  saveWeights?(path: string): Promise<unknown>;
}

/**
 * Keras 3 semantics: with saveBestOnly a value missing from the logs saves
 * anyway (with one warning); a value that does not improve by more than
 * `minDelta` (0) does not save. `model.save` is called with
 * `{includeOptimizer: true}`, so training can resume from the checkpoint.
 * The parent directory is created if missing. A checkpoint that fails to
 * save rejects `fit`.
 */
export class ModelCheckpoint extends MonitorCallback {
  readonly filepath: string;
  readonly verbose: number;
  readonly saveBestOnly: boolean;
  readonly saveWeightsOnly: boolean;
  readonly saveFreq: 'epoch' | number;
  private currentEpoch = 0;
  private batchesSinceSave = 0;
  /** The paths saved to so far, in order. */
  readonly saved: string[] = [];

  constructor(args: ModelCheckpointArgs) {
    const what = 'ModelCheckpoint';
    const a = optionsObject(args, what);
    checkKnownOptions(a, OPTIONS, what);
    super(checkMonitor(a.monitor, what), checkMode(a.mode, what), 0, what);
    if (typeof a.filepath !== 'string' || a.filepath === '') throw new TypeError(`${what}: filepath must be a non-empty string`);
    this.filepath = a.filepath;
    this.verbose = checkVerbose(a.verbose, what);
    for (const k of ['saveBestOnly', 'saveWeightsOnly'] as const) {
      if (a[k] !== undefined && typeof a[k] !== 'boolean') throw new TypeError(`${what}: ${k} must be a boolean`);
    }
    this.saveBestOnly = a.saveBestOnly ?? false;
    this.saveWeightsOnly = a.saveWeightsOnly ?? false;
    const freq = a.saveFreq ?? 'epoch';
    if (freq !== 'epoch' && !(typeof freq === 'number' && Number.isInteger(freq) && freq >= 1)) {
      throw new TypeError(`${what}: saveFreq must be 'epoch' or an integer >= 1 (batches), got ${JSON.stringify(freq)}`);
    }
    this.saveFreq = freq;
    this.best = optionalNumber(a.initialValueThreshold, `${what}: initialValueThreshold`) ?? null;
    // A malformed template fails now, not after the first epoch.
    checkTemplate(this.filepath);
  }

  override onTrainBegin(_logs?: Logs): void {
    this.batchesSinceSave = 0;
  }

  override onEpochBegin(epoch: number, _logs?: Logs): void {
    this.currentEpoch = epoch;
  }

  override async onBatchEnd(batch: number, logs?: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') return;
    this.batchesSinceSave += 1;
    if (this.batchesSinceSave >= this.saveFreq) {
      this.batchesSinceSave = 0;
      await this.saveModel(this.currentEpoch, batch, logs);
    }
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') await this.saveModel(epoch, null, logs);
  }

  /** The path for this epoch (and batch): the template's fields filled (epoch and batch from 1). */
  filePathFor(epoch: number, batch: number | null, logs: Logs = {}): string {
    const values: Record<string, number> = { ...logs, epoch: epoch + 1 };
    const ints = new Set(['epoch']);
    if (batch !== null) {
      values.batch = batch + 1;
      ints.add('batch');
    } else delete values.batch;
    delete values.size;
    try {
      return pyFormat(this.filepath, values, ints);
    } catch (e) {
      throw new RangeError(`ModelCheckpoint: failed to format the filepath ${JSON.stringify(this.filepath)}: ${(e as Error).message}`);
    }
  }

  private shouldSave(epoch: number, logs: Logs | undefined, filepath: string): boolean {
    if (!this.saveBestOnly) {
      if (this.verbose > 0) say(`Epoch ${epoch + 1}: saving model to ${filepath}`);
      return true;
    }
    const current = this.monitorValue(logs, 'Can save best model only with');
    if (current === null) return true;
    const bestStr = this.best === null ? 'None' : this.best.toFixed(5);
    if (this.isImprovement(current, this.best)) {
      if (this.verbose > 0) say(`Epoch ${epoch + 1}: ${this.monitor} improved from ${bestStr} to ${current.toFixed(5)}, saving model to ${filepath}`);
      this.best = current;
      return true;
    }
    if (this.verbose > 0) say(`Epoch ${epoch + 1}: ${this.monitor} did not improve from ${bestStr}`);
    return false;
  }

  private async saveModel(epoch: number, batch: number | null, logs: Logs | undefined): Promise<void> {
    const filepath = this.filePathFor(epoch, batch, logs);
    if (!this.shouldSave(epoch, logs, filepath)) return;
    if (!this.model) throw new Error('ModelCheckpoint: no model; pass the callback to fit({callbacks})');
    const model = this.model as unknown as SavingModel;
    const dir = path.dirname(filepath);
    if (dir !== '' && dir !== '.') await fs.mkdir(dir, { recursive: true });
    if (this.saveWeightsOnly) {
      if (typeof model.saveWeights !== 'function') throw new Error('ModelCheckpoint: this model has no saveWeights(path)');
      await model.saveWeights(filepath);
    } else {
      if (typeof model.save !== 'function') throw new Error('ModelCheckpoint: this model has no save(path)');
      await model.save(filepath, { includeOptimizer: true });
    }
    this.saved.push(filepath);
    if (this.verbose > 0) say(`Epoch ${epoch + 1}: finished saving model to ${filepath}`);
  }
}
