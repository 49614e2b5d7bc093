/**
 * The training progress the CLI shows on stderr: on a terminal, one
 * cli-progress bar over the epochs with the latest losses and an ETA; in a
 * log (no terminal), a line per epoch, at most one a second (and always
 * the last).
 */
import cliProgress from 'cli-progress';
import { Callback, type Logs } from '../../training/callbacks/callback.js';

function fmt(logs: Logs | undefined): string {
  return Object.entries(logs ?? {})
    .filter(([k]) => k !== 'batch' && k !== 'size')
    .map(([k, v]) => `${k} ${Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2)}`)
    .join(' | ');
}

export class EpochProgress extends Callback {
  private bar: cliProgress.SingleBar | null = null;
  private lastLine = 0;
  private readonly stream: NodeJS.WriteStream;

  constructor(
    private readonly label: string,
    private readonly quiet = false,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    super();
    this.stream = stream;
  }

  private get total(): number {
    return this.params?.epochs ?? 0;
  }

  override onTrainBegin(): void {
    if (this.quiet) return;
    const start = this.params?.initialEpoch ?? 0;
    if (this.stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${this.label} [{bar}] {value}/{total} epochs | ETA {eta_formatted} | {logs}`,
          barsize: 24,
          hideCursor: true,
          stream: this.stream,
          etaBuffer: 10,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.total, start, { logs: start > 0 ? `resumed at epoch ${start + 1}` : '' });
    } else if (start > 0) {
      this.stream.write(`${this.label}: resuming at epoch ${start + 1}/${this.total}\n`);
    }
  }

  override onEpochEnd(epoch: number, logs?: Logs): void {
    if (this.quiet) return;
    if (this.bar) {
      this.bar.update(epoch + 1, { logs: fmt(logs) });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine >= 1000 || epoch + 1 === this.total) {
      this.lastLine = now;
      this.stream.write(`${this.label}: epoch ${epoch + 1}/${this.total} | ${fmt(logs)}\n`);
    }
  }

  override onTrainEnd(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
