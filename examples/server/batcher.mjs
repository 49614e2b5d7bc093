/**
 * Micro-batching for a model server: requests that arrive close together
 * share one `model.predict` call.
 *
 *   const batcher = new MicroBatcher({ runBatch, maxBatchRows: 64, maxWaitMs: 5, maxQueueRows: 2048 });
 *   const outputs = await batcher.submit(rows, key);   // one output per row, in order
 *
 * - A request is a list of rows (samples) with a `key`: rows with different
 *   keys (e.g. different sequence lengths) never share a batch.
 * - A batch starts when `maxBatchRows` rows are waiting, or when the oldest
 *   waiting request has waited `maxWaitMs`, and only when no batch is
 *   running: one `runBatch` at a time (a gatedrnn model runs one predict at
 *   a time; its kernels run off the event loop, so the server keeps
 *   accepting requests meanwhile, and they form the next batch).
 * - A batch takes whole requests, oldest first (those with the key of the
 *   oldest), up to `maxBatchRows` rows; a request larger than that is a
 *   batch of its own.
 * - The queue is bounded: `submit` rejects at once with a `QueueFullError`
 *   when the waiting rows would exceed `maxQueueRows` (answer 503 and let
 *   the client retry) rather than letting latency and memory grow without
 *   limit.
 * - `runBatch(rows, key)` resolves to one output per row; if it throws,
 *   every request of that batch is rejected with the error.
 */

export class QueueFullError extends Error {
  constructor(queuedRows, maxQueueRows) {
    super(`server busy: ${queuedRows} rows are already waiting (limit ${maxQueueRows}); retry later`);
    this.name = 'QueueFullError';
  }
}

export class MicroBatcher {
  /**
   * @param {{
   *   runBatch: (rows: unknown[], key: string) => Promise<unknown[]>,
   *   maxBatchRows?: number, maxWaitMs?: number, maxQueueRows?: number,
   * }} options
   */
  constructor({ runBatch, maxBatchRows = 64, maxWaitMs = 5, maxQueueRows = 4096 }) {
    if (typeof runBatch !== 'function') throw new TypeError('MicroBatcher: runBatch must be a function');
    for (const [name, v, min] of [['maxBatchRows', maxBatchRows, 1], ['maxWaitMs', maxWaitMs, 0], ['maxQueueRows', maxQueueRows, 1]]) {
      if (!Number.isFinite(v) || v < min) throw new RangeError(`MicroBatcher: ${name} must be a number >= ${min}, got ${v}`);
    }
    this.runBatch = runBatch;
    this.maxBatchRows = maxBatchRows;
    this.maxWaitMs = maxWaitMs;
    this.maxQueueRows = maxQueueRows;
    /** @type {{rows: unknown[], key: string, at: number, resolve: Function, reject: Function}[]} */
    this.queue = [];
    this.queuedRows = 0;
    this.running = false;
    this.timer = null;
    this.closed = false;
    this.stats = { requests: 0, rows: 0, batches: 0, batchedRows: 0, largestBatch: 0, rejectedFull: 0, failedBatches: 0 };
  }

  /** Queues the rows; resolves to their outputs (same order) once their batch has run. */
  submit(rows, key = '') {
    if (this.closed) return Promise.reject(new Error('MicroBatcher: closed'));
    if (!Array.isArray(rows) || rows.length === 0) return Promise.reject(new TypeError('MicroBatcher: submit needs a non-empty list of rows'));
    if (this.queuedRows + rows.length > this.maxQueueRows) {
      this.stats.rejectedFull++;
      return Promise.reject(new QueueFullError(this.queuedRows, this.maxQueueRows));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, key, at: performance.now(), resolve, reject });
      this.queuedRows += rows.length;
      this.stats.requests++;
      this.stats.rows += rows.length;
      this.schedule();
    });
  }

  /** Rows waiting (not yet in a running batch). */
  get waitingRows() {
    return this.queuedRows;
  }

  /** Stops accepting requests; resolves when the queue is empty and no batch runs. */
  async close() {
    this.closed = true;
    while (this.running || this.queue.length > 0) {
      this.schedule(true);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Starts a batch now if one is due, else sets a timer for when the oldest request is due. */
  schedule(now = false) {
    if (this.running || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0].at;
    if (now || this.closed || this.queuedRows >= this.maxBatchRows || waited >= this.maxWaitMs) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.schedule(true);
      }, Math.max(0, this.maxWaitMs - waited));
    }
  }

  /** Takes whole requests (the key of the oldest, oldest first) up to maxBatchRows rows and runs them as one batch. */
  async flush() {
    const key = this.queue[0].key;
    const batch = [];
    let rows = 0;
    for (let i = 0; i < this.queue.length; ) {
      const r = this.queue[i];
      if (r.key !== key || (batch.length > 0 && rows + r.rows.length > this.maxBatchRows)) {
        i++;
        continue;
      }
      batch.push(r);
      rows += r.rows.length;
      this.queue.splice(i, 1);
      if (rows >= this.maxBatchRows) break;
    }
    this.queuedRows -= rows;
    this.running = true;
    this.stats.batches++;
    this.stats.batchedRows += rows;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, rows);
    try {
      const outputs = await this.runBatch(batch.flatMap((r) => r.rows), key);
      if (!Array.isArray(outputs) || outputs.length !== rows) throw new Error(`runBatch returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} outputs for ${rows} rows`);
      let offset = 0;
      for (const r of batch) {
        r.resolve(outputs.slice(offset, offset + r.rows.length));
        offset += r.rows.length;
      }
    } catch (e) {
      this.stats.failedBatches++;
      for (const r of batch) r.reject(e);
    } finally {
      this.running = false;
      // What arrived meanwhile has already waited for this batch: it is due now if the oldest is due.
      this.schedule();
    }
  }
}
