/**
 * examples/server: the micro-batching HTTP service. A model saved with
 * `model.save` is loaded once and served on an ephemeral port; 200
 * concurrent requests with different inputs (and sequence lengths) must each
 * get exactly what `model.predict` gives for that input alone, in fewer
 * predict calls than requests, while a timer on the event loop keeps
 * ticking. Also: 400 with a JSON error for bad input, 503 when the queue is
 * full, /health, /stats, and the command line. Needs `npm run build:ts`
 * (the example imports 'gatedrnn', i.e. dist/).
 */
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child';

const SERVER = path.join(ROOT, 'examples', 'server', 'server.mjs');
const DIST = path.join(ROOT, 'dist', 'index.mjs');
const F = 3;
const LENGTHS = [12, 30, 50];

/* eslint-disable @typescript-eslint/no-explicit-any */
let g: any; // the built package, as the example sees it
let ex: any; // examples/server/server.mjs
let tmp: string;
let modelDir: string;
let model: any;

let seed = 99;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const sequence = (T: number) => Array.from({ length: T }, () => Array.from({ length: F }, () => Number(random().toFixed(4))));

async function listen(service: any): Promise<string> {
  await new Promise<void>((r) => service.server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${service.server.address().port}`;
}

async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${url}/predict`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

/**
 * Fires all the requests at once from a worker thread (its own event loop), so that this
 * thread's event loop is the server's alone and the timer below measures the server.
 */
function fireFromWorker(url: string, bodies: unknown[]): Promise<Array<{ status: number; json: any }>> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    Promise.all(workerData.bodies.map(async (b) => {
      const res = await fetch(workerData.url + '/predict', { method: 'POST', body: JSON.stringify(b) });
      return { status: res.status, json: await res.json() };
    })).then((r) => parentPort.postMessage(r), (e) => parentPort.postMessage({ error: String(e) }));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { url, bodies } });
    w.once('message', (m) => {
      void w.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    w.once('error', reject);
  });
}

function expectClose(actual: number[], expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(expected[i]));
  }
}

beforeAll(async () => {
  if (!fs.existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build:ts` first');
  // The package as the example imports it ('gatedrnn' → dist/index.mjs); a path, so that tsc does not resolve the package itself.
  g = await import(DIST);
  ex = await import(SERVER);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-server-'));
  modelDir = path.join(tmp, 'model');
  g.setSeed(5);
  const m = g.sequential({ layers: [g.layers.gru({ units: 128, inputShape: [null, F] }), g.layers.dense({ units: 4, activation: 'tanh' })] });
  await m.save(modelDir);
  model = await g.loadModel(modelDir); // served as the service would: loaded once from its directory
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('examples/server', () => {
  it('answers 200 concurrent requests each with its own model.predict result, in batches, without blocking the event loop', { timeout: 60_000 }, async () => {
    // 200 requests: most with one sequence ({x}), some with several ({instances}) of different lengths.
    const requests: Array<{ x?: number[][]; instances?: number[][][] }> = Array.from({ length: 200 }, (_, i) =>
      i % 5 === 4
        ? { instances: Array.from({ length: 1 + (i % 3) }, (_, k) => sequence(LENGTHS[(i + k) % LENGTHS.length])) }
        : { x: sequence(LENGTHS[i % LENGTHS.length]) },
    );
    // The reference: model.predict on each input alone, before the server runs (predict calls do not overlap).
    const expected: Float32Array[][] = [];
    for (const r of requests) {
      const rows = r.x ? [r.x] : (r.instances as number[][][]);
      const outs: Float32Array[] = [];
      for (const s of rows) outs.push(await (await model.predict(g.tensor(s, [1, s.length, F]))).data());
      expected.push(outs);
    }
    const totalRows = expected.reduce((a, e) => a + e.length, 0);

    const service = ex.createService(model, { maxBatchRows: 32, maxWaitMs: 5 });
    const url = await listen(service);
    try {
      // A timer on this thread (the server's event loop). A tick that sees a batch running proves
      // that the loop turned while model.predict was computing.
      let ticks = 0;
      let ticksDuringPredict = 0;
      let last = performance.now();
      let maxGap = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
        ticks++;
        if (service.batcher.running) ticksDuringPredict++;
      }, 1);
      const t0 = performance.now();
      const answers = await fireFromWorker(url, requests);
      const elapsed = performance.now() - t0;
      clearInterval(timer);

      answers.forEach((a, i) => {
        expect(a.status, JSON.stringify(a.json)).toBe(200);
        if (requests[i].x) expectClose(a.json.y, expected[i][0], `request ${i}`);
        else {
          expect(a.json.predictions).toHaveLength(expected[i].length);
          a.json.predictions.forEach((p: number[], k: number) => expectClose(p, expected[i][k], `request ${i} row ${k}`));
        }
      });

      const stats = await getJson(`${url}/stats`);
      expect(stats.requests).toBe(200);
      expect(stats.submitted).toBeGreaterThanOrEqual(200); // a request with several lengths is one submit per length
      expect(stats.rows).toBe(totalRows);
      expect(stats.predictCalls).toBe(stats.batches);
      expect(stats.predictCalls).toBeLessThan(requests.length / 2); // batched: 200 requests in well under 100 predicts
      expect(stats.largestBatch).toBeGreaterThan(1);
      expect(stats.largestBatch).toBeLessThanOrEqual(32);
      expect(stats.rejected.queueFull503).toBe(0);
      expect(stats.failedBatches).toBe(0);
      // The event loop kept turning, also while predict ran (a machine shared with other jobs
      // may still deschedule the process now and then: the bounds are loose).
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticksDuringPredict).toBeGreaterThanOrEqual(3);
      expect(maxGap).toBeLessThan(Math.max(500, elapsed / 2));
    } finally {
      await service.close();
    }
  });

  it('rejects bad input with 400 and a JSON error naming the problem', async () => {
    const service = ex.createService(model);
    const url = await listen(service);
    try {
      const cases: Array<[unknown, RegExp]> = [
        ['{"x": [[1, 2, 3]', /not valid JSON/],
        [[1, 2, 3], /must be a JSON object/],
        [{}, /exactly one of "x"/],
        [{ x: [[1, 2, 3]], instances: [] }, /exactly one of "x"/],
        [{ instances: [] }, /non-empty list/],
        [{ x: [[1, 2]] }, /x\[0\] must have 3 elements/],
        [{ x: [[1, 2, 3], [4, 5]] }, /x\[1\] must have 3 elements|x\[1\] has 2 elements/],
        [{ x: [[1, 'a', 3]] }, /x\[0\]\[1\] must be a finite number/],
        [{ x: [[1, null, 3]] }, /x\[0\]\[1\] must be a finite number/],
        [{ x: [1, 2, 3] }, /x\[0\] must be a list/],
        [{ x: [] }, /x is empty/],
        [{ instances: [[[1, 2, 3]], [[1, 2, 3, 4]]] }, /instances\[1\]\[0\] must have 3 elements/],
        [{ instances: Array.from({ length: 300 }, () => [[1, 2, 3]]) }, /more than the 256/],
      ];
      for (const [body, message] of cases) {
        const r = await post(url, body);
        expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(400);
        expect(r.json.error).toMatch(message);
      }
      expect((await fetch(`${url}/predict`)).status).toBe(405);
      expect((await fetch(`${url}/nowhere`)).status).toBe(404);
      const health = await getJson(`${url}/health`);
      expect(health).toMatchObject({ status: 'ok', inputShape: [null, null, F], outputShape: [null, 4] });
      const stats = await getJson(`${url}/stats`);
      expect(stats.rejected.http400).toBe(cases.length);
      expect(stats.predictCalls).toBe(0); // nothing bad reached the model
      // A good request still works after the bad ones.
      const ok = await post(url, { x: [[0.1, 0.2, 0.3]] });
      expect(ok.status).toBe(200);
      expect(ok.json.y).toHaveLength(4);
    } finally {
      await service.close();
    }
  });

  it('answers 503 with Retry-After when the queue is full, and serves what it queued', async () => {
    // A long wait keeps the first rows queued while the others arrive.
    const service = ex.createService(model, { maxQueueRows: 4, maxWaitMs: 1000, maxBatchRows: 64 });
    const url = await listen(service);
    try {
      const answers = await Promise.all(Array.from({ length: 10 }, () => post(url, { x: sequence(6) })));
      const ok = answers.filter((a) => a.status === 200);
      const busy = answers.filter((a) => a.status === 503);
      expect(ok).toHaveLength(4);
      expect(busy).toHaveLength(6);
      for (const b of busy) {
        expect(b.json.error).toMatch(/busy/);
        expect(b.headers.get('retry-after')).toBe('1');
      }
      const stats = await getJson(`${url}/stats`);
      expect(stats.predictCalls).toBe(1); // the four queued rows went in one batch
      expect(stats.rejected.queueFull503).toBe(6);
    } finally {
      await service.close();
    }
  });

  it('runs from the command line with --model DIR --port 0', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, [SERVER, '--model', modelDir, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /http:\/\/localhost:(\d+)/.exec(out);
          if (m) resolve(`http://127.0.0.1:${m[1]}`);
        });
        child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
        setTimeout(() => reject(new Error(`no port printed: ${out}`)), 20_000);
      });
      expect((await getJson(`${url}/health`)).status).toBe('ok');
      const s = sequence(10);
      const r = await post(url, { x: s });
      expect(r.status).toBe(200);
      expectClose(r.json.y, await (await model.predict(g.tensor(s, [1, 10, F]))).data(), 'cli answer');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
