/**
 * The built-in callbacks: each driven directly with scripted logs (the
 * Keras 3 counters, epoch by epoch) and inside a real fit of a tiny GRU
 * model on both backends: stopping, restoring the best weights, changing
 * the learning rate, stopping on a non-finite loss, the CSV file and
 * checkpoints (model.save / saveWeights stubbed on the instance to see the
 * calls, and once for real).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { layers, sequential, setBackend, setSeed, tensor, train, type LayersModel, type Tensor } from '../lib/index.js';
import { Dense } from '../lib/layers/core/dense.js';
import { Random } from '../lib/random.js';
import { callbacks, CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN } from '../lib/training/callbacks/index.js';
import type { Callback, Logs } from '../lib/training/callbacks/callback.js';
import { directionOf } from '../lib/training/callbacks/monitor.js';
import { pyFloatRepr, pyFormat } from '../lib/training/callbacks/pyFormat.js';

// ------------------------------------------------------------------ helpers

function tinyModel(optimizer: Parameters<LayersModel['compile']>[0]['optimizer'] = 'sgd'): LayersModel {
  const m = sequential({ layers: [layers.gru({ units: 4, inputShape: [5, 2] }), new Dense({ units: 1 })] });
  m.compile({ optimizer, loss: 'meanSquaredError' });
  return m;
}

function data(n: number, seed: number): { x: Tensor<'float32'>; y: Tensor<'float32'> } {
  const r = new Random(seed);
  const x = tensor(Float32Array.from({ length: n * 10 }, () => r.next() * 2 - 1), [n, 5, 2]);
  const y = tensor(Float32Array.from({ length: n }, () => r.next()), [n, 1]);
  return { x, y };
}

/** A stand-in model for driving callbacks directly: weights are one tensor holding a label. */
class FakeModel {
  stopTraining = false;
  weights: Tensor[] = [tensor([0], [1])];
  optimizer = { learningRate: 0.1 };
  getWeights(): Tensor[] {
    return this.weights.map((w) => tensor(Float32Array.from(w.dataSync()), w.shape));
  }
  setWeights(w: Tensor[]): void {
    this.weights = w;
  }
}

function attach<C extends Callback>(cb: C, m: FakeModel = new FakeModel()): { cb: C; m: FakeModel } {
  cb.setModel(m as unknown as LayersModel);
  return { cb, m };
}

/**
 * Runs `cb` through epochs with `monitor` taking `values` in turn, as fit
 * would (stopping when the model asks), setting the fake weights to the
 * epoch number first. Returns the epochs run.
 */
async function script(cb: Callback, m: FakeModel, monitor: string, values: number[]): Promise<number> {
  await cb.onTrainBegin({});
  let epoch = 0;
  for (; epoch < values.length && !m.stopTraining; epoch++) {
    m.weights = [tensor([epoch], [1])];
    await cb.onEpochBegin(epoch, {});
    await cb.onEpochEnd(epoch, { loss: 1, [monitor]: values[epoch] });
  }
  await cb.onTrainEnd({});
  return epoch;
}

async function tmpDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'gatedrnn-callbacks-'));
}

// ------------------------------------------------------- scripted (no model)

describe('EarlyStopping on scripted logs (Keras 3 counters)', () => {
  it('stops once `patience` epochs in a row fail to improve, never at epoch 0', async () => {
    const { cb, m } = attach(new EarlyStopping({ monitor: 'val_loss', patience: 2 }));
    expect(await script(cb, m, 'val_loss', [1.0, 0.9, 0.95, 0.92, 0.91, 0.5])).toBe(4);
    expect(cb.stoppedEpoch).toBe(3);
    expect(cb.best).toBe(0.9);
    expect(cb.bestEpoch).toBe(1);
    // Defaults: monitor val_loss, patience 0: the first epoch that does not improve stops.
    const d = attach(callbacks.earlyStopping());
    expect(await script(d.cb, d.m, 'val_loss', [1.0, 0.8, 0.8, 0.1])).toBe(3);
  });

  it('minDelta: a change smaller than minDelta is no improvement', async () => {
    const a = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', minDelta: 0.1 }));
    expect(await script(a.cb, a.m, 'loss_x', [1.0, 0.95, 0.5])).toBe(2);
    const b = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', minDelta: 0.01 }));
    expect(await script(b.cb, b.m, 'loss_x', [1.0, 0.95, 0.5])).toBe(3);
    // The sign of minDelta does not matter (Keras takes abs).
    const c = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', minDelta: -0.1 }));
    expect(await script(c.cb, c.m, 'loss_x', [1.0, 0.95, 0.5])).toBe(2);
  });

  it("mode 'auto' maximizes accuracy and AUC, minimizes losses and errors; 'max'/'min' override", async () => {
    expect(directionOf('val_accuracy')).toBe('max');
    expect(directionOf('acc')).toBe('max');
    expect(directionOf('val_binary_accuracy')).toBe('max');
    expect(directionOf('auc')).toBe('max');
    expect(directionOf('val_loss')).toBe('min');
    expect(directionOf('dense_1_loss')).toBe('min');
    expect(directionOf('mae')).toBe('min');
    expect(directionOf('mean_squared_error')).toBe('min');
    expect(directionOf('val_root_mean_squared_error')).toBe('min');
    const up = attach(new EarlyStopping({ monitor: 'val_accuracy' }));
    expect(await script(up.cb, up.m, 'val_accuracy', [0.5, 0.6, 0.55, 0.9])).toBe(3);
    const forcedMin = attach(new EarlyStopping({ monitor: 'val_accuracy', mode: 'min' }));
    expect(await script(forcedMin.cb, forcedMin.m, 'val_accuracy', [0.5, 0.6, 0.55, 0.9])).toBe(2);
    // A name that says nothing needs a mode (Keras 3 raises too).
    expect(() => new EarlyStopping({ monitor: 'score' })).toThrow(/mode: 'min' or mode: 'max'/);
    expect(() => new EarlyStopping({ monitor: 'val_loss', mode: 'down' as never })).toThrow(/mode must be/);
    expect(() => new EarlyStopping({ monitor: 'val_loss', patiense: 3 } as never)).toThrow(/unknown option "patiense"/);
  });

  it('baseline: improvements that do not beat the baseline do not reset the count', async () => {
    const without = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', patience: 2 }));
    expect(await script(without.cb, without.m, 'loss_x', [0.9, 0.95, 0.97, 0.99])).toBe(3);
    const withBase = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', patience: 2, baseline: 0.5 }));
    expect(await script(withBase.cb, withBase.m, 'loss_x', [0.9, 0.95, 0.97, 0.99])).toBe(2);
    // Beating the baseline resets as usual.
    const beaten = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', patience: 2, baseline: 0.5 }));
    expect(await script(beaten.cb, beaten.m, 'loss_x', [0.4, 0.45, 0.3, 0.35, 0.36, 0.37])).toBe(5);
  });

  it('startFromEpoch: the first epochs are not watched', async () => {
    const { cb, m } = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', startFromEpoch: 2 }));
    expect(await script(cb, m, 'loss_x', [1, 2, 3, 4, 5])).toBe(4);
    expect(cb.bestEpoch).toBe(2);
  });

  it('restoreBestWeights puts back the best epoch’s weights at train end (also when not stopped early, as Keras 3)', async () => {
    const a = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', patience: 1, restoreBestWeights: true }));
    expect(await script(a.cb, a.m, 'loss_x', [1.0, 0.5, 0.7, 0.8])).toBe(3);
    expect(a.m.weights[0].dataSync()[0]).toBe(1);
    // Not stopped (patience not reached), still restored.
    const b = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', patience: 5, restoreBestWeights: true }));
    expect(await script(b.cb, b.m, 'loss_x', [1.0, 0.2, 0.7, 0.8])).toBe(4);
    expect(b.cb.stoppedEpoch).toBe(0);
    expect(b.m.weights[0].dataSync()[0]).toBe(1);
    // Without the option the last weights stay.
    const c = attach(new EarlyStopping({ monitor: 'loss_x', mode: 'min', patience: 1 }));
    await script(c.cb, c.m, 'loss_x', [1.0, 0.5, 0.7, 0.8]);
    expect(c.m.weights[0].dataSync()[0]).toBe(2);
  });

  it('a monitor missing from the logs warns once and never stops', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const { cb, m } = attach(new EarlyStopping({ monitor: 'val_loss', restoreBestWeights: true }));
      await cb.onTrainBegin({});
      for (let e = 0; e < 4; e++) await cb.onEpochEnd(e, { loss: 1 + e });
      await cb.onTrainEnd({});
      expect(m.stopTraining).toBe(false);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/`val_loss` which is not available\. Available metrics are: loss/);
      expect(m.weights[0].dataSync()[0]).toBe(0);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('ReduceLROnPlateau on scripted logs', () => {
  it('reduces after `patience` flat epochs, waits `cooldown`, never goes below minLr (Keras 3 trace)', async () => {
    const { cb, m } = attach(new ReduceLROnPlateau({ monitor: 'val_loss', patience: 2, factor: 0.5, cooldown: 2, minLr: 0.02 }));
    await cb.onTrainBegin({});
    const lrs: number[] = [];
    const logged: number[] = [];
    for (let e = 0; e < 12; e++) {
      const logs: Logs = { val_loss: 1.0 };
      await cb.onEpochEnd(e, logs);
      logged.push(logs.learning_rate);
      lrs.push(m.optimizer.learningRate);
    }
    // Reduced at epochs 2, 5, 8: patience 2, then the cooldown's 2 epochs (the second already counts, as in Keras).
    expect(lrs).toEqual([0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02]);
    // Keras 3 logs the rate the epoch ran with, before this epoch's reduction.
    expect(logged).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02]);
    // At minLr (compared as float32, as Keras) nothing more happens: no new cooldown, the wait keeps counting.
    expect(cb.cooldownCounter).toBe(0);
    expect(cb.wait).toBe(2);
  });

  it('an improvement larger than minDelta resets the wait; a smaller one does not', async () => {
    const { cb, m } = attach(new ReduceLROnPlateau({ monitor: 'loss', patience: 2, factor: 0.1 }));
    await cb.onTrainBegin({});
    // minDelta 1e-4: 0.99995 is not an improvement on 1.0, 0.9 is.
    const values = [1.0, 0.99995, 0.9, 0.9, 0.9];
    const lrs: number[] = [];
    for (const [e, v] of values.entries()) {
      await cb.onEpochEnd(e, { loss: v });
      lrs.push(m.optimizer.learningRate);
    }
    expect(lrs[0]).toBe(0.1);
    expect(lrs[1]).toBe(0.1);
    expect(lrs[2]).toBe(0.1);
    expect(lrs[3]).toBe(0.1);
    expect(lrs[4]).toBeCloseTo(0.01, 12);
    expect(() => new ReduceLROnPlateau({ factor: 1 })).toThrow(/factor/);
  });

  it("mode 'max' and a missing monitor (one warning, no change)", async () => {
    const a = attach(new ReduceLROnPlateau({ monitor: 'val_accuracy', patience: 1 }));
    await a.cb.onTrainBegin({});
    await a.cb.onEpochEnd(0, { val_accuracy: 0.5 });
    await a.cb.onEpochEnd(1, { val_accuracy: 0.7 });
    expect(a.m.optimizer.learningRate).toBe(0.1);
    await a.cb.onEpochEnd(2, { val_accuracy: 0.6 });
    expect(a.m.optimizer.learningRate).toBeCloseTo(0.01, 12);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const b = attach(new ReduceLROnPlateau({ patience: 0 }));
      await b.cb.onTrainBegin({});
      for (let e = 0; e < 3; e++) await b.cb.onEpochEnd(e, { loss: 1 });
      expect(b.m.optimizer.learningRate).toBe(0.1);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('LearningRateScheduler and TerminateOnNaN on scripted logs', () => {
  it('sets the rate from schedule(epoch, lr) at epoch begin and logs learning_rate at epoch end', async () => {
    const seen: Array<[number, number]> = [];
    const { cb, m } = attach(
      new LearningRateScheduler((epoch, lr) => {
        seen.push([epoch, lr]);
        return epoch < 2 ? lr : lr * 0.5;
      }),
    );
    const logged: number[] = [];
    for (let e = 0; e < 4; e++) {
      await cb.onEpochBegin(e);
      const logs: Logs = { loss: 1 };
      await cb.onEpochEnd(e, logs);
      logged.push(logs.learning_rate);
    }
    expect(seen).toEqual([
      [0, 0.1],
      [1, 0.1],
      [2, 0.1],
      [3, 0.05],
    ]);
    expect(logged).toEqual([0.1, 0.1, 0.05, 0.025]);
    expect(m.optimizer.learningRate).toBe(0.025);
    // Async schedules are awaited; a bad value is an error naming the epoch.
    const async = attach(new LearningRateScheduler(async (epoch) => 0.5 / (epoch + 1)));
    await async.cb.onEpochBegin(1);
    expect(async.m.optimizer.learningRate).toBe(0.25);
    const bad = attach(new LearningRateScheduler(() => Number.NaN));
    await expect(bad.cb.onEpochBegin(3)).rejects.toThrow(/at epoch 3 it returned/);
    expect(() => new LearningRateScheduler(0.1 as never)).toThrow(/must be a function/);
  });

  it('TerminateOnNaN stops on a NaN or infinite batch loss, or throws with raiseError', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const { cb, m } = attach(callbacks.terminateOnNaN());
        cb.onBatchEnd(0, { loss: 0.5 });
        cb.onBatchEnd(1, { loss: 1e30 });
        expect(m.stopTraining).toBe(false);
        cb.onBatchEnd(2, { loss: bad });
        expect(m.stopTraining).toBe(true);
        expect(cb.stoppedBatch).toBe(2);
      }
      const { cb, m } = attach(new TerminateOnNaN({ raiseError: true }));
      expect(() => cb.onBatchEnd(4, { loss: Number.NaN })).toThrow(/NaN or Inf loss encountered at batch 4/);
      expect(m.stopTraining).toBe(false);
    } finally {
      write.mockRestore();
    }
  });
});

describe('Python formatting (checkpoint names, CSV values)', () => {
  it('repr(float) as Python prints it', () => {
    expect(pyFloatRepr(0.1)).toBe('0.1');
    expect(pyFloatRepr(3)).toBe('3.0');
    expect(pyFloatRepr(-0)).toBe('-0.0');
    expect(pyFloatRepr(1e-5)).toBe('1e-05');
    expect(pyFloatRepr(1.5e-7)).toBe('1.5e-07');
    expect(pyFloatRepr(0.0001)).toBe('0.0001');
    expect(pyFloatRepr(1e16)).toBe('1e+16');
    expect(pyFloatRepr(123456789012345680)).toBe('1.2345678901234568e+17');
    expect(pyFloatRepr(1234.5)).toBe('1234.5');
    expect(pyFloatRepr(Math.fround(0.1))).toBe('0.10000000149011612');
    expect(pyFloatRepr(Number.NaN)).toBe('nan');
    expect(pyFloatRepr(Number.NEGATIVE_INFINITY)).toBe('-inf');
  });

  it('str.format fields as Keras file names use them', () => {
    const v = { epoch: 3, val_loss: 0.123456, loss: 0.000123456 };
    const ints = new Set(['epoch']);
    expect(pyFormat('ckpt-{epoch:02d}-{val_loss:.4f}', v, ints)).toBe('ckpt-03-0.1235');
    expect(pyFormat('{epoch}/{loss:.2e}/{loss:.3g}/{val_loss}', v, ints)).toBe('3/1.23e-04/0.000123/0.123456');
    expect(pyFormat('{{epoch}}-{epoch:>4d}-{epoch:<3d}|-{val_loss:+.1%}', v, ints)).toBe('{epoch}-   3-3  |-+12.3%');
    expect(pyFormat('{loss:g}', { loss: 1.5e-7 })).toBe('1.5e-07');
    expect(() => pyFormat('{acc:.2f}', v, ints)).toThrow(/cannot fill \{acc\}.*epoch, val_loss, loss/);
    expect(() => pyFormat('{epoch', v, ints)).toThrow(/single '\{'/);
    expect(() => new ModelCheckpoint({ filepath: 'x-{epoch:.q}' })).toThrow(/invalid format spec/);
  });
});

// ------------------------------------------------------------ in a real fit

describe.each(['native', 'js'] as const)('callbacks in fit on the %s backend', (backendName) => {
  let dir = '';
  beforeEach(async () => {
    setBackend(backendName);
    setSeed(11);
    dir = await tmpDir();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('a user callback setting model.stopTraining in onBatchEnd ends fit right after that batch', async () => {
    const m = tinyModel();
    const { x, y } = data(16, 1);
    const begun: Array<[number, number]> = [];
    let epoch = -1;
    const history = await m.fit(x, y, {
      epochs: 3,
      batchSize: 4,
      verbose: 0,
      callbacks: {
        onEpochBegin: (e) => {
          epoch = e;
        },
        onBatchBegin: (b) => {
          begun.push([epoch, b]);
        },
        onBatchEnd: (b) => {
          if (b === 1) m.stopTraining = true;
        },
      },
    });
    expect(begun).toEqual([
      [0, 0],
      [0, 1],
    ]);
    expect(m.optimizer.iterations).toBe(2);
    expect(history.epoch).toEqual([0]);
  });

  it('EarlyStopping: patience 0 on a value that gets worse stops fit early', async () => {
    const m = tinyModel(train.sgd(0.05));
    const { x, y } = data(16, 2);
    // Full-batch gradient descent with a small step: the loss falls every epoch, so in mode 'max' it worsens.
    const es = new EarlyStopping({ monitor: 'loss', mode: 'max', patience: 0 });
    const history = await m.fit(x, y, { epochs: 10, batchSize: 16, shuffle: false, verbose: 0, callbacks: [es] });
    const losses = history.history.loss;
    expect(losses[1]).toBeLessThan(losses[0]);
    expect(history.epoch).toEqual([0, 1]);
    expect(es.stoppedEpoch).toBe(1);
    // The same run in mode 'min' does not stop.
    setSeed(11);
    const m2 = tinyModel(train.sgd(0.05));
    const h2 = await m2.fit(x, y, { epochs: 4, batchSize: 16, shuffle: false, verbose: 0, callbacks: [new EarlyStopping({ monitor: 'loss', patience: 0 })] });
    expect(h2.epoch).toEqual([0, 1, 2, 3]);
  });

  it('EarlyStopping restoreBestWeights: the model ends with the weights of the best epoch', async () => {
    const m = tinyModel(train.adam(0.05));
    const { x, y } = data(16, 3);
    const scores = [0.9, 0.3, 0.5, 0.6, 0.7, 0.8];
    const snapshots: Float32Array[][] = [];
    // A callback before EarlyStopping scripts the monitored value and records each epoch's weights.
    const scripted = {
      onEpochEnd: (epoch: number, logs?: Logs) => {
        (logs as Logs).score = scores[epoch];
        snapshots.push(m.getWeights().map((w) => Float32Array.from(w.dataSync())));
      },
    };
    const es = new EarlyStopping({ monitor: 'score', mode: 'min', patience: 2, restoreBestWeights: true });
    const history = await m.fit(x, y, { epochs: 6, batchSize: 8, verbose: 0, callbacks: [scripted, es] });
    expect(history.epoch).toEqual([0, 1, 2, 3]);
    expect(history.history.score).toEqual([0.9, 0.3, 0.5, 0.6]);
    const final = m.getWeights().map((w) => Array.from(w.dataSync()));
    expect(final).toEqual(snapshots[1].map((w) => Array.from(w)));
    expect(final).not.toEqual(snapshots[3].map((w) => Array.from(w)));
  });

  it('EarlyStopping on val_loss without validation data warns once and trains every epoch', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const m = tinyModel();
      const { x, y } = data(8, 4);
      const history = await m.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, callbacks: [callbacks.earlyStopping()] });
      expect(history.epoch).toEqual([0, 1, 2]);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('LearningRateScheduler sets the optimizer rate each epoch; History records learning_rate', async () => {
    const m = tinyModel(train.sgd(0.1));
    const { x, y } = data(8, 5);
    const history = await m.fit(x, y, {
      epochs: 3,
      batchSize: 4,
      verbose: 0,
      callbacks: [callbacks.learningRateScheduler((epoch, lr) => (epoch < 1 ? lr : lr * 0.5))],
    });
    expect(history.history.learning_rate).toEqual([0.1, 0.05, 0.025]);
    expect(m.optimizer.learningRate).toBe(0.025);
  });

  it('ReduceLROnPlateau halves the rate every epoch the value worsens (patience 0)', async () => {
    const m = tinyModel(train.sgd(0.05));
    const { x, y } = data(16, 6);
    const history = await m.fit(x, y, {
      epochs: 3,
      batchSize: 16,
      shuffle: false,
      verbose: 0,
      callbacks: [callbacks.reduceLROnPlateau({ monitor: 'loss', mode: 'max', patience: 0, factor: 0.5 })],
    });
    expect(history.history.loss[2]).toBeLessThan(history.history.loss[1]);
    expect(history.history.learning_rate).toEqual([0.05, 0.05, 0.025]);
    expect(m.optimizer.learningRate).toBe(0.0125);
  });

  it('TerminateOnNaN ends fit after the first batch with an infinite loss, weights untouched', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // An exponential head with bias 200: exp(200) overflows float32, so the loss is infinite from the first batch.
      const m = sequential({ layers: [layers.gru({ units: 4, inputShape: [5, 2] }), new Dense({ units: 1, activation: 'exponential' })] });
      m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      const { x, y } = data(16, 7);
      const w = m.getWeights();
      m.setWeights([...w.slice(0, -1), tensor([200], [1])]);
      const before = m.getWeights().map((t) => Array.from(t.dataSync()));
      const batches: number[] = [];
      const history = await m.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0, callbacks: [{ onBatchEnd: (b) => void batches.push(b) }, new TerminateOnNaN()] });
      expect(batches).toEqual([0]);
      expect(history.epoch).toEqual([0]);
      expect(Number.isFinite(history.history.loss[0])).toBe(false);
      expect(m.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(before);
      expect(write.mock.calls.some((c) => /Batch 0: Invalid loss, terminating training/.test(String(c[0])))).toBe(true);
    } finally {
      write.mockRestore();
    }
  });

  it('CSVLogger writes the header and one row per epoch; append adds rows without a second header', async () => {
    const m = tinyModel();
    const { x, y } = data(12, 8);
    const val = data(4, 9);
    const file = path.join(dir, 'log.csv');
    const h1 = await m.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0, validationData: [val.x, val.y], callbacks: [callbacks.csvLogger({ filename: file })] });
    const lines = (await fs.readFile(file, 'utf8')).split('\n');
    expect(lines[0]).toBe('epoch,loss,val_loss');
    expect(lines.length).toBe(5);
    expect(lines[4]).toBe('');
    lines.slice(1, 4).forEach((line, i) => {
      const [epoch, loss, valLoss] = line.split(',');
      expect(epoch).toBe(String(i));
      expect(Number(loss)).toBe(h1.history.loss[i]);
      expect(Number(valLoss)).toBe(h1.history.val_loss[i]);
    });
    // append: three more rows, no header; a learning_rate column needs nothing new in CSVLogger.
    const h2 = await m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, validationData: [val.x, val.y], callbacks: [new CSVLogger({ filename: file, append: true })] });
    const again = (await fs.readFile(file, 'utf8')).trimEnd().split('\n');
    expect(again.length).toBe(6);
    expect(again.filter((l) => l.startsWith('epoch')).length).toBe(1);
    expect(again[5]).toBe(`1,${pyFloatRepr(h2.history.loss[1])},${pyFloatRepr(h2.history.val_loss[1])}`);
    // Not append: the file starts over; another separator; keys sorted, added keys quoted when needed.
    await m.fit(x, y, {
      epochs: 1,
      batchSize: 4,
      verbose: 0,
      callbacks: [callbacks.learningRateScheduler((_e, lr) => lr), { onEpochEnd: (_e: number, logs?: Logs) => void ((logs as Logs)['a;b'] = 0.5) }, new CSVLogger({ filename: file, separator: ';' })],
    });
    const fresh = (await fs.readFile(file, 'utf8')).trimEnd().split('\n');
    expect(fresh.length).toBe(2);
    expect(fresh[0]).toBe('epoch;"a;b";learning_rate;loss');
    expect(fresh[1]).toMatch(/^0;0\.5;0\.01;[0-9.e-]+$/);
  });

  it('ModelCheckpoint saves every epoch to Keras-style names, or only improvements, or weights every N batches', async () => {
    const m = tinyModel(train.sgd(0.05));
    const { x, y } = data(16, 10);
    const save = vi.fn(async (_p: string, _o?: { includeOptimizer?: boolean }) => ({}));
    const saveWeights = vi.fn(async (_p: string) => ({}));
    // The save functions belong to lib/io; stubbed on this instance.
    Object.assign(m, { save, saveWeights });
    const every = new ModelCheckpoint({ filepath: path.join(dir, 'ckpt', 'e{epoch:02d}-{loss:.4f}') });
    const history = await m.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, verbose: 0, callbacks: [every] });
    const names = history.history.loss.map((l, i) => path.join(dir, 'ckpt', `e0${i + 1}-${l.toFixed(4)}`));
    expect(save.mock.calls.map((c) => c[0])).toEqual(names);
    expect(save.mock.calls.every((c) => c[1]?.includeOptimizer === true)).toBe(true);
    expect(every.saved).toEqual(names);
    expect((await fs.stat(path.join(dir, 'ckpt'))).isDirectory()).toBe(true);

    // saveBestOnly: the loss falls every epoch, so in mode 'max' only the first epoch improves.
    save.mockClear();
    const best = callbacks.modelCheckpoint({ filepath: path.join(dir, 'best'), monitor: 'loss', mode: 'max', saveBestOnly: true });
    await m.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, verbose: 0, callbacks: [best] });
    expect(save).toHaveBeenCalledTimes(1);
    save.mockClear();
    const bestMin = callbacks.modelCheckpoint({ filepath: path.join(dir, 'best'), monitor: 'loss', saveBestOnly: true });
    await m.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, verbose: 0, callbacks: [bestMin] });
    expect(save).toHaveBeenCalledTimes(3);

    // Weights only, every 3 batches: 4 batches per epoch × 2 epochs = 8 batches → saves after batches 3 and 6.
    save.mockClear();
    const freq = new ModelCheckpoint({ filepath: path.join(dir, 'w-{epoch}-{batch}.bin'), saveWeightsOnly: true, saveFreq: 3 });
    await m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, callbacks: [freq] });
    expect(save).not.toHaveBeenCalled();
    expect(saveWeights.mock.calls.map((c) => path.basename(c[0]))).toEqual(['w-1-3.bin', 'w-2-2.bin']);
  });

  it('ModelCheckpoint with the real model.save / saveWeights writes a directory per checkpoint', async () => {
    const m = tinyModel();
    const { x, y } = data(8, 13);
    await m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, callbacks: [callbacks.modelCheckpoint({ filepath: path.join(dir, 'model-{epoch}') })] });
    expect((await fs.readdir(dir)).sort()).toEqual(['model-1', 'model-2']);
    expect(await fs.readdir(path.join(dir, 'model-2'))).toContain('model.json');
    await m.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0, callbacks: [callbacks.modelCheckpoint({ filepath: path.join(dir, 'weights'), saveWeightsOnly: true })] });
    const saved = m.getWeights().map((w) => Array.from(w.dataSync()));
    const m2 = tinyModel();
    await (m2 as unknown as { loadWeights(p: string): Promise<unknown> }).loadWeights(path.join(dir, 'weights'));
    expect(m2.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(saved);
  });

  it('ModelCheckpoint: a failing save rejects fit; a model without save() says so', async () => {
    const m = tinyModel();
    const { x, y } = data(8, 12);
    Object.assign(m, { save: async () => Promise.reject(new Error('disk full')) });
    await expect(m.fit(x, y, { epochs: 1, verbose: 0, callbacks: [new ModelCheckpoint({ filepath: path.join(dir, 'c') })] })).rejects.toThrow(/disk full/);
    const m2 = tinyModel();
    Object.assign(m2, { saveWeights: undefined });
    await expect(m2.fit(x, y, { epochs: 1, verbose: 0, callbacks: [new ModelCheckpoint({ filepath: path.join(dir, 'w'), saveWeightsOnly: true })] })).rejects.toThrow(/saveWeights/);
  });
});
