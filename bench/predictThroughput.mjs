#!/usr/bin/env node
// Throughput of the batch job `gatedrnn predict` against the raw forward.
//
// Performance goal: the job sustains at least 90% of the raw forward
// throughput on a large file (reading, parsing, batching and writing are not
// the bottleneck).
//
// For each model (saved with model.save and a preprocessing.json, as
// `gatedrnn train` leaves them):
//   large  classify: GRU(256) on 32 features, 50 steps -> Dense(10, softmax);
//          the forward is the main cost (about 3x JSON.parse of a row)
//   small  the demo's forecaster: GRU(32) on windows of 36 values of one
//          series (35 first differences) -> Dense(1); the per-row overhead shows
// it writes an input file in predict's JSON Lines format
// ({"id": k, "x": [[...], ...]}, values with 4 decimals; the small model's
// are a random walk with 2 decimals) into os.tmpdir() (deleted at the end), and times:
//   raw      the same sequences (same values, same preprocessing) as one
//            in-memory tensor through model.predict(x, {batchSize}) of the
//            loaded model, in this process, with setNumThreads(n), after one
//            warmup block
//   cli      `node bin/gatedrnn.cjs predict --model DIR --input FILE --output
//            OUT --batch-size B --quiet`, spawned as a user runs it, wall time
//            from spawn to exit, with OPENBLAS_NUM_THREADS=n (the command line
//            has no threads option); `default`: no thread variable set, as a
//            user runs it (OpenBLAS's default, the core count; raw: setNumThreads(cores))
//   startup  the same command on a one-row file: node, module loading and
//            model loading; `cli - startup` is the steady rate
//   busy     the main thread's busy time in the CLI process (event-loop
//            utilisation, recorded by loading this file with --import), minus
//            the startup run's: the JavaScript work per file (reading,
//            parsing, preprocessing, formatting, writing). The forward runs
//            off the main thread, on the addon's worker.
// and checks that the CLI wrote the same numbers as the raw forward (first rows).
//
//   npm run build:ts                                    dist/ must be built (the addon too)
//   node bench/predictThroughput.mjs                    both models, threads 1 and default (~30 s on 2 cores)
//   node bench/predictThroughput.mjs --models large --threads 1,2,default
//   node bench/predictThroughput.mjs --rows 20000 --batch-size 128 --format csv
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { rng } from './random.mjs';

const thisFile = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(thisFile), '..');
const cliBin = path.join(root, 'bin', 'gatedrnn.cjs');
/** Set in the CLI processes: where the --import hook (end of this file) writes their busy time. */
const HOOK_ENV = 'GATEDRNN_BENCH_BUSY_FILE';

const MODELS = {
  large: { task: 'classify', units: 256, features: 32, steps: 50, classes: 10, rows: 8000 },
  small: { task: 'forecast', units: 32, features: 1, window: 36, rows: 50000 },
};

/** Linux: the machine's busy CPU seconds (/proc/stat) and this process's CPU seconds; null elsewhere. */
function cpuSnapshot() {
  let busy;
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    busy = (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0)) / 100; // user nice system irq softirq steal, in USER_HZ
  } catch {
    return null;
  }
  const own = process.cpuUsage();
  return { busy, own: (own.user + own.system) / 1e6, t: performance.now() };
}

/** CPUs used by other processes between two snapshots (besides this one and `childCpu` seconds of a child). */
function othersBetween(a, b, childCpu = 0) {
  if (!a || !b) return null;
  const wall = (b.t - a.t) / 1000;
  return Math.max(0, (b.busy - a.busy - (b.own - a.own) - childCpu) / wall);
}

const fmtOthers = (v) => (v === null || v === undefined ? 'n/a' : v.toFixed(2));

/** Builds, saves and describes a model; returns what the rows and the raw forward need. */
async function saveModel(g, name, spec, dir) {
  const gru = g.layers.gru({ units: spec.units, inputShape: [null, spec.features], seed: 1 });
  const head = spec.task === 'classify' ? g.layers.dense({ units: spec.classes, activation: 'softmax', seed: 2 }) : g.layers.dense({ units: 1, seed: 2 });
  const model = g.sequential({ layers: [gru, head] });
  await model.save(dir);
  const common = { format: 'gatedrnn-preprocessing', version: 1, createdBy: 'bench/predictThroughput.mjs' };
  const prep =
    spec.task === 'classify'
      ? { ...common, task: 'classify', features: spec.features, timesteps: spec.steps, mean: new Array(spec.features).fill(0), std: new Array(spec.features).fill(1), classes: Array.from({ length: spec.classes }, (_, i) => `c${i}`), padValue: null, label: 'label' }
      : { ...common, task: 'forecast', units: 'ppm', columns: ['value'], target: 'value', targetIndex: 0, window: spec.window, horizon: 1, difference: true, inputMean: [0], inputStd: [0.5], outputMean: [0], outputStd: [0.5] };
  fs.writeFileSync(path.join(dir, 'preprocessing.json'), JSON.stringify(prep));
  return { name, spec, dir, params: model.countParams() };
}

/**
 * Row k's raw values (as the file holds them, already rounded) and the model
 * input they become after predict's preprocessing.
 */
function makeRow(spec, next) {
  if (spec.task === 'classify') {
    const raw = new Array(spec.steps * spec.features);
    for (let i = 0; i < raw.length; i++) raw[i] = Math.round(next() * 10000) / 10000;
    return { raw, input: raw };
  }
  // A series around 300-400 with small steps (2 decimals), like the demo's ppm.
  const raw = new Array(spec.window);
  let v = 350 + 50 * next();
  for (let i = 0; i < raw.length; i++) raw[i] = Math.round((v += next()) * 100) / 100;
  // predict reads the values into float32, then takes differences and z-scores them.
  const input = new Array(spec.window - 1);
  for (let i = 0; i < input.length; i++) input[i] = (Math.fround(raw[i + 1]) - Math.fround(raw[i]) - 0) / 0.5;
  return { raw, input };
}

function lineOf(spec, k, raw, format) {
  if (format === 'csv') return `${k},${raw.join(',')}`;
  if (spec.task === 'forecast') return `{"id":${k},"x":[${raw.join(',')}]}`;
  const steps = [];
  for (let t = 0; t < spec.steps; t++) steps.push(`[${raw.slice(t * spec.features, (t + 1) * spec.features).join(',')}]`);
  return `{"id":${k},"x":[${steps.join(',')}]}`;
}

/**
 * Writes `rows` rows to `file` and returns the model inputs (rows, steps,
 * features) and each row's last raw value (the forecast adds it back).
 */
function writeInput(spec, rows, file, format) {
  const steps = spec.task === 'classify' ? spec.steps : spec.window - 1;
  const x = new Float32Array(rows * steps * spec.features);
  const last = new Float64Array(rows);
  const next = rng(42);
  const fd = fs.openSync(file, 'w');
  if (format === 'csv') {
    const n = spec.task === 'classify' ? spec.steps * spec.features : spec.window;
    fs.writeSync(fd, `id,${Array.from({ length: n }, (_, i) => `v${i}`).join(',')}\n`);
  }
  let chunk = [];
  for (let k = 0; k < rows; k++) {
    const { raw, input } = makeRow(spec, next);
    x.set(input, k * input.length);
    last[k] = raw[raw.length - 1];
    chunk.push(lineOf(spec, k, raw, format));
    if (chunk.length === 1000 || k === rows - 1) {
      fs.writeSync(fd, `${chunk.join('\n')}\n`);
      chunk = [];
    }
  }
  fs.closeSync(fd);
  return { x, last, steps };
}

/** The output line's y for row k as the CLI prints it (7 significant digits). */
function expectedY(spec, out, k, last) {
  const num = (v) => Number(v.toPrecision(7));
  if (spec.task === 'classify') return Array.from(out.subarray(k * spec.classes, (k + 1) * spec.classes), num);
  return [num(out[k] * 0.5 + 0 + Math.fround(last[k]))];
}

/** Runs the CLI once: wall seconds, the main thread's busy time, CPU time, and other processes' CPU use. */
function runCli(args, threads) {
  const busyFile = path.join(os.tmpdir(), `gatedrnn-bench-busy-${process.pid}.json`);
  const env = { ...process.env, [HOOK_ENV]: busyFile };
  // 'default': as a user runs it, with no thread setting.
  for (const k of ['OPENBLAS_NUM_THREADS', 'GOTO_NUM_THREADS', 'OMP_NUM_THREADS']) delete env[k];
  if (threads !== 'default') env.OPENBLAS_NUM_THREADS = String(threads);
  const before = cpuSnapshot();
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(thisFile).href, cliBin, 'predict', ...args, '--quiet', '--restart'], { env, encoding: 'utf8' });
  const after = cpuSnapshot();
  if (r.status !== 0) throw new Error(`gatedrnn predict failed (status ${r.status}): ${r.stderr}`);
  const busy = JSON.parse(fs.readFileSync(busyFile, 'utf8'));
  fs.rmSync(busyFile, { force: true });
  const seconds = (after.t - before.t) / 1000;
  return { seconds, busySeconds: busy.activeMs / 1000, cpuSeconds: busy.cpuSeconds, others: othersBetween(before, after, busy.cpuSeconds) };
}

/** model.predict of all rows in blocks of B: seconds and other processes' CPU use. */
async function timeRaw(model, x, B) {
  const before = cpuSnapshot();
  const y = await model.predict(x, { batchSize: B });
  const after = cpuSnapshot();
  return { seconds: (after.t - before.t) / 1000, others: othersBetween(before, after), out: y.dataSync() };
}

async function main() {
  const { values: o } = parseArgs({
    options: {
      models: { type: 'string', default: 'large,small' },
      threads: { type: 'string', default: '1,default' },
      rows: { type: 'string' },
      'batch-size': { type: 'string', default: '256' },
      format: { type: 'string', default: 'jsonl' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) {
    console.log('usage: node bench/predictThroughput.mjs [--models large,small] [--threads 1,2,default] [--rows N] [--batch-size 256] [--format jsonl|csv]');
    return;
  }
  const entry = path.join(root, 'dist', 'index.mjs');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run npm run build:ts`);
  const g = await import(pathToFileURL(entry).href);
  if (g.getBackend() !== 'native') console.log(`WARNING: backend ${g.getBackend()} (the native addon did not load)`);
  const threadsList = o.threads.split(',').map((t) => (t === 'default' ? t : Number(t)));
  const cores = os.availableParallelism();
  const B = Number(o['batch-size']);
  const format = o.format;
  const info = g.backendInfo();
  console.log(`gatedrnn predict throughput: ${format} input, --batch-size ${B}, backend ${g.getBackend()} (${info.blasCore}), node ${process.version}, ${os.cpus().length} CPUs`);
  console.log(`load average at start ${os.loadavg()[0].toFixed(2)}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-predict-bench-'));
  const results = [];
  try {
    for (const name of o.models.split(',')) {
      const spec = MODELS[name];
      if (!spec) throw new Error(`unknown model ${name} (large, small)`);
      const rows = o.rows ? Number(o.rows) : spec.rows;
      const dir = path.join(tmp, `${name}-model`);
      const saved = await saveModel(g, name, spec, dir);
      const input = path.join(tmp, `${name}.${format}`);
      const output = path.join(tmp, `${name}.out.jsonl`);
      const one = path.join(tmp, `${name}-one.${format}`);
      const t0 = performance.now();
      const data = writeInput(spec, rows, input, format);
      writeInput(spec, 1, one, format);
      const mb = fs.statSync(input).size / 1e6;
      console.log(`\n${name}: ${spec.task}, GRU(${spec.units}) on ${spec.features} feature(s), ${data.steps} steps, ${saved.params} parameters; ${rows} rows, ${mb.toFixed(0)} MB (written in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

      const model = await g.loadLayersModel(dir);
      const x = g.tensor(data.x, [rows, data.steps, spec.features]);
      for (const threads of threadsList) {
        g.setNumThreads(threads === 'default' ? cores : threads);
        await model.predict(g.tensor(data.x.subarray(0, B * data.steps * spec.features), [B, data.steps, spec.features]), { batchSize: B });
        // raw before and after the CLI runs; the faster counts (the machine is shared).
        const raw1 = await timeRaw(model, x, B);
        const args = ['--model', dir, '--output', output, '--batch-size', String(B)];
        const start = runCli([...args, '--input', one], threads);
        const cli = runCli([...args, '--input', input], threads);
        const raw2 = await timeRaw(model, x, B);
        const raw = raw1.seconds <= raw2.seconds ? raw1 : raw2;
        const rawSeconds = raw.seconds;
        const out = raw.out;

        // Same numbers as the raw forward?
        const lines = fs.readFileSync(output, 'utf8').split('\n', 3);
        const same = lines.every((l, k) => JSON.stringify(JSON.parse(l).y) === JSON.stringify(expectedY(spec, out, k, data.last)));
        const count = (fs.readFileSync(output, 'utf8').match(/\n/g) ?? []).length;
        if (count !== rows) throw new Error(`the CLI wrote ${count} lines for ${rows} rows`);

        const steady = cli.seconds - start.seconds;
        const row = {
          model: name,
          threads: threads === 'default' ? `default (${cores})` : threads,
          rows,
          rawPerSec: rows / rawSeconds,
          cliPerSec: rows / cli.seconds,
          steadyPerSec: rows / steady,
          ratio: rawSeconds / cli.seconds,
          steadyRatio: rawSeconds / steady,
          startupSeconds: start.seconds,
          busySeconds: cli.busySeconds - start.busySeconds,
          busyShare: (cli.busySeconds - start.busySeconds) / steady,
          cpuPerWall: (cli.cpuSeconds - start.cpuSeconds) / steady,
          others: Math.max(raw.others ?? 0, cli.others ?? 0),
          same,
        };
        results.push(row);
        console.log(
          `  threads ${threads}: raw ${row.rawPerSec.toFixed(0)} seq/s (${rawSeconds.toFixed(2)} s); ` +
            `cli ${row.cliPerSec.toFixed(0)} seq/s (${cli.seconds.toFixed(2)} s, startup ${start.seconds.toFixed(2)} s), steady ${row.steadyPerSec.toFixed(0)} seq/s; ` +
            `cli/raw ${(100 * row.ratio).toFixed(0)}%, steady/raw ${(100 * row.steadyRatio).toFixed(0)}%; ` +
            `main thread busy ${row.busySeconds.toFixed(2)} s = ${(100 * row.busyShare).toFixed(0)}% of the steady time; CPUs used ${row.cpuPerWall.toFixed(2)}; ` +
            `others ${fmtOthers(raw1.others)}/${fmtOthers(cli.others)}/${fmtOthers(raw2.others)} (raw, cli, raw); ` +
            `outputs ${same ? 'match' : 'DIFFER from'} the raw forward`,
        );
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  console.log('\nmodel      threads    rows   raw seq/s   cli seq/s  steady seq/s  cli/raw  steady/raw  goal >= 90%  main busy  CPUs  others');
  for (const r of results) {
    console.log(
      `${r.model.padEnd(5)}  ${String(r.threads).padStart(11)}  ${String(r.rows).padStart(6)}  ${r.rawPerSec.toFixed(0).padStart(10)}  ${r.cliPerSec.toFixed(0).padStart(10)}  ${r.steadyPerSec.toFixed(0).padStart(12)}  ` +
        `${`${(100 * r.ratio).toFixed(0)}%`.padStart(7)}  ${`${(100 * r.steadyRatio).toFixed(0)}%`.padStart(10)}  ${(r.steadyRatio >= 0.9 ? 'met' : 'not met').padStart(11)}  ${`${(100 * r.busyShare).toFixed(0)}%`.padStart(9)}  ${r.cpuPerWall.toFixed(2).padStart(4)}  ${fmtOthers(r.others).padStart(6)}`,
    );
  }
  console.log('steady = the CLI without its startup (node, modules, model load: the one-row run); the goal compares steady/raw; main busy = JavaScript time of the job / steady time;');
  console.log('CPUs = CPU time of the CLI / steady time; others = CPUs other processes used meanwhile (worst of raw and cli; above ~0.2 the row is disturbed)');
  if (results.some((r) => r.others > 0.2)) console.log('WARNING: some rows ran while other processes used > 0.2 CPU; rerun on a quiet machine');
}

// Loaded with `node --import THIS_FILE bin/gatedrnn.cjs ...` (HOOK_ENV set):
// only record the CLI process's event-loop utilisation and CPU time when it
// exits. Run directly: the benchmark.
if (process.env[HOOK_ENV]) {
  const file = process.env[HOOK_ENV];
  process.on('exit', () => {
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    fs.writeFileSync(file, JSON.stringify({ activeMs: elu.active, idleMs: elu.idle, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
