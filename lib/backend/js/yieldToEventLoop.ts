/**
 * The TS backend computes on the main thread; between timesteps it gives the
 * event loop a turn whenever it has held it for longer than this, so timers
 * and I/O keep running during a long forward or backward.
 */
const SLICE_MS = 15;

export class EventLoopYielder {
  private last = performance.now();

  async maybeYield(): Promise<void> {
    if (performance.now() - this.last < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }
}
