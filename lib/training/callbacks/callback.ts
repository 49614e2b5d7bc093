/**
 * Callbacks, as Keras and tfjs define them: objects whose methods `fit`
 * calls at the start and end of training, of each epoch and of each batch,
 * with the logs so far. A method may be async; `fit` awaits it. Setting
 * `model.stopTraining = true` ends `fit` after the current batch.
 */
import type { LayersModel } from '../../models/layersModel.js';

/** Loss and metric values by name (`loss`, `acc`, `val_loss`, ...). */
export type Logs = Record<string, number>;

/** What `fit` tells callbacks about the run. */
export interface TrainingParams {
  epochs: number;
  /** Batches per epoch. */
  steps: number;
  samples: number;
  batchSize: number;
  verbose: 0 | 1 | 2;
  /** Names of the values in the logs, validation ones included. */
  metrics: string[];
  /** First epoch (initialEpoch). */
  initialEpoch: number;
}

/** The hooks of a callback; every one is optional (tfjs `CustomCallbackArgs`). */
export interface CallbackHooks {
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs?: Logs): void | Promise<void>;
  onBatchBegin?(batch: number, logs?: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs?: Logs): void | Promise<void>;
}

/** Base class of the built-in callbacks (Keras `Callback`). */
export abstract class Callback implements CallbackHooks {
  /** The model being trained; set by `fit`. */
  model: LayersModel | null = null;
  /** The run's parameters; set by `fit`. */
  params: TrainingParams | null = null;

  /** @internal */
  setModel(model: LayersModel): void {
    this.model = model;
  }

  /** @internal */
  setParams(params: TrainingParams): void {
    this.params = params;
  }

  onTrainBegin(_logs?: Logs): void | Promise<void> {}
  onTrainEnd(_logs?: Logs): void | Promise<void> {}
  onEpochBegin(_epoch: number, _logs?: Logs): void | Promise<void> {}
  onEpochEnd(_epoch: number, _logs?: Logs): void | Promise<void> {}
  onBatchBegin(_batch: number, _logs?: Logs): void | Promise<void> {}
  onBatchEnd(_batch: number, _logs?: Logs): void | Promise<void> {}
}

/** Runs a list of callbacks (built-in ones and plain hook objects) in order. */
export class CallbackList {
  constructor(readonly callbacks: Array<Callback | CallbackHooks>) {}

  setup(model: LayersModel, params: TrainingParams): void {
    for (const c of this.callbacks) {
      if (c instanceof Callback) {
        c.setModel(model);
        c.setParams(params);
      }
    }
  }

  async trainBegin(logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onTrainBegin?.(logs);
  }
  async trainEnd(logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onTrainEnd?.(logs);
  }
  async epochBegin(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEpochBegin?.(epoch, logs);
  }
  async epochEnd(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEpochEnd?.(epoch, logs);
  }
  async batchBegin(batch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onBatchBegin?.(batch, logs);
  }
  async batchEnd(batch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onBatchEnd?.(batch, logs);
  }
}

/** Checks a `callbacks` argument: a callback, a hooks object, or a list of them. */
export function toCallbackList(value: unknown): Array<Callback | CallbackHooks> {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  const hooks = ['onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd', 'onYield'];
  list.forEach((c, i) => {
    if (c instanceof Callback) return;
    if (c === null || typeof c !== 'object') throw new TypeError(`callbacks[${i}] must be a callback object like {onEpochEnd(epoch, logs) {...}}, got ${c === null ? 'null' : typeof c}`);
    for (const [key, v] of Object.entries(c as Record<string, unknown>)) {
      if (hooks.includes(key) && typeof v !== 'function') throw new TypeError(`callbacks[${i}].${key} must be a function`);
    }
  });
  return list as Array<Callback | CallbackHooks>;
}
