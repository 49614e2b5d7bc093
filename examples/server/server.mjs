/**
 * A prediction service on node:http: loads a model once, micro-batches
 * concurrent requests into shared `model.predict` calls (batcher.mjs), and
 * keeps the event loop free (the native kernels run on N-API worker threads).
 *
 *   npm run build:ts
 *   node examples/server/server.mjs --model DIR [--port 8080] [--max-batch 64] [--max-wait-ms 5] [--max-queue 4096]
 *   curl -s localhost:8080/predict -d '{"x": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]}'
 *
 * DIR is a directory written by `model.save(DIR)` (or its model.json), or by
 * `gatedrnn train/demo --out OUT` (give OUT/model). Without --model an
 * untrained, seeded demo model is made at startup: GRU(32) → Dense(2) over
 * sequences of any length of 3 features.
 *
 * Endpoints
 *   POST /predict   {"x": sequence} → {"y": output}
 *                   {"instances": [sequence, ...]} → {"predictions": [output, ...]}
 *                   a sequence is [[features...], ...] (timesteps × features), or a flat
 *                   list of numbers when the model reads one feature per step
 *   GET  /health    {"status": "ok", model, backend, inputShape, outputShape}
 *   GET  /stats     requests, rows, predict calls (batches), rows per batch, rejections,
 *                   queue, event-loop lag
 * Errors: 400 bad input (JSON `{"error": "..."}` naming the bad element), 404, 405,
 * 413 body too large, 503 queue full (with Retry-After), 500 model failure.
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { backendInfo, layers, loadModel, sequential, setSeed, tensor } from 'gatedrnn';
import { MicroBatcher, QueueFullError } from './batcher.mjs';

/** An error whose message goes back to the client with this HTTP status. */
class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The untrained model served when no --model is given. */
export function demoModel() {
  setSeed(1);
  return sequential({ layers: [layers.gru({ units: 32, inputShape: [null, 3] }), layers.dense({ units: 2 })] });
}

/**
 * Checks one sample against the model's input shape (without the batch
 * dimension; null = any length) and flattens it. Returns {values, shape}.
 */
export function parseSample(sample, rowShape, where, maxLength) {
  // A flat list of numbers for a model reading one feature per step: [1, 2, 3] → [[1], [2], [3]].
  if (rowShape.length === 2 && rowShape[1] === 1 && Array.isArray(sample) && sample.every((v) => typeof v === 'number')) {
    sample = sample.map((v) => [v]);
  }
  const shape = [];
  const values = [];
  const walk = (v, depth, path) => {
    if (depth === rowShape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new HttpError(400, `${path} must be a finite number, got ${JSON.stringify(v) ?? String(v)}`);
      values.push(v);
      return;
    }
    if (!Array.isArray(v)) throw new HttpError(400, `${path} must be a list (the input has shape ${fmt(rowShape)} per sample), got ${JSON.stringify(v)?.slice(0, 40) ?? String(v)}`);
    const want = rowShape[depth];
    if (shape[depth] === undefined) {
      if (want !== null && v.length !== want) throw new HttpError(400, `${path} must have ${want} elements (the input has shape ${fmt(rowShape)} per sample), got ${v.length}`);
      if (v.length === 0) throw new HttpError(400, `${path} is empty`);
      if (v.length > maxLength) throw new HttpError(400, `${path} has ${v.length} elements, more than the ${maxLength} this server takes`);
      shape[depth] = v.length;
    } else if (v.length !== shape[depth]) {
      throw new HttpError(400, `${path} has ${v.length} elements but the first one at this depth has ${shape[depth]} (ragged input)`);
    }
    v.forEach((e, i) => walk(e, depth + 1, `${path}[${i}]`));
  };
  walk(sample, 0, where);
  return { values, shape };
}

const fmt = (shape) => `[${shape.map((d) => (d === null ? 'any' : d)).join(', ')}]`;

/** Nested arrays of one row of an output tensor. */
function rowOf(data, shape, r) {
  const rowShape = shape.slice(1);
  const size = rowShape.reduce((a, b) => a * b, 1);
  const flat = Array.from(data.subarray(r * size, (r + 1) * size));
  const nest = (offset, depth) => {
    if (depth === rowShape.length - 1) return flat.slice(offset, offset + rowShape[depth]);
    const step = rowShape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: rowShape[depth] }, (_, i) => nest(offset + i * step, depth + 1));
  };
  return rowShape.length === 0 ? flat[0] : nest(0, 0);
}

/** Reads the body, at most `limit` bytes. */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `request body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Makes the service around a loaded model (single input, single output).
 * Returns {server, batcher, stats(), close()}; call server.listen(port).
 */
export function createService(model, options = {}) {
  const { maxBatchRows = 64, maxWaitMs = 5, maxQueueRows = 4096, maxRequestRows = 256, maxBodyBytes = 4 << 20, maxLength = 10_000 } = options;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Error('this example serves models with one input and one output');
  const inputShape = model.inputs[0].shape;
  const rowShape = inputShape.slice(1);
  const started = Date.now();
  let predictCalls = 0;
  let predictRequests = 0;
  const http4xx = { 400: 0, 404: 0, 405: 0, 413: 0 };
  let http503 = 0, http500 = 0;
  // Event-loop lag: how late a 20 ms timer fires. A predict that held the main thread would show here.
  const lag = { max: 0, sum: 0, n: 0, expected: performance.now() + 20 };
  const lagTimer = setInterval(() => {
    const now = performance.now(), late = Math.max(0, now - lag.expected);
    lag.max = Math.max(lag.max, late);
    lag.sum += late;
    lag.n++;
    lag.expected = now + 20;
  }, 20);
  lagTimer.unref();

  // One predict per batch: stack the rows (same shape: same key), split the output by row.
  const batcher = new MicroBatcher({
    maxBatchRows,
    maxWaitMs,
    maxQueueRows,
    async runBatch(rows, key) {
      const shape = [rows.length, ...JSON.parse(key)];
      const size = rows[0].length;
      const x = new Float32Array(rows.length * size);
      rows.forEach((r, i) => x.set(r, i * size));
      predictCalls++;
      const y = await model.predict(tensor(x, shape), { batchSize: rows.length });
      const data = await y.data();
      return rows.map((_, i) => rowOf(data, y.shape, i));
    },
  });

  const stats = () => ({
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
    requests: predictRequests, // POST /predict requests that passed validation
    submitted: batcher.stats.requests, // their row groups queued (one per sequence length in a request)
    rows: batcher.stats.rows,
    predictCalls,
    batches: batcher.stats.batches,
    meanBatchRows: batcher.stats.batches ? Number((batcher.stats.batchedRows / batcher.stats.batches).toFixed(2)) : 0,
    largestBatch: batcher.stats.largestBatch,
    waitingRows: batcher.waitingRows,
    batchRunning: batcher.running,
    rejected: { queueFull503: http503, ...Object.fromEntries(Object.entries(http4xx).map(([k, v]) => [`http${k}`, v])) },
    failedBatches: batcher.stats.failedBatches,
    http500,
    eventLoopLagMs: { mean: Number((lag.n ? lag.sum / lag.n : 0).toFixed(2)), max: Number(lag.max.toFixed(2)) },
    config: { maxBatchRows, maxWaitMs, maxQueueRows, maxRequestRows },
  });

  const send = (res, status, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  async function predict(req) {
    let body;
    try {
      body = JSON.parse(await readBody(req, maxBodyBytes));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, `the body is not valid JSON: ${e.message}`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object: {"x": sequence} or {"instances": [sequence, ...]}');
    const single = 'x' in body;
    if (single === ('instances' in body)) throw new HttpError(400, 'give exactly one of "x" (one sequence) or "instances" (a list of sequences)');
    const samples = single ? [body.x] : body.instances;
    if (!Array.isArray(samples) || samples.length === 0) throw new HttpError(400, '"instances" must be a non-empty list of sequences');
    if (samples.length > maxRequestRows) throw new HttpError(400, `"instances" has ${samples.length} sequences, more than the ${maxRequestRows} one request may hold`);
    const parsed = samples.map((s, i) => parseSample(s, rowShape, single ? 'x' : `instances[${i}]`, maxLength));
    predictRequests++;
    // Samples of one request may differ in length: each length goes to the batcher as its own group.
    const groups = new Map();
    parsed.forEach((p, i) => {
      const key = JSON.stringify(p.shape);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(i);
    });
    const outputs = new Array(parsed.length);
    await Promise.all([...groups].map(async ([key, idx]) => {
      const ys = await batcher.submit(idx.map((i) => Float32Array.from(parsed[i].values)), key);
      idx.forEach((i, k) => (outputs[i] = ys[k]));
    }));
    return single ? { y: outputs[0] } : { predictions: outputs };
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (url.pathname === '/predict') {
        if (req.method !== 'POST') throw new HttpError(405, 'use POST /predict');
        send(res, 200, await predict(req));
      } else if (url.pathname === '/health') {
        send(res, 200, { status: 'ok', model: model.name, backend: backendInfo().backend, inputShape, outputShape: model.outputs[0].shape });
      } else if (url.pathname === '/stats') {
        send(res, 200, stats());
      } else {
        throw new HttpError(404, `no route ${req.method} ${url.pathname}; try POST /predict, GET /health, GET /stats`);
      }
    } catch (e) {
      if (e instanceof QueueFullError) {
        http503++;
        send(res, 503, { error: e.message }, { 'retry-after': '1' });
      } else if (e instanceof HttpError) {
        if (e.status in http4xx) http4xx[e.status]++;
        send(res, e.status, { error: e.message }, e.status === 413 ? { connection: 'close' } : {});
      } else {
        http500++;
        send(res, 500, { error: `prediction failed: ${e?.message ?? e}` });
      }
    }
  });

  return {
    server,
    batcher,
    stats,
    async close() {
      const closed = new Promise((r) => server.close(r));
      server.closeIdleConnections?.(); // keep-alive connections would hold close() open (Node 18)
      await batcher.close();
      await closed;
      clearInterval(lagTimer);
    },
  };
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
  const dir = opt('--model', null);
  const model = dir ? await loadModel(dir) : demoModel();
  if (!dir) console.log('no --model given: serving an untrained demo model, GRU(32) -> Dense(2) over sequences of 3 features');
  const service = createService(model, {
    maxBatchRows: Number(opt('--max-batch', 64)),
    maxWaitMs: Number(opt('--max-wait-ms', 5)),
    maxQueueRows: Number(opt('--max-queue', 4096)),
  });
  service.server.listen(Number(opt('--port', 8080)), () => {
    const { port } = service.server.address();
    console.log(`serving ${model.name} (input ${fmt(model.inputs[0].shape.slice(1))} per sample, backend ${backendInfo().backend}) on http://localhost:${port}`);
  });
  const stop = async () => {
    console.log('shutting down: finishing the requests already queued');
    await service.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
