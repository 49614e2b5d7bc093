#!/usr/bin/env node
// GRU benchmark of gatedrnn: forward (inference) and forward+backward
// (training) on the native (OpenBLAS) and js backends, at 1 and 2 threads,
// compared with the OpenBLAS SGEMM peak measured in the same run.
//
//   npm run bench                       build dist/ and run everything (~2 min on 2 cores)
//   node bench/gru.mjs --quick          shape S only
//   node bench/gru.mjs --shapes S,M     some shapes
//   node bench/gru.mjs --backends native   skip the js backend
//   node bench/gru.mjs --no-unset       skip the section with OPENBLAS_CORETYPE/L2_SIZE unset
//
// The OpenBLAS kernel is chosen when the library loads, from the CPU and the
// variables OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE. The first section runs
// with the environment as it is; the second re-runs this file in a child
// process with both variables removed (what a user's machine does) and
// measures the native backend there. Every ratio is against the SGEMM peak
// of its own section at the same thread count.
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

const thisFile = fileURLToPath(import.meta.url);
const packageRoot = path.resolve(path.dirname(thisFile), '..');
const BLAS_VARS = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];

const SHAPES = {
  S: { B: 32, T: 50, I: 32, H: 128 },
  M: { B: 64, T: 100, I: 128, H: 256 },
  L: { B: 64, T: 50, I: 512, H: 512 },
};
const THREADS = [1, 2];
const PEAK_N = 2048;

// ---------------------------------------------------------------- arguments

function usage(code) {
  console.log(
    'usage: node bench/gru.mjs [--quick] [--shapes S,M,L] [--backends native,js] [--no-unset]\n' +
      '  --quick        shape S only\n' +
      '  --shapes LIST  comma-separated subset of S,M,L\n' +
      '  --backends     comma-separated subset of native,js (default both)\n' +
      '  --no-unset     skip the second section (OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset)',
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
  return {
    child: parsed.child,
    shapes: parsed.quick ? ['S'] : parsed.shapes ? list(parsed.shapes, Object.keys(SHAPES), 'shape') : Object.keys(SHAPES),
    backends: parsed.backends ? list(parsed.backends, ['native', 'js'], 'backend') : ['native', 'js'],
    unset: !parsed['no-unset'],
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

/** mulberry32: a small seeded PRNG, uniform in [-1, 1). */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

function randomArray(n, seed) {
  const next = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = next();
  return a;
}

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

/** Warmup runs, then timed runs until minReps and the time budget (or maxReps) are reached. */
async function timeIt(fn, { warmup, minReps, maxReps, budgetMs }) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  const start = now();
  const snap = cpuSnapshot();
  while (times.length < maxReps && (times.length < minReps || now() - start < budgetMs)) {
    const t0 = now();
    await fn();
    times.push(now() - t0);
  }
  return { ms: median(times), runs: times.length, others: otherCpu(snap, cpuSnapshot()) };
}

/** Repetition policy: the js backend is slow, one warmup-free run on M and L. */
function policy(backend, shape) {
  if (backend === 'js') {
    return shape === 'S' ? { warmup: 1, minReps: 3, maxReps: 3, budgetMs: 0 } : { warmup: 0, minReps: 1, maxReps: 1, budgetMs: 0 };
  }
  return { warmup: 2, minReps: 5, maxReps: 50, budgetMs: 1500 };
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
 * configuration. `backends` is which ones to run (the child runs native only).
 */
async function runSection(g, { index, title, configLabel, backends, shapes, print }) {
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
  const addon = loadAddon();
  // The peak is measured before the rows (printed) and again after them; the
  // better of the two is the reference, so a busy moment does not lower it.
  const peaks = {};
  for (const t of THREADS) {
    peaks[t] = sgemmPeak(addon, t);
    print(`   OpenBLAS SGEMM ${PEAK_N}x${PEAK_N}x${PEAK_N} peak, ${t} thread${t > 1 ? 's' : ''}: ${peaks[t].gflops.toFixed(1)} GFLOP/s (best ${peaks[t].ms.toFixed(1)} ms; others ${othersText(peaks[t].others)})`);
  }
  print('');
  print(tableHeader());
  const rows = [];
  if (backends.includes('native')) {
    for (const t of THREADS) {
      rows.push(...(await benchRows(g, { config, backend: 'native', threads: t, shapes, peak: peaks[t], print })));
    }
  }
  if (backends.includes('js')) {
    // Single-threaded: one run per shape, labeled 1 thread, against the 1-thread peak.
    rows.push(...(await benchRows(g, { config, backend: 'js', threads: 1, shapes, peak: peaks[1], print })));
  }
  print('');
  for (const t of THREADS) {
    const again = sgemmPeak(addon, t);
    const before = peaks[t];
    if (again.gflops > before.gflops) peaks[t] = again;
    print(`   SGEMM peak re-measured after the rows, ${t} thread${t > 1 ? 's' : ''}: ${again.gflops.toFixed(1)} GFLOP/s (others ${othersText(again.others)}); reference ${peaks[t].gflops.toFixed(1)}`);
  }
  for (const row of rows) {
    row.peak = peaks[row.threads].gflops;
    row.pct = (100 * row.gflops) / row.peak;
  }
  return { core, config, peaks, rows };
}

// ---------------------------------------------------------------- main

async function child(opts) {
  const g = await loadPackage();
  const print = (s) => console.log(s);
  if (!g.backendInfo().nativeAvailable) {
    print(`   native backend unavailable in the child: ${g.backendInfo().nativeError}`);
    fs.writeSync(3, JSON.stringify({ core: null, rows: [], peaks: {} }));
    return;
  }
  const section = await runSection(g, {
    index: 2,
    title: (core) => `native, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (OpenBLAS own kernel choice: ${core})`,
    configLabel: (core) => `vars unset (${core})`,
    backends: ['native'],
    shapes: opts.shapes,
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
  print(`shapes: ${opts.shapes.map(shapeText).join(', ')}; backends: ${opts.backends.join(', ')}; threads: ${THREADS.join(', ')} (js: 1)`);
  print('forward FLOPs = 2*T*B*3H*(I+H); fwd+bwd = 3x; ms = median over "runs" after warmup (js M/L: one run, no warmup)');
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
    sections.push({ rows });
  } else {
    const varsSet = BLAS_VARS.filter((k) => process.env[k] !== undefined);
    sections.push(
      await runSection(g, {
        index: 1,
        title: (core) => `environment as is (OpenBLAS kernel: ${core})`,
        configLabel: (core) => `env as is (${core})`,
        backends: opts.backends,
        shapes: opts.shapes,
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
      const args = [thisFile, '--child', '--shapes', opts.shapes.join(',')];
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

  print('\npeers: none measured (no PyTorch or onnxruntime-node comparison yet; a later issue adds them)');

  const all = sections.flatMap((s) => s.rows);
  print('\n== summary ==');
  for (const s of sections) {
    if (!s.peaks) continue;
    const p = THREADS.map((t) => `${t}T ${s.peaks[t].gflops.toFixed(1)}`).join(', ');
    print(`SGEMM ${PEAK_N}^3 peak GFLOP/s, ${s.config}: ${p}`);
  }
  if (haveNative) print('% SGEMM peak uses the better of the two peak measurements of its own section (the rows printed above used the first).');
  print('others = average CPUs used by other processes during the timed runs (/proc/stat); above ~0.2 the row is disturbed.');
  print('');
  print(tableHeader());
  for (const row of all) print(tableRow(row));
  const busy = all.filter((r) => r.others !== null && r.others > 0.2);
  if (busy.length) print(`\nWARNING: ${busy.length} of ${all.length} rows ran while other processes used > 0.2 CPU; rerun on a quiet machine for stable numbers.`);
  print(`\nwall time ${((now() - wallStart) / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
