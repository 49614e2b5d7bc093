#!/usr/bin/env node
// GRU benchmark of gatedrnn: forward (inference) and forward+backward
// (training) on the native (OpenBLAS) and js backends, at 1 and 2 threads,
// compared with the OpenBLAS SGEMM peak measured in the same run.
//
//   npm run bench                       build dist/ and run everything (~7 min on 2 cores with the peers)
//   node bench/gru.mjs --quick          shape S only
//   node bench/gru.mjs --shapes S,M     some shapes
//   node bench/gru.mjs --backends native   skip the js backend
//   node bench/gru.mjs --no-unset       skip the section with OPENBLAS_CORETYPE/L2_SIZE unset
//   node bench/gru.mjs --variants       only the layer-variants table (native, shape M)
//   node bench/gru.mjs --no-variants    skip the layer-variants table
//   node bench/gru.mjs --peers          only the peer comparison (ONNX Runtime, PyTorch, tfjs wasm)
//   node bench/gru.mjs --no-peers       skip the peer comparison
//   node bench/gru.mjs --json FILE      also write every row as JSON
//   node bench/gru.mjs --svg FILE       also write a chart of the run (bench/chart.mjs)
//   node bench/chart.mjs IN.json OUT.svg   the same chart from a --json file, without running
//
// The peer comparison (bench/peers/peers.mjs) runs by default when a peer is
// installed: onnxruntime-node (a devDependency), PyTorch (python3 with torch,
// through bench/peers/torch_gru.py) and TensorFlow.js wasm (optional, outside
// the package: $GATEDRNN_BENCH_TFJS). It times gatedrnn and each peer on the
// same shapes and thread counts in interleaved rounds, in both sections, so
// PyTorch runs with the same OpenBLAS kernel choice as gatedrnn.
//
// Besides the GRU rows, each section has a second table, "layer variants at
// shape M": the native backend's GRU next to an LSTM, a bidirectional GRU
// (concat), a GRU with a mask and a GRU with dropout/recurrentDropout, at
// 1 and 2 threads, each compared with the GRU row of the same section,
// thread count and mode.
//
// The OpenBLAS kernel is chosen when the library loads, from the CPU and the
// variables OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE. The first section runs
// with the environment as it is; the second re-runs this file in a child
// process with both variables removed (what a user's machine does) and
// measures the native backend there. Every ratio is against the SGEMM peak
// of its own section at the same thread count.
//
// --svg draws the peer-comparison rows of both sections (bench/chart.mjs):
// each peer's time ÷ gatedrnn's, with the performance issue's goals, and
// gatedrnn's % of the SGEMM peak; without peer rows (--no-peers), the
// native rows' % of the SGEMM peak. It is written whole or not at all.
//
// The child (--child) prints its section to the shared stdout and hands its
// rows back as JSON on file descriptor 3.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs as parseCommandLine } from 'node:util';
import { benchChartSvg, chartSubtitle, writeFileAtomic } from './chart.mjs';
import { benchPeers, PEER_COLUMNS, PEERS, peerCell, preparePeers } from './peers/peers.mjs';
import { randomArray, rng } from './random.mjs';

const thisFile = fileURLToPath(import.meta.url);
const packageRoot = path.resolve(path.dirname(thisFile), '..');
const BLAS_VARS = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];

const SHAPES = {
  S: { B: 32, T: 50, I: 32, H: 128 },
  M: { B: 64, T: 100, I: 128, H: 256 },
  L: { B: 64, T: 50, I: 512, H: 512 },
  // Latency: one sequence.
  D1: { B: 1, T: 50, I: 512, H: 512 },
  // Wide layer, small batch.
  D2: { B: 16, T: 25, I: 1024, H: 1024 },
};
const DEFAULT_SHAPES = ['S', 'M', 'L', 'D1', 'D2'];
/** Interleaved rounds of the peer comparison (--rounds). */
const DEFAULT_ROUNDS = 3;
const THREADS = [1, 2];
const PEAK_N = 2048;
/** The shape of the layer-variants table. */
const VARIANT_SHAPE = 'M';

// ---------------------------------------------------------------- arguments

function usage(code) {
  console.log(
    'usage: node bench/gru.mjs [--quick] [--shapes S,M,L,D1,D2] [--backends native,js] [--no-unset] [--variants | --no-variants] [--peers | --no-peers] [--rounds N] [--json FILE] [--svg FILE] [--markdown]\n' +
      '  --quick        shape S only (no layer-variants table; peers in 1 round)\n' +
      `  --shapes LIST  comma-separated subset of ${Object.keys(SHAPES).join(',')} (default ${DEFAULT_SHAPES.join(',')})\n` +
      '  --backends     comma-separated subset of native,js (default both)\n' +
      '  --no-unset     skip the second section (OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset)\n' +
      '  --variants     only the layer-variants table (native, shape M; no GRU shape rows, no SGEMM peak)\n' +
      '  --no-variants  skip the layer-variants table\n' +
      '  --peers        only the peer comparison (ONNX Runtime, PyTorch, tfjs wasm; also --compare)\n' +
      '  --no-peers     skip the peer comparison\n' +
      `  --rounds N     interleaved rounds of the peer comparison (default ${DEFAULT_ROUNDS})\n` +
      '  --json FILE    write all rows (both sections) as JSON to FILE\n' +
      '  --svg FILE     write a chart of the rows (both sections) as SVG to FILE: speed vs each peer, % of SGEMM peak\n' +
      '                 (from a JSON file of an earlier run: node bench/chart.mjs IN.json OUT.svg)\n' +
      '  --markdown     print the peer comparison as a Markdown table too',
  );
  process.exit(code);
}

function parseArgs(argv) {
  let parsed;
  try {
    parsed = parseCommandLine({
      args: argv,
      options: {
        child: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        'no-unset': { type: 'boolean', default: false },
        variants: { type: 'boolean', default: false },
        'no-variants': { type: 'boolean', default: false },
        peers: { type: 'boolean', default: false },
        compare: { type: 'boolean', default: false },
        'no-peers': { type: 'boolean', default: false },
        rounds: { type: 'string' },
        json: { type: 'string' },
        svg: { type: 'string' },
        markdown: { type: 'boolean', default: false },
        opts: { type: 'string' },
        shapes: { type: 'string' },
        backends: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    console.error(e.message);
    usage(2);
  }
  if (parsed.help) usage(0);
  // The child gets the parent's options as JSON.
  if (parsed.child) return { ...JSON.parse(parsed.opts), child: true };
  const peersOnly = parsed.peers || parsed.compare;
  if (peersOnly && parsed.variants) {
    console.error('--peers and --variants each run only their table; give one of them');
    usage(2);
  }
  if (peersOnly && parsed['no-peers']) {
    console.error('--peers cannot be combined with --no-peers');
    usage(2);
  }
  let rounds = parsed.quick ? 1 : DEFAULT_ROUNDS;
  if (parsed.rounds !== undefined) {
    rounds = Number(parsed.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) {
      console.error(`--rounds must be a positive integer, got ${JSON.stringify(parsed.rounds)}`);
      usage(2);
    }
  }
  const backends = parsed.backends ? list(parsed.backends, ['native', 'js'], 'backend') : ['native', 'js'];
  if (parsed.variants) {
    // Only the variants table: a fast way to iterate on it.
    const conflict = ['no-variants', 'quick', 'shapes', 'svg'].find((k) => parsed[k] !== undefined && parsed[k] !== false);
    if (conflict) {
      console.error(`--variants runs only the layer-variants table (shape ${VARIANT_SHAPE}); it cannot be combined with --${conflict}`);
      usage(2);
    }
    if (!backends.includes('native')) {
      console.error('--variants measures the native backend only; --backends must include native');
      usage(2);
    }
  }
  if (parsed.svg !== undefined && !backends.includes('native')) {
    console.error("--svg charts the native backend's rows; --backends must include native");
    usage(2);
  }
  if (peersOnly && !backends.includes('native')) {
    console.error('--peers compares the native backend; --backends must include native');
    usage(2);
  }
  const shapes = parsed.variants ? [] : parsed.quick ? ['S'] : parsed.shapes ? list(parsed.shapes, Object.keys(SHAPES), 'shape') : DEFAULT_SHAPES;
  return {
    child: false,
    // Shapes of the GRU rows (none with --variants or --peers) and of the peer comparison.
    shapes: peersOnly ? [] : shapes,
    peerShapes: parsed.variants || parsed['no-peers'] || !backends.includes('native') ? [] : shapes,
    backends: parsed.variants || peersOnly ? ['native'] : backends,
    unset: !parsed['no-unset'],
    // The variants table runs by default, except with --quick (which is meant
    // to be quick) or without the native backend (it measures native only).
    variants: parsed.variants || (!peersOnly && !parsed['no-variants'] && !parsed.quick && backends.includes('native')),
    variantsOnly: parsed.variants,
    variantsSkipped: peersOnly ? '--peers' : parsed['no-variants'] ? '--no-variants' : parsed.quick ? '--quick' : 'native backend not selected',
    peersSkipped: parsed.variants ? '--variants' : parsed['no-peers'] ? '--no-peers' : 'native backend not selected',
    rounds,
    json: parsed.json,
    svg: parsed.svg,
    markdown: parsed.markdown,
  };
}

function list(text, allowed, what) {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (what === 'shape' ? s.toUpperCase() : s.toLowerCase()));
  for (const s of items) {
    if (!allowed.includes(s)) {
      console.error(`unknown ${what} ${JSON.stringify(s)} (expected ${allowed.join(', ')})`);
      process.exit(2);
    }
  }
  if (items.length === 0) usage(2);
  return allowed.filter((s) => items.includes(s));
}

// ---------------------------------------------------------------- helpers

const now = () => performance.now();

/**
 * Linux: busy jiffies of the whole machine (/proc/stat), this process's CPU
 * time and the wall clock, to tell how much CPU other processes used while a
 * measurement ran. null elsewhere.
 */
function cpuSnapshot() {
  let busy = null;
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0);
  } catch {
    return null;
  }
  const own = process.cpuUsage();
  return { busy, own: (own.user + own.system) / 1e6, t: now() };
}

const CLK_TCK = 100; // USER_HZ on Linux

const othersText = (v) => (v === null || v === undefined ? 'n/a' : v.toFixed(2));

/** Average number of CPUs used by this process between two snapshots. */
function ownCpu(a, b) {
  if (!a || !b) return null;
  const wall = (b.t - a.t) / 1000;
  return wall > 0 ? (b.own - a.own) / wall : null;
}

/** Average number of CPUs used by other processes between two snapshots. */
function otherCpu(a, b) {
  if (!a || !b) return null;
  const wall = (b.t - a.t) / 1000;
  if (wall <= 0) return null;
  return Math.max(0, ((b.busy - a.busy) / CLK_TCK - (b.own - a.own)) / wall);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Forward FLOPs of a GRU: the input and recurrent matmuls, 2·T·B·3H·(I+H). */
const forwardFlops = ({ B, T, I, H }) => 2 * T * B * 3 * H * (I + H);

/** Forward FLOPs of an LSTM: 2·T·B·4H·(I+H). */
const lstmForwardFlops = ({ B, T, I, H }) => 2 * T * B * 4 * H * (I + H);

const shapeText = (name) => {
  const { B, T, I, H } = SHAPES[name];
  return `${name} B${B} T${T} I${I} H${H}`;
};

// ---------------------------------------------------------------- table

const COLUMNS = [
  { key: 'config', title: 'config (env)', width: 24, left: true },
  { key: 'backend', title: 'backend', width: 7, left: true },
  { key: 'threads', title: 'threads', width: 7 },
  { key: 'shape', title: 'shape', width: 20, left: true },
  { key: 'mode', title: 'mode', width: 7, left: true },
  { key: 'ms', title: 'ms', width: 9 },
  { key: 'seqPerSec', title: 'seq/s', width: 9 },
  { key: 'gflops', title: 'GFLOP/s', width: 8 },
  { key: 'pct', title: '% SGEMM peak', width: 12 },
  { key: 'runs', title: 'runs', width: 4 },
  { key: 'others', title: 'others', width: 6 },
];

function fmt(key, row) {
  const v = row[key];
  switch (key) {
    case 'shape':
      return shapeText(v);
    case 'ms':
      return v >= 100 ? v.toFixed(1) : v.toFixed(2);
    case 'seqPerSec':
      return v >= 100 ? v.toFixed(0) : v.toFixed(1);
    case 'gflops':
      return v.toFixed(2);
    case 'pct':
      return v === null ? 'n/a' : `${v.toFixed(1)}%`;
    case 'others':
      return othersText(v);
    default:
      return String(v);
  }
}

function cell(text, col) {
  return col.left ? text.padEnd(col.width) : text.padStart(col.width);
}

function tableHeader(cols = COLUMNS) {
  const head = cols.map((c) => cell(c.title, c)).join('  ');
  return `${head}\n${cols.map((c) => '-'.repeat(c.width)).join('  ')}`;
}

function tableRow(row, cols = COLUMNS) {
  return cols.map((c) => cell(fmt(c.key, row), c)).join('  ');
}

/** The layer-variants table: same timing columns, plus two comparisons with the GRU row. */
const VARIANT_COLUMNS = [
  { key: 'config', title: 'config (env)', width: 24, left: true },
  { key: 'threads', title: 'threads', width: 7 },
  { key: 'variant', title: 'variant', width: 32, left: true },
  { key: 'mode', title: 'mode', width: 7, left: true },
  { key: 'ms', title: 'ms', width: 9 },
  { key: 'seqPerSec', title: 'seq/s', width: 9 },
  { key: 'gflops', title: 'GFLOP/s', width: 8 },
  { key: 'gflopsVsGru', title: 'GFLOP/s vs GRU', width: 14 },
  { key: 'msVsGru', title: 'ms vs GRU', width: 9 },
  { key: 'own', title: 'own CPUs', width: 8 },
  { key: 'runs', title: 'runs', width: 4 },
  { key: 'others', title: 'others', width: 6 },
];

function fmtVariant(key, row) {
  const v = row[key];
  switch (key) {
    // '?': this row or its GRU row was disturbed (others > 0.2).
    case 'gflopsVsGru':
      return v === null ? '(ref)' : `${v.toFixed(2)}x${row.disturbed ? '?' : ''}`;
    case 'msVsGru':
      return v === null ? '(ref)' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}%${row.disturbed ? '?' : ''}`;
    case 'own':
      return othersText(v);
    case 'variant':
      return String(v);
    default:
      return fmt(key, row);
  }
}

function variantHeader() {
  return tableHeader(VARIANT_COLUMNS);
}

function variantRow(row) {
  return VARIANT_COLUMNS.map((c) => cell(fmtVariant(c.key, row), c)).join('  ');
}

// ---------------------------------------------------------------- measuring

async function loadPackage() {
  const entry = path.join(packageRoot, 'dist', 'index.mjs');
  if (!fs.existsSync(entry)) {
    console.error(`${entry} is missing: run npm run build:ts (npm run bench does it for you)`);
    process.exit(1);
  }
  return import(pathToFileURL(entry).href);
}

/** The addon itself, for the synchronous sgemm (same module object the package loaded). */
function loadAddon() {
  const require = createRequire(import.meta.url);
  if (process.env.GATEDRNN_ADDON) return require(path.resolve(process.env.GATEDRNN_ADDON));
  return require('node-gyp-build')(packageRoot);
}

/** Best-of-reps SGEMM C = A·B on n×n×n float32 at `threads` threads. */
function sgemmPeak(addon, threads, n = PEAK_N, reps = 5) {
  addon.setNumThreads(threads);
  const a = randomArray(n * n, 11);
  const b = randomArray(n * n, 12);
  const c = new Float32Array(n * n);
  const args = { transA: false, transB: false, m: n, n, k: n, alpha: 1, a, lda: n, b, ldb: n, beta: 0, c, ldc: n };
  addon.sgemm(args); // warmup: thread start-up, page faults
  const snap = cpuSnapshot();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    addon.sgemm(args);
    best = Math.min(best, now() - t0);
  }
  return { threads, ms: best, gflops: (2 * n * n * n) / (best * 1e6), others: otherCpu(snap, cpuSnapshot()) };
}

/**
 * Warmup runs (at least `warmup`, and for native rows until warmupMs has
 * passed: the first calls after loading are slower, until the output
 * buffers V8 frees at garbage collection come back to the addon's buffer
 * cache), then timed runs until minReps and the time budget (or maxReps).
 */
async function timeIt(fn, { warmup, warmupMs = 0, minReps, maxReps, budgetMs }) {
  const warmStart = now();
  for (let i = 0; i < warmup || (now() - warmStart < warmupMs && i < 50); i++) await fn();
  const times = [];
  const start = now();
  const snap = cpuSnapshot();
  while (times.length < maxReps && (times.length < minReps || now() - start < budgetMs)) {
    const t0 = now();
    await fn();
    times.push(now() - t0);
  }
  const end = cpuSnapshot();
  return { ms: median(times), times, runs: times.length, others: otherCpu(snap, end), own: ownCpu(snap, end) };
}

/** Repetition policy: the js backend is slow, one warmup-free run on M and L. */
function policy(backend, shape) {
  if (backend === 'js') {
    return shape === 'S' || shape === 'D1' ? { warmup: 1, minReps: 3, maxReps: 3, budgetMs: 0 } : { warmup: 0, minReps: 1, maxReps: 1, budgetMs: 0 };
  }
  return { warmup: 2, warmupMs: 400, minReps: 5, maxReps: 50, budgetMs: 1500 };
}

class Workload {
  constructor(g, name) {
    const { B, T, I, H } = SHAPES[name];
    this.name = name;
    this.layer = g.layers.gru({ units: H, returnSequences: true, seed: 7 });
    this.x = g.tensor(randomArray(B * T * I, 1), [B, T, I]);
    this.dOutput = g.tensor(randomArray(B * T * H, 2), [B, T, H]);
  }
  forward = async () => {
    await this.layer.apply(this.x);
  };
  train = async () => {
    await this.layer.apply(this.x, { training: true });
    await this.layer.backward(this.dOutput);
  };
}

/** Repetition policy of the variants table: as native, with a 1 s budget per row. */
const VARIANT_POLICY = { warmup: 2, warmupMs: 400, minReps: 5, maxReps: 50, budgetMs: 1000 };

/** Sequence lengths uniform in [T/2, T] from a seeded PRNG, as a (B, T) bool mask (1 = valid). */
function randomMask(g, B, T, seed) {
  const next = rng(seed);
  const lo = Math.ceil(T / 2);
  const m = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = Math.min(T, lo + Math.floor(((next() + 1) / 2) * (T - lo + 1)));
    m.fill(1, b * T, b * T + len);
  }
  return g.tensor(m, [B, T], 'bool');
}

/**
 * The layers of the variants table at shape `name`, each with its inputs and
 * call arguments. Every GRU uses the same seed, so they share their weights.
 * `flops` is the forward count (fwd+bwd counts 3x): the mask and dropout rows
 * count the same as the GRU, so their GFLOP/s compare directly.
 */
function variantWorkloads(g, name) {
  const shape = SHAPES[name];
  const { B, T, I, H } = shape;
  const x = g.tensor(randomArray(B * T * I, 1), [B, T, I]);
  const dOutput = g.tensor(randomArray(B * T * H, 2), [B, T, H]);
  const dOutputConcat = g.tensor(randomArray(B * T * 2 * H, 3), [B, T, 2 * H]);
  const mask = randomMask(g, B, T, 4);
  const gru = (extra = {}) => g.layers.gru({ units: H, returnSequences: true, seed: 7, ...extra });
  const gruFlops = forwardFlops(shape);
  const list = [
    { key: 'gru', label: 'GRU', layer: gru(), dOutput, flops: gruFlops },
    { key: 'lstm', label: 'LSTM', layer: g.layers.lstm({ units: H, returnSequences: true, seed: 7 }), dOutput, flops: lstmForwardFlops(shape) },
    {
      key: 'bigru',
      label: 'BiGRU concat (2x GRU FLOPs)',
      layer: g.layers.bidirectional({ layer: gru(), mergeMode: 'concat' }),
      dOutput: dOutputConcat,
      flops: 2 * gruFlops,
    },
    { key: 'mask', label: 'GRU + mask (len T/2..T)', layer: gru(), dOutput, flops: gruFlops, kwargs: { mask } },
    {
      key: 'dropout',
      label: 'GRU dropout .2 + recDropout .2',
      // Dropout only acts while training: the fwd row is an inference call, where it is off.
      fwdLabel: 'GRU dropout (inactive in fwd)',
      layer: gru({ dropout: 0.2, recurrentDropout: 0.2 }),
      dOutput,
      flops: gruFlops,
    },
  ];
  return list.map((w) => ({ ...w, x }));
}

/**
 * The variants table of one section: for each thread count and variant, fwd
 * and fwd+bwd, compared with the GRU row of the same thread count and mode.
 */
async function benchVariants(g, { config, name, print }) {
  g.setBackend('native');
  const workloads = variantWorkloads(g, name);
  const rows = [];
  for (const threads of THREADS) {
    g.setNumThreads(threads);
    const ref = {};
    for (const w of workloads) {
      const kwargs = w.kwargs ?? {};
      for (const mode of ['fwd', 'fwd+bwd']) {
        const fn =
          mode === 'fwd'
            ? async () => {
                await w.layer.apply(w.x, kwargs);
              }
            : async () => {
                await w.layer.apply(w.x, { ...kwargs, training: true });
                await w.layer.backward(w.dOutput);
              };
        const { ms, runs, others, own } = await timeIt(fn, VARIANT_POLICY);
        const flops = w.flops * (mode === 'fwd' ? 1 : 3);
        const gflops = flops / (ms * 1e6);
        const isRef = w.key === 'gru';
        if (isRef) ref[mode] = { ms, gflops, others };
        const row = {
          config,
          threads,
          shape: name,
          variant: mode === 'fwd' && w.fwdLabel ? w.fwdLabel : w.label,
          key: w.key,
          mode,
          ms,
          runs,
          others,
          own,
          disturbed: !isRef && [others, ref[mode].others].some((o) => o !== null && o > 0.2),
          seqPerSec: SHAPES[name].B / (ms / 1000),
          gflops,
          gflopsVsGru: isRef ? null : gflops / ref[mode].gflops,
          msVsGru: isRef ? null : (100 * (ms - ref[mode].ms)) / ref[mode].ms,
        };
        rows.push(row);
        print(variantRow(row));
      }
    }
  }
  return rows;
}

async function benchRows(g, { config, backend, threads, shapes, peak, print }) {
  g.setBackend(backend);
  if (backend === 'native') g.setNumThreads(threads);
  const rows = [];
  for (const name of shapes) {
    const w = new Workload(g, name);
    for (const mode of ['fwd', 'fwd+bwd']) {
      const { ms, runs, others } = await timeIt(mode === 'fwd' ? w.forward : w.train, policy(backend, name));
      const flops = forwardFlops(SHAPES[name]) * (mode === 'fwd' ? 1 : 3);
      const gflops = flops / (ms * 1e6);
      const row = {
        config,
        backend,
        threads,
        shape: name,
        mode,
        ms,
        runs,
        others,
        seqPerSec: SHAPES[name].B / (ms / 1000),
        gflops,
        peak: peak ? peak.gflops : null,
        pct: peak ? (100 * gflops) / peak.gflops : null,
      };
      rows.push(row);
      print(tableRow(row));
    }
  }
  return rows;
}

/** The checkout being measured, e.g. `git 041ed97-dirty`, or 'unknown'. */
function gitDescribe() {
  const r = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: packageRoot, encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? `git ${r.stdout.trim()}` : 'unknown (not a git checkout)';
}

function envText(env) {
  return BLAS_VARS.map((k) => `${k}=${env[k] === undefined ? '(unset)' : env[k]}`).join(' ');
}

/**
 * One section: SGEMM peaks and GRU rows in this process's OpenBLAS
 * configuration, then the layer-variants table and the peer comparison.
 * `backends` is which ones to run (the child runs native only); no `shapes`
 * (--variants, --peers) skips the GRU rows, and the SGEMM peaks too when
 * there are no `peerShapes` either.
 */
async function runSection(g, { index, title, configLabel, backends, shapes, peerShapes, rounds, variants, print }) {
  const info = (() => {
    g.setBackend('native');
    return g.backendInfo();
  })();
  const core = info.blasCore;
  const config = configLabel(core);
  print('');
  print(`== [${index}] ${title(core)} ==`);
  print(`   ${envText(process.env)}`);
  print(`   backendInfo().blasCore = ${core}   (${info.blasVersion})`);
  const variantRows = [];
  let peerRows = [];
  let peerStatus = null;
  let peaks = null;
  const addon = shapes.length || peerShapes.length ? loadAddon() : null;
  if (addon) {
    // The peak is measured before the rows (printed) and again after them; the
    // better of the two is the reference, so a busy moment does not lower it.
    peaks = {};
    for (const t of THREADS) {
      peaks[t] = sgemmPeak(addon, t);
      print(`   OpenBLAS SGEMM ${PEAK_N}x${PEAK_N}x${PEAK_N} peak, ${t} thread${t > 1 ? 's' : ''}: ${peaks[t].gflops.toFixed(1)} GFLOP/s (best ${peaks[t].ms.toFixed(1)} ms; others ${othersText(peaks[t].others)})`);
    }
  }
  const rows = [];
  if (shapes.length) {
    print('');
    print(tableHeader());
    if (backends.includes('native')) {
      for (const t of THREADS) {
        rows.push(...(await benchRows(g, { config, backend: 'native', threads: t, shapes, peak: peaks[t], print })));
      }
    }
    if (backends.includes('js')) {
      // Single-threaded: one run per shape, labeled 1 thread, against the 1-thread peak.
      rows.push(...(await benchRows(g, { config, backend: 'js', threads: 1, shapes, peak: peaks[1], print })));
    }
  }
  if (variants && backends.includes('native')) variantRows.push(...(await variantSection(g, { config, print })));
  if (peerShapes.length) ({ peerRows, peerStatus } = await peerSection(g, { config, shapes: peerShapes, rounds, peaks, print }));
  if (addon) {
    print('');
    for (const t of THREADS) {
      const again = sgemmPeak(addon, t);
      const before = peaks[t];
      if (again.gflops > before.gflops) peaks[t] = again;
      print(`   SGEMM peak re-measured after the rows, ${t} thread${t > 1 ? 's' : ''}: ${again.gflops.toFixed(1)} GFLOP/s (others ${othersText(again.others)}); reference ${peaks[t].gflops.toFixed(1)}`);
    }
    for (const row of [...rows, ...peerRows]) {
      row.peak = peaks[row.threads].gflops;
      row.pct = (100 * row.gflops) / row.peak;
    }
  }
  return { core, config, peaks, rows, variantRows, peerRows, peerStatus };
}

/** The peer comparison of a section, printed as it goes. */
async function peerSection(g, { config, shapes, rounds, peaks, print }) {
  print('');
  print(`   peer comparison at ${shapes.join(', ')}, threads ${THREADS.join(', ')}, ${rounds} interleaved round${rounds > 1 ? 's' : ''} (vs X = X ms / gatedrnn ms: above 1, gatedrnn is faster)`);
  const peers = await preparePeers(g, { shapes, SHAPES, randomArray, print });
  const status = Object.fromEntries(Object.entries(peers.status).map(([k, v]) => [k, v.text]));
  if (!Object.values(peers.status).some((s) => s.ok)) {
    print('   no peer installed: peer comparison skipped');
    await peers.close();
    return { peerRows: [], peerStatus: status };
  }
  try {
    const rows = await benchPeers(g, peers, {
      config,
      shapes,
      threads: THREADS,
      rounds,
      peaks,
      SHAPES,
      forwardFlops,
      timeIt,
      cpuSnapshot,
      median,
      print,
      row: () => {},
    });
    print('');
    print(peerHeader());
    for (const row of rows) print(peerRow(row));
    return { peerRows: rows, peerStatus: status };
  } finally {
    await peers.close();
  }
}

function peerHeader() {
  return tableHeader(PEER_COLUMNS);
}

function peerRow(row) {
  return PEER_COLUMNS.map((c) => cell(peerCell(c.key, row, shapeText), c)).join('  ');
}

/** The peer table as Markdown, for the README. */
function peerMarkdown(rows) {
  const cols = PEER_COLUMNS;
  const out = [`| ${cols.map((c) => c.title).join(' | ')} |`, `|${cols.map((c) => (c.left ? '---' : '---:')).join('|')}|`];
  for (const row of rows) out.push(`| ${cols.map((c) => peerCell(c.key, row, shapeText)).join(' | ')} |`);
  return out.join('\n');
}

/** The layer-variants table of a section, printed as it goes. */
async function variantSection(g, { config, print }) {
  print('');
  print(`   layer variants at shape ${shapeText(VARIANT_SHAPE)} (native; vs GRU = same section, threads and mode)`);
  print('');
  print(variantHeader());
  return benchVariants(g, { config, name: VARIANT_SHAPE, print });
}

// ---------------------------------------------------------------- main

async function child(opts) {
  const g = await loadPackage();
  const print = (s) => console.log(s);
  if (!g.backendInfo().nativeAvailable) {
    print(`   native backend unavailable in the child: ${g.backendInfo().nativeError}`);
    fs.writeSync(3, JSON.stringify({ core: null, rows: [], variantRows: [], peerRows: [], peaks: null }));
    return;
  }
  const section = await runSection(g, {
    index: 2,
    title: (core) => `native, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (OpenBLAS own kernel choice: ${core})`,
    configLabel: (core) => `vars unset (${core})`,
    backends: ['native'],
    shapes: opts.shapes,
    peerShapes: opts.peerShapes,
    rounds: opts.rounds,
    variants: opts.variants,
    print,
  });
  fs.writeSync(3, JSON.stringify(section));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) return child(opts);

  const wallStart = now();
  const g = await loadPackage();
  const print = (s) => console.log(s);
  const first = g.backendInfo();
  const cpus = os.cpus();
  print(`gatedrnn ${g.version} GRU benchmark (units=H, resetAfter=true, tanh/sigmoid, returnSequences=true)`);
  print(`node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} logical CPUs: ${cpus[0]?.model ?? '?'}; source ${gitDescribe()}`);
  if (first.nativePath) print(`addon: ${first.nativePath}`);
  print(`CPU features: ${first.cpuFeatures.join(' ') || '(none reported)'}; gate math: ${first.gateMathDispatch ?? 'n/a'}`);
  if (opts.shapes.length) {
    print(`shapes: ${opts.shapes.map(shapeText).join(', ')}; backends: ${opts.backends.join(', ')}; threads: ${THREADS.join(', ')} (js: 1)`);
  } else {
    print(`GRU shape rows skipped (${opts.variantsOnly ? '--variants' : '--peers'})`);
  }
  print(
    opts.peerShapes.length
      ? `peers (ONNX Runtime, PyTorch, TensorFlow.js wasm, when installed) at ${opts.peerShapes.join(', ')}, threads ${THREADS.join(', ')}, ${opts.rounds} interleaved round${opts.rounds > 1 ? 's' : ''}; train = fwd + bwd + SGD update`
      : `peers skipped (${opts.peersSkipped})`,
  );
  print(
    opts.variants
      ? `layer variants (native, threads ${THREADS.join(', ')}): GRU, LSTM, BiGRU concat, GRU + mask, GRU dropout at ${shapeText(VARIANT_SHAPE)}`
      : `layer variants skipped (${opts.variantsSkipped})`,
  );
  print(
    `forward FLOPs = 2*T*B*3H*(I+H)${opts.variants ? ' (LSTM: 4H; BiGRU: 2x GRU; mask and dropout rows: as GRU)' : ''}; fwd+bwd = 3x; ` +
      `ms = median over "runs" after warmup${opts.backends.includes('js') && opts.shapes.some((n) => n !== 'S' && n !== 'D1') ? ' (js M/L/D2: one run, no warmup)' : ''}`,
  );
  const load = os.loadavg()[0];
  print(`load average (1 min) at start: ${load.toFixed(2)}${load > 0.5 ? '  WARNING: other processes are using the CPU, timings will be noisy' : ''}`);

  let sections = [];
  const haveNative = first.nativeAvailable;
  if (!haveNative) {
    print(`\nnative backend unavailable (${first.nativeError}); measuring js only, with no SGEMM peak`);
    const rows = [];
    print('');
    print(tableHeader());
    if (opts.backends.includes('js')) {
      rows.push(...(await benchRows(g, { config: 'no native addon', backend: 'js', threads: 1, shapes: opts.shapes, peak: null, print })));
    }
    if (opts.variants) print('\nlayer variants skipped: they measure the native backend');
    sections.push({ rows, variantRows: [] });
  } else {
    const varsSet = BLAS_VARS.filter((k) => process.env[k] !== undefined);
    sections.push(
      await runSection(g, {
        index: 1,
        title: (core) => `environment as is (OpenBLAS kernel: ${core})`,
        configLabel: (core) => `env as is (${core})`,
        backends: opts.backends,
        shapes: opts.shapes,
        peerShapes: opts.peerShapes,
        rounds: opts.rounds,
        variants: opts.variants,
        print,
      }),
    );

    if (!opts.unset) {
      print('\n== [2] skipped (--no-unset) ==');
    } else if (!opts.backends.includes('native')) {
      print('\n== [2] skipped (native backend not selected) ==');
    } else if (varsSet.length === 0) {
      print(`\n== [2] skipped: neither ${BLAS_VARS.join(' nor ')} is set, section 1 already is OpenBLAS's own kernel choice ==`);
    } else {
      const env = { ...process.env };
      for (const k of BLAS_VARS) delete env[k];
      const childOpts = { shapes: opts.shapes, peerShapes: opts.peerShapes, rounds: opts.rounds, variants: opts.variants };
      const args = [thisFile, '--child', '--opts', JSON.stringify(childOpts)];
      const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'inherit', 'inherit', 'pipe'], maxBuffer: 1 << 24 });
      const payload = r.output?.[3] ? String(r.output[3]) : '';
      if (r.status !== 0 || !payload) {
        print(`\n== [2] child process failed (status ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''}) ==`);
        process.exitCode = 1;
      } else {
        sections.push(JSON.parse(payload));
      }
    }
  }

  const all = sections.flatMap((s) => s.rows);
  const allVariants = sections.flatMap((s) => s.variantRows ?? []);
  const allPeers = sections.flatMap((s) => s.peerRows ?? []);
  print('\n== summary ==');
  for (const s of sections) {
    if (!s.peaks) continue;
    const p = THREADS.map((t) => `${t}T ${s.peaks[t].gflops.toFixed(1)}`).join(', ');
    print(`SGEMM ${PEAK_N}^3 peak GFLOP/s, ${s.config}: ${p}`);
  }
  if (all.length && haveNative) print('% SGEMM peak uses the better of the two peak measurements of its own section (the rows printed above used the first).');
  print('others = average CPUs used by other processes during the timed runs (/proc/stat); above ~0.2 the row is disturbed.');
  if (all.length) {
    print('');
    print(tableHeader());
    for (const row of all) print(tableRow(row));
  }
  if (allVariants.length) {
    print('');
    print(`layer variants at shape ${shapeText(VARIANT_SHAPE)} (native)`);
    print('GFLOP/s vs GRU = GFLOP/s / GRU row GFLOP/s; ms vs GRU = time overhead over the GRU row (same config, threads, mode);');
    print("'?' = this row or its GRU row was disturbed (others > 0.2). own CPUs = CPUs this process used.");
    print('');
    print(variantHeader());
    for (const row of allVariants) print(variantRow(row));
  }
  for (const s of sections) {
    if (s.peerStatus) print(`\npeers, ${s.config}: ${Object.values(s.peerStatus).join('; ')}`);
  }
  if (allPeers.length) {
    print('');
    print('peer comparison (gatedrnn native vs each peer, same threads, same process environment; train = fwd + bwd + SGD step)');
    print("vs X = X ms / gatedrnn ms (above 1: gatedrnn faster); % peak = gatedrnn's GFLOP/s / SGEMM peak of its section and thread count;");
    print("'?' = a block of the row ran with others > 0.2; '!' = the peer's output differed from gatedrnn's; — = not run");
    print('');
    print(peerHeader());
    for (const row of allPeers) print(peerRow(row));
    if (opts.markdown) {
      print('');
      print(peerMarkdown(allPeers));
    }
  }
  const counted = [...all, ...allVariants, ...allPeers];
  const busy = counted.filter((r) => r.others !== null && r.others > 0.2);
  if (busy.length) print(`\nWARNING: ${busy.length} of ${counted.length} rows ran while other processes used > 0.2 CPU; rerun on a quiet machine for stable numbers.`);
  const wall = (now() - wallStart) / 1000;
  print(`\nwall time ${wall.toFixed(1)} s`);
  if (opts.json || opts.svg) {
    const meta = {
      date: new Date().toISOString(),
      command: `node bench/gru.mjs ${process.argv.slice(2).join(' ')}`.trim(),
      gatedrnn: g.version,
      source: gitDescribe(),
      node: process.version,
      cpu: cpus[0]?.model ?? null,
      logicalCpus: cpus.length,
      loadAverageAtStart: load,
      env: Object.fromEntries(BLAS_VARS.map((k) => [k, process.env[k] ?? null])),
      threads: THREADS,
      shapes: SHAPES,
      wallSeconds: wall,
    };
    if (opts.json) {
      fs.writeFileSync(opts.json, `${JSON.stringify({ meta, sections }, null, 1)}\n`);
      print(`JSON written to ${opts.json}`);
    }
    if (opts.svg) {
      try {
        writeFileAtomic(opts.svg, benchChartSvg([...all, ...allPeers], { subtitle: chartSubtitle(meta) }));
        print(`SVG written to ${opts.svg}`);
      } catch (e) {
        print(`SVG not written to ${opts.svg}: ${e.message}`);
        process.exitCode = 1;
      }
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
