/**
 * Native memory is given back: models and tensors that are dropped are
 * collected with their native weights, caches and outputs, so a process that
 * makes and drops many models, or runs many short-lived worker_threads that
 * load the addon, keeps a flat RSS. Each check runs in its own Node process
 * with --expose-gc and reads RSS after forcing collection (gc, then a turn of
 * the event loop so that Node-API finalizers run).
 */
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers/child.js';

const settle = `
const tick = () => new Promise((r) => setImmediate(r));
async function rssAfterGc() {
  for (let k = 0; k < 3; k++) { global.gc(); await tick(); }
  return process.memoryUsage().rss / 1048576;
}`;

// 1,000 models: odd ones built (GRU(128) + Dense), even ones loaded from a
// saved directory; each predicts once, every tenth also trains one batch
// (backward caches); then dropped. RSS is read after every 100. A control
// keeps 200 more models alive, to show that the measure sees them.
const manyModels = `
const g = require('./dist/index.cjs');
const fs = require('fs'), os = require('os'), path = require('path');
${settle}
const T = 20, F = 16, U = 128, B = 8;
const x = g.tensor(Float32Array.from({ length: B * T * F }, (_, i) => Math.sin(i)), [B, T, F]);
const y = g.tensor(new Float32Array(B).fill(0.5), [B, 1]);
const make = () => g.sequential({ layers: [g.layers.gru({ units: U, inputShape: [T, F] }), g.layers.dense({ units: 1 })] });
async function use(m, i) {
  const out = await m.predict(x);
  out.dispose();
  if (i % 10 === 0) {
    m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    await m.trainOnBatch(x, y);
  }
}
(async () => {
  g.setBackend('native');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-memory-'));
  await make().save(dir);
  const rss = [];
  for (let i = 1; i <= 1000; i++) {
    const m = i % 2 ? make() : await g.loadModel(dir);
    await use(m, i);
    m.dispose();
    if (i % 100 === 0) rss.push(await rssAfterGc());
  }
  const kept = [];
  for (let i = 1; i <= 200; i++) {
    const m = make();
    await use(m, i);
    kept.push(m);
  }
  const withKept = await rssAfterGc();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify({ backend: g.getBackend(), rss: rss.map(Math.round), withKept: Math.round(withKept), kept: kept.length }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

// 16 short-lived workers, one after the other, each loading the library (the
// main thread never does, so Node unloads the addon between them unless it is
// linked -z nodelete), making 20 GRU(128) models and predicting with each.
const manyWorkers = `
const { Worker } = require('node:worker_threads');
const path = require('path');
${settle}
const job = \`
const { parentPort } = require('node:worker_threads');
const g = require(\${JSON.stringify(path.resolve('dist/index.cjs'))});
(async () => {
  g.setBackend('native');
  const x = g.tensor(new Float32Array(8 * 20 * 16).fill(0.1), [8, 20, 16]);
  for (let i = 0; i < 20; i++) {
    const m = g.sequential({ layers: [g.layers.gru({ units: 128, inputShape: [20, 16] }), g.layers.dense({ units: 1 })] });
    (await m.predict(x)).dispose();
  }
  parentPort.postMessage(g.getBackend());
})().catch((e) => parentPort.postMessage(String(e && e.stack || e)));
\`;
(async () => {
  const rss = [];
  for (let w = 1; w <= 16; w++) {
    const backend = await new Promise((resolve, reject) => {
      const worker = new Worker(job, { eval: true });
      worker.once('message', (m) => worker.terminate().then(() => resolve(m)));
      worker.once('error', reject);
    });
    if (backend !== 'native') throw new Error('worker: ' + backend);
    if (w % 4 === 0) rss.push(await rssAfterGc());
  }
  console.log(JSON.stringify({ rss: rss.map(Math.round) }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const max = (xs: number[]) => Math.max(...xs);

describe('native memory', () => {
  it('1,000 models made, used and dropped: RSS stays flat', () => {
    const r = runNode(manyModels, { GATEDRNN_BACKEND: undefined, GATEDRNN_ADDON: undefined }, ['--expose-gc']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { backend: string; rss: number[]; withKept: number };
    console.log(`RSS (MB) after every 100 of 1,000 dropped models: ${out.rss.join(' ')}; with 200 more kept alive: ${out.withKept}`);
    expect(out.backend).toBe('native');
    // Models 500-1000 against models 100-500. A model holds ~0.5 MB natively
    // (weights, outputs, optimizer state), so 24 MB over 500 models would be a
    // leak of a tenth of each; the 200 kept models show what a leak looks like.
    const early = max(out.rss.slice(0, 5));
    const late = max(out.rss.slice(5));
    expect(late - early).toBeLessThan(24);
    expect(out.withKept - late).toBeGreaterThan(60);
  }, 300_000);

  it('16 worker_threads that each load the addon, make 20 models and exit: RSS stays flat', () => {
    const r = runNode(manyWorkers, { GATEDRNN_BACKEND: undefined, GATEDRNN_ADDON: undefined }, ['--expose-gc']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { rss: number[] };
    console.log(`RSS (MB) after every 4 of 16 workers: ${out.rss.join(' ')}`);
    // Unloaded between workers, the addon lost its buffer cache each time:
    // ~4 MB per worker, ~32 MB between the 8th and the 16th.
    expect(max(out.rss.slice(2)) - max(out.rss.slice(0, 2))).toBeLessThan(12);
  }, 300_000);
});
