/**
 * Progress of a predict job on stderr: on a terminal a cli-progress bar
 * over the bytes of the input range with rows and sequences/s; in a log a
 * line every few seconds. Never on stdout.
 */
import cliProgress from 'cli-progress';

export class JobProgress {
  private bar: cliProgress.SingleBar | null = null;
  private lastLine = 0;
  private readonly started = Date.now();
  private readonly stream = process.stderr;

  constructor(
    private readonly total: number,
    private readonly quiet: boolean,
    start: number,
  ) {
    if (quiet) return;
    if (this.stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        { format: 'predict [{bar}] {percentage}% | {rows} rows | {rate} sequences/s | ETA {eta_formatted}', barsize: 24, hideCursor: true, stream: this.stream, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(1, total), Math.min(start, total), { rows: 0, rate: 0 });
    }
    this.lastLine = Date.now();
  }

  /** Sequences per second in this run. */
  rate(rows: number): number {
    const s = (Date.now() - this.started) / 1000;
    return s > 0 ? Math.round(rows / s) : 0;
  }

  update(position: number, rows: number): void {
    if (this.quiet) return;
    if (this.bar) {
      this.bar.update(Math.min(position, this.total), { rows, rate: this.rate(rows) });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine >= 5000) {
      this.lastLine = now;
      const pct = this.total > 0 ? ` (${Math.min(100, Math.floor((100 * position) / this.total))}%)` : '';
      this.stream.write(`predict: ${rows} rows${pct}, ${this.rate(rows)} sequences/s\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
