/**
 * Checkpoints, early stopping and resuming, as one callback because they
 * share one state that must survive a kill.
 *
 * `DIR/checkpoint/` holds:
 * - `epoch-NNNN/`: the model after epoch NNNN with its optimizer state
 *   (model.save with includeOptimizer), one per epoch, the previous one
 *   removed once the next is committed;
 * - `best-NNNN/`: the weights of the best epoch so far (by the monitored
 *   value, val_loss when there is validation data);
 * - `state.json`: the commit record — epochs done, which directories are
 *   current, the early-stopping counters, the history so far. Written
 *   atomically after the directories it names, so whatever moment the
 *   process dies at, state.json names complete directories, and `--resume`
 *   continues from the last finished epoch with `initialEpoch`.
 * - `run.json` and `preprocessing.json`: the run's configuration and the
 *   fitted preprocessing, written once at the start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { atomicWriteFile } from '../../io/atomicWrite.js';
import { Callback, type Logs } from '../../training/callbacks/callback.js';
import type { LayersModel } from '../../models/layersModel.js';
import { JobError, UsageError } from '../errors.js';

export const STATE_JSON = 'state.json';

/** What state.json holds. */
export interface RunState {
  format: 'gatedrnn-checkpoint';
  version: 1;
  /** Epochs finished: training continues with initialEpoch = epochsDone. */
  epochsDone: number;
  /** The directory (under checkpoint/) of the model after the last finished epoch. */
  latest: string | null;
  /** The monitored value. */
  monitor: string;
  /** Best value so far, its epoch (0-based) and the directory of its weights. */
  best: { value: number; epoch: number; dir: string } | null;
  /** Epochs since the best. */
  wait: number;
  /** Early stopping ended the run: nothing is left to train. */
  stoppedEarly: boolean;
  /** Per-epoch logs so far. */
  epochs: number[];
  history: Record<string, number[]>;
  /** Seconds spent training, over all runs. */
  seconds: number;
}

export function emptyState(monitor: string): RunState {
  return { format: 'gatedrnn-checkpoint', version: 1, epochsDone: 0, latest: null, monitor, best: null, wait: 0, stoppedEarly: false, epochs: [], history: {}, seconds: 0 };
}

/** Reads checkpoint/state.json; null when there is none. */
export function readState(dir: string): RunState | null {
  const file = path.join(dir, STATE_JSON);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  let s: RunState;
  try {
    s = JSON.parse(text) as RunState;
  } catch (e) {
    throw new JobError(`${file} is corrupt: ${(e as Error).message}`);
  }
  if (s.format !== 'gatedrnn-checkpoint' || s.version !== 1) throw new UsageError(`${file} is not a gatedrnn checkpoint state`);
  return s;
}

const pad = (n: number): string => String(n).padStart(4, '0');

export interface CheckpointArgs {
  dir: string;
  state: RunState;
  patience: number;
  minDelta: number;
  /** Stop (as if interrupted) after this many epochs in this run; for tests and time-boxed jobs. */
  stopAfterEpochs: number | null;
}

/**
 * After every epoch: early-stopping bookkeeping, the best weights when they
 * improve, the checkpoint, then state.json; then the stale directories go.
 */
export class CheckpointCallback extends Callback {
  readonly state: RunState;
  /** True when this run stopped because of stopAfterEpochs (not early stopping or the last epoch). */
  interrupted = false;
  private epochsThisRun = 0;
  private started = 0;
  private readonly secondsBefore: number;

  constructor(private readonly args: CheckpointArgs) {
    super();
    this.state = args.state;
    this.secondsBefore = args.state.seconds;
  }

  override onTrainBegin(): void {
    this.started = Date.now();
    fs.mkdirSync(this.args.dir, { recursive: true });
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const model = this.model as LayersModel;
    const s = this.state;
    const dir = this.args.dir;
    const previous = { latest: s.latest, best: s.best?.dir ?? null };
    s.epochs.push(epoch);
    for (const [k, v] of Object.entries(logs ?? {})) (s.history[k] ??= []).push(v);
    const value = logs?.[s.monitor];
    if (typeof value === 'number' && Number.isFinite(value)) {
      if (s.best === null || value < s.best.value - this.args.minDelta) {
        const bestDir = `best-${pad(epoch + 1)}`;
        await model.save(path.join(dir, bestDir), { includeOptimizer: false });
        s.best = { value, epoch, dir: bestDir };
        s.wait = 0;
      } else {
        s.wait += 1;
        if (s.wait >= this.args.patience) {
          s.stoppedEarly = true;
          model.stopTraining = true;
        }
      }
    }
    const latest = `epoch-${pad(epoch + 1)}`;
    await model.save(path.join(dir, latest), { includeOptimizer: true });
    s.latest = latest;
    s.epochsDone = epoch + 1;
    s.seconds = this.secondsBefore + (Date.now() - this.started) / 1000;
    await atomicWriteFile(path.join(dir, STATE_JSON), `${JSON.stringify(s)}\n`);
    // Committed: the directories state.json no longer names can go.
    for (const old of [previous.latest, previous.best]) {
      if (old && old !== s.latest && old !== s.best?.dir) await fs.promises.rm(path.join(dir, old), { recursive: true, force: true });
    }
    this.epochsThisRun++;
    if (this.args.stopAfterEpochs !== null && this.epochsThisRun >= this.args.stopAfterEpochs && !model.stopTraining && epoch + 1 < (this.params?.epochs ?? Infinity)) {
      this.interrupted = true;
      model.stopTraining = true;
    }
  }
}
