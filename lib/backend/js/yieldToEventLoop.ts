/**
 * The TS backend computes on the main thread; between timesteps it gives the
 * event loop a turn whenever it has held it for longer than this, so timers
 * and I/O keep running during a long forward or backward.
 */
const SLICE_MS = 15;

/**
 * When the event loop last had a turn. Shared by every call: a training loop
 * makes many short calls in a row, each under the slice, that together
 * would hold the loop for seconds.
 */
let lastTurn = performance.now();

export class EventLoopYielder {
  async maybeYield(): Promise<void> {
    if (performance.now() - lastTurn < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    lastTurn = performance.now();
  }
}
