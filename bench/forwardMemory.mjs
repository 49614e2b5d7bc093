#!/usr/bin/env node
// Peak memory of one GRU forward (inference) against the data it works on.
//
// Performance goal: inference keeps no activations for backward, and the
// peak RSS of a forward at shape L (batch 64, 50 timesteps, 512 inputs,
// 512 units, GRU with returnSequences) stays within 1.5x of
// bytes(inputs + outputs + weights).
//
// Each measurement runs in a fresh child process (node --expose-gc), native
// kernels at 1 thread:
//   1. load the library and run a tiny forward (B1 T1 I8 H8: OpenBLAS and the
//      thread pool start), gc and wait; rss0 = RSS outside V8's heap
//      (process.memoryUsage().rss - v8.getHeapStatistics().total_physical_size:
//      V8 keeps the pages of collected garbage for a while, which would move a
//      plain RSS baseline by tens of MiB; the data and every buffer of a
//      forward are outside V8's heap)
//   2. create the layer or model (its weights) and the input (seeded), gc and
//      wait (V8 frees dead typed arrays on a background thread); rss1
//   3. one forward, with that RSS sampled every millisecond (the forward runs
//      off the main thread): peak. The output is still referenced at the end.
//   4. the RSS after the call (the output and what the addon's block cache keeps).
// The kinds:
//   predict  model.predict(x, {batchSize: B}) of sequential([gru])
//   apply    layer.apply(x) (inference), as bench/gru.mjs times it
//   addon    the addon's own entry: createGruWeights (the native copy of the
//            weights, made on the first call of the other kinds too) + gruForward({training: false})
//   train    layer.apply(x, {training: true}), for contrast: it keeps the
//            cache backward reads (gates, h U_h + b, the input and output)
//   js       predict on the TypeScript backend (--js; ~10 s at shape L)
// Reported: what the forward adds (peak - rss1), and the footprint
// bytes(inputs + weights) + (peak - rss1) against bytes(inputs + outputs +
// weights), whose goal is <= 1.5x; peak - rss0 as measured is printed too
// (it also holds copies made while creating the layer).
// The children run with MALLOC_MMAP_THRESHOLD_=131072: glibc then gives large
// freed blocks back at once instead of keeping them resident after it raises
// its threshold, so the RSS follows what is allocated.
//
//   npm run build:ts                        dist/ must be built (the addon too)
//   node bench/forwardMemory.mjs            shape L, kinds predict, apply, addon, train (~5 s)
//   node bench/forwardMemory.mjs --js       also the TypeScript backend
//   node bench/forwardMemory.mjs --shape M  another shape of bench/gru.mjs (S, M, L, D1, D2)
//   GATEDRNN_BUFFER_CACHE_MB=0 node bench/forwardMemory.mjs    without the addon's block cache
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { randomArray } from './random.mjs';

const thisFile = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(thisFile), '..');

const SHAPES = {
  S: { B: 32, T: 50, I: 32, H: 128 },
  M: { B: 64, T: 100, I: 128, H: 256 },
  L: { B: 64, T: 50, I: 512, H: 512 },
  D1: { B: 1, T: 50, I: 512, H: 512 },
  D2: { B: 16, T: 25, I: 1024, H: 1024 },
};
const MB = 1024 * 1024;

/**
 * The RSS outside V8's heap: typed arrays' memory, the addon's buffers,
 * OpenBLAS. V8 keeps the pages of collected garbage for a while and gives
 * them back at some later collection, which would move a plain RSS baseline
 * by tens of MiB; the data and every buffer of a forward live outside it.
 */
const rss = () => process.memoryUsage.rss() - v8.getHeapStatistics().total_physical_size;

/** Collects garbage and waits: V8 frees the memory of dead typed arrays on a background thread after the collection. */
async function settle() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `fn` (async) with rss() sampled every millisecond; resolves to its result and the peak. */
async function sampled(fn) {
  let peak = rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 1);
  const result = await fn();
  clearInterval(timer);
  peak = Math.max(peak, rss());
  return { result, peak };
}

/** One measurement in this (fresh) process; prints a JSON line. */
async function child(kind, shapeName) {
  const { B, T, I, H } = SHAPES[shapeName];
  const g = await import(pathToFileURL(path.join(root, 'dist', 'index.mjs')).href);
  g.setBackend(kind === 'js' ? 'js' : 'native');
  g.setNumThreads(1);
  // The addon the package loaded (GATEDRNN_ADDON, else node-gyp-build's choice), for the `addon` kind.
  const require = createRequire(import.meta.url);
  const addon = process.env.GATEDRNN_ADDON ? require(path.resolve(process.env.GATEDRNN_ADDON)) : require('node-gyp-build')(root);
  // Start OpenBLAS and the thread pool on a tiny forward.
  await g.layers.gru({ units: 8, seed: 1 }).apply(g.tensor(randomArray(8, 3), [1, 1, 8]));
  await settle();
  const rss0 = rss();

  // Keras layout: kernel (I, 3H), recurrentKernel (H, 3H), bias (2, 3H).
  let xv = randomArray(B * T * I, 7);
  let keep; // the input, referenced until the end
  let weights = [randomArray(I * 3 * H, 11, 0.05), randomArray(H * 3 * H, 12, 0.05), randomArray(2 * 3 * H, 13, 0.05)];
  const weightTensors = () => [g.tensor(weights[0], [I, 3 * H]), g.tensor(weights[1], [H, 3 * H]), g.tensor(weights[2], [2, 3 * H])];
  let forward;
  if (kind === 'predict' || kind === 'js') {
    const model = g.sequential({ layers: [g.layers.gru({ units: H, returnSequences: true, inputShape: [T, I], weights: weightTensors() })] });
    const x = g.tensor(xv, [B, T, I]);
    [xv, weights, keep] = [null, null, x]; // the tensor and the layer hold their own copies
    forward = () => model.predict(x, { batchSize: B });
  } else if (kind === 'apply' || kind === 'train') {
    const layer = g.layers.gru({ units: H, returnSequences: true, weights: weightTensors() });
    const x = g.tensor(xv, [B, T, I]);
    [xv, weights, keep] = [null, null, x];
    forward = () => layer.apply(x, { training: kind === 'train' });
  } else if (kind === 'addon') {
    const h0 = new Float32Array(B * H);
    keep = xv;
    forward = async () => {
      const handle = addon.createGruWeights({ inputSize: I, units: H, resetAfter: true, kernel: weights[0], recurrentKernel: weights[1], inputBias: weights[2].subarray(0, 3 * H), recurrentBias: weights[2].subarray(3 * H) });
      return addon.gruForward({ weights: handle, batch: B, steps: T, activation: 0, recurrentActivation: 0, x: xv, h0, mask: null, recurrentScale: null, training: false });
    };
  } else {
    throw new Error(`unknown kind ${kind}`);
  }
  await settle();
  const rss1 = rss();

  const { result, peak } = await sampled(forward);
  await settle();
  const after = rss();
  // Keep the output (and the data) alive up to here.
  const outLength = kind === 'addon' ? result.output.length : result.size;
  const inLength = keep instanceof Float32Array ? keep.length : keep.size;
  if (outLength !== B * T * H || inLength !== B * T * I) throw new Error('unexpected sizes');

  const bytes = { inputs: B * T * I * 4, outputs: B * T * H * 4, weights: (I * 3 * H + H * 3 * H + 2 * 3 * H) * 4 };
  console.log(JSON.stringify({ kind, shape: shapeName, backend: g.getBackend(), bytes, rss0, rss1, peak, after }));
}

function main() {
  const { values: o } = parseArgs({
    options: {
      shape: { type: 'string', default: 'L' },
      kinds: { type: 'string', default: 'predict,apply,addon,train' },
      js: { type: 'boolean', default: false },
      child: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) {
    console.log('usage: node bench/forwardMemory.mjs [--shape L] [--kinds predict,apply,addon,train] [--js]');
    return;
  }
  const shape = o.shape.toUpperCase();
  if (!SHAPES[shape]) throw new Error(`unknown shape ${o.shape} (${Object.keys(SHAPES).join(', ')})`);
  if (o.child) {
    child(o.child, shape).catch((e) => {
      console.error(e);
      process.exit(1);
    });
    return;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'index.mjs'))) throw new Error('dist/index.mjs is missing: run npm run build:ts');
  const kinds = o.kinds.split(',');
  if (o.js && !kinds.includes('js')) kinds.push('js');
  const { B, T, I, H } = SHAPES[shape];
  console.log(`GRU forward memory at shape ${shape} (B${B} T${T} I${I} H${H}, returnSequences, resetAfter), one fresh process per row, 1 thread`);
  const rows = [];
  for (const kind of kinds) {
    const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', MALLOC_MMAP_THRESHOLD_: String(128 * 1024) };
    const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=1', thisFile, '--child', kind, '--shape', shape], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${kind}: child failed (${r.status}): ${r.stderr}`);
    rows.push(JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  const b = rows[0].bytes;
  const data = b.inputs + b.outputs + b.weights;
  const mb = (v) => (v / MB).toFixed(1);
  console.log(`bytes: inputs ${mb(b.inputs)} MiB + outputs ${mb(b.outputs)} MiB + weights ${mb(b.weights)} MiB = ${mb(data)} MiB; goal: footprint <= 1.5x = ${mb(1.5 * data)} MiB\n`);
  console.log('kind     backend  forward adds (peak-rss1)  / data  footprint = in + w + adds  / data  goal <= 1.5x  measured peak-rss0  after the call (after-rss1)');
  for (const r of rows) {
    const adds = r.peak - r.rss1;
    const footprint = b.inputs + b.weights + adds;
    console.log(
      `${r.kind.padEnd(7)}  ${r.backend.padEnd(7)}  ${`${mb(adds)} MiB`.padStart(24)}  ${`${(adds / data).toFixed(2)}x`.padStart(6)}  ` +
        `${`${mb(footprint)} MiB`.padStart(25)}  ${`${(footprint / data).toFixed(2)}x`.padStart(6)}  ${(footprint <= 1.5 * data ? 'met' : 'not met').padStart(12)}  ` +
        `${`${mb(r.peak - r.rss0)} MiB`.padStart(18)}  ${`${mb(r.after - r.rss1)} MiB`.padStart(27)}`,
    );
  }
  console.log('\nforward adds = peak RSS of the call above the RSS with the weights and the input created (rss1); footprint = bytes(inputs + weights) + that;');
  console.log('measured peak-rss0 = the same from RSS alone (it also counts copies made while creating the layer); RSS here = RSS outside V8\'s heap;');
  console.log("after the call = the output plus what the addon's block cache keeps for the next call (GATEDRNN_BUFFER_CACHE_MB=0: no cache), for train also the cache kept for backward");
}

main();
