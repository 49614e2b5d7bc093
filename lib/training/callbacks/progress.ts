/**
 * What `fit` prints with `verbose: 1` or `2`, as Keras does: an `Epoch 3/10`
 * header, then (1) a bar per epoch with steps, ETA, loss and metrics drawn
 * with cli-progress, or (2) one line per epoch. Written to stderr so a
 * program's stdout stays its own.
 */
import cliProgress from 'cli-progress';
import { Callback, type Logs } from './callback.js';

/** Formats logs as Keras: `loss: 0.1234 - acc: 0.9000`. */
export function formatLogs(logs: Logs, skip: readonly string[] = ['batch', 'size']): string {
  return Object.entries(logs)
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => `${k}: ${Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3)}`)
    .join(' - ');
}

/** The progress callback for verbose 1 (bar) or 2 (a line per epoch). */
export class ProgressLogger extends Callback {
  private bar: cliProgress.SingleBar | null = null;
  private started = 0;

  constructor(
    private readonly verbose: 1 | 2,
    private readonly stream: NodeJS.WritableStream = process.stderr,
  ) {
    super();
  }

  private get steps(): number {
    return this.params?.steps ?? 0;
  }

  override onEpochBegin(epoch: number): void {
    this.started = Date.now();
    this.stream.write(`Epoch ${epoch + 1}/${this.params?.epochs ?? '?'}\n`);
    // Without a terminal (CI logs, files) a bar cannot redraw: print the epoch's line at its end instead.
    if (this.verbose !== 1 || !(this.stream as NodeJS.WriteStream).isTTY) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: '{value}/{total} [{bar}] - ETA: {eta_formatted} - {logs}',
        barCompleteChar: '=',
        barIncompleteChar: '.',
        barsize: 30,
        hideCursor: false,
        stream: this.stream as NodeJS.WriteStream,
        etaBuffer: 20,
      },
      cliProgress.Presets.legacy,
    );
    this.bar.start(this.steps, 0, { logs: '' });
  }

  override onBatchEnd(batch: number, logs?: Logs): void {
    this.bar?.update(batch + 1, { logs: formatLogs(logs ?? {}) });
  }

  override onEpochEnd(_epoch: number, logs?: Logs): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    if (this.bar) {
      this.bar.update(this.steps, { logs: formatLogs(logs ?? {}) });
      this.bar.stop();
      this.bar = null;
      this.stream.write(`  ${seconds}s\n`);
    } else {
      this.stream.write(`${this.steps}/${this.steps} - ${seconds}s - ${formatLogs(logs ?? {})}\n`);
    }
  }
}
