/**
 * The addon is context-aware: several worker_threads load it at once and
 * compute the same results as the main thread, while the main thread keeps
 * computing too.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child.js';

const job = `
const { parentPort, workerData } = require('node:worker_threads');
const g = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.cjs'))});
(async () => {
  g.setBackend('native');
  const layer = g.layers.gru({ units: 16, seed: 7, returnSequences: true });
  const x = g.tensor(Float32Array.from({ length: 4 * 30 * 8 }, (_, i) => Math.sin(i * 0.37 + workerData.offset)), [4, 30, 8]);
  const y = await layer.apply(x);
  parentPort.postMessage({ backend: g.getBackend(), sum: y.dataSync().reduce((a, v) => a + v, 0) });
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

function runWorker(offset: number): Promise<{ backend?: string; sum?: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(job, { eval: true, workerData: { offset } });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

describe('worker_threads', () => {
  it('loads the native addon in several workers at once, with the same results', async () => {
    const offsets = [0, 1, 0, 1];
    const results = await Promise.all(offsets.map(runWorker));
    for (const r of results) {
      expect(r.error).toBeUndefined();
      expect(r.backend).toBe('native');
    }
    expect(results[0].sum).toBe(results[2].sum);
    expect(results[1].sum).toBe(results[3].sum);
    expect(results[0].sum).not.toBe(results[1].sum);
  });
});
