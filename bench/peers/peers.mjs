// Peer comparison for bench/gru.mjs: gatedrnn's GRU next to ONNX Runtime
// (onnxruntime-node), PyTorch (nn.GRU through bench/peers/torch_gru.py) and,
// when installed outside the repo, TensorFlow.js on its wasm backend, on the
// same shapes and thread counts, in interleaved rounds.
//
// - gatedrnn: the native backend, `layers.gru` (resetAfter, seeded weights).
//   `fwd` = `apply(x)`; `train` = `apply(x, {training: true})`,
//   `backward(dOutput)`, then an SGD update through `train.sgd` and
//   `adoptWeights` (what model.fit's step does, lib/training/trainer.ts).
// - ONNX Runtime: the same layer exported by the library
//   (`modelToOnnx(sequential([gru]))`: ONNX GRU with linear_before_reset
//   and the transposes to batch-first), `session.run`, intraOpNumThreads =
//   the thread count. Inference only (onnxruntime-node cannot train).
// - PyTorch: a python3 child (`torch_gru.py --serve`) with the same weights
//   (converted with `gruWeightsToTorch`), started with this process's
//   environment, so OpenBLAS makes the same kernel choice as gatedrnn's
//   (both use the system libopenblas). `fwd` under torch.no_grad(); `train`
//   = forward, backward(dOutput), SGD step.
// - TensorFlow.js wasm: `tf.layers.gru` has only the original form
//   (resetAfter false), so it gets those weights and is checked against
//   gatedrnn's `resetAfter: false` GRU; its time is compared with gatedrnn's
//   default GRU (the same FLOPs). Single-threaded (the wasm backend in Node
//   has no threads), fwd only, shapes S, M and D1 (L takes seconds a call).
//   It is looked up in $GATEDRNN_BENCH_TFJS (a folder whose node_modules has
//   @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm), then from the
//   package; it is never a dependency of the package.
//
// Every peer's output is checked against gatedrnn's before it is timed.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageRoot = path.resolve(here, '..', '..');
const TORCH_SCRIPT = path.join(here, 'torch_gru.py');
/** Output checks: largest |peer − gatedrnn| allowed (float32, different summation orders). */
export const CHECK_TOL = 1e-4;
/** SGD learning rate of the training steps: tiny, so the weights hardly move over many steps. */
const LEARNING_RATE = 1e-6;
/** Shapes tfjs wasm runs (L and D2 take seconds per call). */
const TFJS_SHAPES = ['S', 'M', 'D1'];
/** Shapes whose training step is compared (the training goals: S, M, L). */
const TRAIN_SHAPES = ['S', 'M', 'L', 'D2'];

export const PEERS = [
  { key: 'ort', title: 'ORT' },
  { key: 'torch', title: 'PyTorch' },
  { key: 'tfjs', title: 'tfjs-wasm' },
];

// ---------------------------------------------------------------- discovery

/** onnxruntime-node from the package's node_modules (a devDependency), or a reason. */
function findOrt() {
  try {
    const ort = createRequire(path.join(packageRoot, 'package.json'))('onnxruntime-node');
    const version = (() => {
      try {
        return createRequire(path.join(packageRoot, 'package.json'))('onnxruntime-node/package.json').version;
      } catch {
        return '?';
      }
    })();
    return { ort, version };
  } catch (e) {
    return { error: `not installed (npm install --save-dev onnxruntime-node@1.16.3; ${e.code ?? e.message})` };
  }
}

/** A python3 that imports torch: $GATEDRNN_BENCH_PYTHON, python3 on the PATH, /usr/bin/python3. */
function findTorchPython() {
  const candidates = [process.env.GATEDRNN_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  for (const py of [...new Set(candidates)]) {
    const r = spawnSync(py, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8', timeout: 60000 });
    if (r.status === 0) return { python: py, version: r.stdout.trim() };
  }
  return { error: 'not installed (apt-get install python3-torch)' };
}

/** tfjs + its wasm backend, from $GATEDRNN_BENCH_TFJS or the package; never installed by the bench. */
async function findTfjs() {
  const dirs = [process.env.GATEDRNN_BENCH_TFJS, packageRoot].filter(Boolean);
  for (const dir of dirs) {
    const req = createRequire(path.join(path.resolve(dir), 'package.json'));
    let tf;
    try {
      // tfjs greets Node users on console.warn when it loads; keep the table clean.
      const warn = console.warn;
      console.warn = () => {};
      try {
        tf = req('@tensorflow/tfjs');
        req('@tensorflow/tfjs-backend-wasm');
      } finally {
        console.warn = warn;
      }
    } catch {
      continue;
    }
    const ok = await tf.setBackend('wasm');
    if (!ok) return { error: `@tensorflow/tfjs-backend-wasm in ${dir} failed to initialise` };
    await tf.ready();
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    return { tf, version: tf.version.tfjs, dir, simd, threads };
  }
  return { error: 'not installed (optional: npm install --prefix /tmp/tfjs-bench @tensorflow/tfjs @tensorflow/tfjs-backend-wasm, then GATEDRNN_BENCH_TFJS=/tmp/tfjs-bench)' };
}

// ---------------------------------------------------------------- PyTorch child

class TorchServer {
  constructor(python) {
    this.proc = spawn(python, [TORCH_SCRIPT, '--serve'], { env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.buffer = '';
    this.waiting = [];
    this.stderr = '';
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk) => {
      this.buffer += chunk;
      let i;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        const w = this.waiting.shift();
        if (w) w.resolve(JSON.parse(line));
      }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (c) => {
      this.stderr = (this.stderr + c).slice(-4000);
    });
    this.proc.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`torch_gru.py exited (${code}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  }

  request(obj) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.proc.stdin.write(`${JSON.stringify(obj)}\n`);
    }).then((r) => {
      if (r.error) throw new Error(`torch_gru.py: ${r.error}`);
      return r;
    });
  }

  /** Asks the child to quit and waits (at most 5 s) until it has exited. */
  close() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    const exited = new Promise((resolve) => {
      this.proc.once('exit', resolve);
      setTimeout(resolve, 5000).unref();
    });
    try {
      this.proc.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    } catch {
      /* already gone */
    }
    return exited;
  }
}

// ---------------------------------------------------------------- setup

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

/**
 * Finds the peers (in this process: its environment decides OpenBLAS's
 * kernel for PyTorch too) and prepares one workload per shape for each.
 * Returns {status: {ort, torch, tfjs}, work, close()}.
 */
export async function preparePeers(g, { shapes, SHAPES, randomArray, print }) {
  const status = {};
  const ortFound = findOrt();
  const torchFound = findTorchPython();
  const tfjsFound = await findTfjs();
  let torch = null;
  if (!torchFound.error) {
    torch = new TorchServer(torchFound.python);
    try {
      const info = await torch.request({ cmd: 'info' });
      status.torch = { ok: true, text: `PyTorch ${info.torch} (${torchFound.python}, python ${info.python}), OpenBLAS kernel ${info.blasCore}`, info };
    } catch (e) {
      status.torch = { ok: false, text: `PyTorch: failed to start (${e.message})` };
      torch.close();
      torch = null;
    }
  } else {
    status.torch = { ok: false, text: `PyTorch: ${torchFound.error}` };
  }
  status.ort = ortFound.error ? { ok: false, text: `ONNX Runtime: ${ortFound.error}` } : { ok: true, text: `onnxruntime-node ${ortFound.version}` };
  status.tfjs = tfjsFound.error
    ? { ok: false, text: `TensorFlow.js wasm: ${tfjsFound.error}` }
    : { ok: true, text: `TensorFlow.js ${tfjsFound.version} wasm (simd ${tfjsFound.simd}, threads ${tfjsFound.threads}; ${tfjsFound.dir})` };

  g.setBackend('native');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-bench-peers-'));
  const work = {};
  const checks = [];
  try {
    for (const name of shapes) {
      const { B, T, I, H } = SHAPES[name];
      const layer = g.layers.gru({ units: H, returnSequences: true, seed: 7 });
      const x = g.tensor(randomArray(B * T * I, 1), [B, T, I]);
      const dOutput = g.tensor(randomArray(B * T * H, 2), [B, T, H]);
      const ref = (await layer.apply(x)).dataSync();
      const sgd = g.train.sgd(LEARNING_RATE);
      const w = {
        name,
        ours: {
          fwd: async () => {
            await layer.apply(x);
          },
          train: async () => {
            await layer.apply(x, { training: true });
            await layer.backward(dOutput);
            const weights = layer.getWeights();
            const grads = layer.getGradients();
            sgd.applyGradients(weights.map((wt, k) => ({ name: `gru/${k}`, value: wt.view(), grad: grads[k].view() })));
            // As model.fit's training step does (lib/training/trainer.ts): the
            // updated arrays are handed over, not checked and copied again.
            layer.adoptWeights(weights);
          },
        },
        ort: null,
        torch: null,
        tfjs: null,
        check: {},
      };
      // The layer's weights before any training step: every peer starts from them.
      const weights = layer.getWeights();

      if (!ortFound.error) {
        const m = g.sequential({ layers: [g.layers.gru({ units: H, returnSequences: true, inputShape: [null, I] })] });
        m.layers[0].setWeights(weights);
        const bytes = g.modelToOnnx(m);
        const feedsData = x.view();
        const sessions = {};
        for (const t of [1, 2]) {
          sessions[t] = await ortFound.ort.InferenceSession.create(bytes, {
            intraOpNumThreads: t,
            interOpNumThreads: 1,
            executionMode: 'sequential',
            graphOptimizationLevel: 'all',
          });
        }
        const inputName = sessions[1].inputNames[0];
        const outputName = sessions[1].outputNames[0];
        const feeds = { [inputName]: new ortFound.ort.Tensor('float32', feedsData, [B, T, I]) };
        const out = await sessions[1].run(feeds);
        const diff = maxAbsDiff(out[outputName].data, ref);
        w.check.ort = diff;
        w.ort = { fwd: (t) => async () => void (await sessions[t].run(feeds)) };
      }

      if (torch) {
        const tw = g.gruWeightsToTorch(weights);
        const dir = path.join(tmp, name);
        fs.mkdirSync(dir);
        const put = (file, arr) => fs.writeFileSync(path.join(dir, file), Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength));
        put('weight_ih', tw.weight_ih.view());
        put('weight_hh', tw.weight_hh.view());
        put('bias_ih', tw.bias_ih.view());
        put('bias_hh', tw.bias_hh.view());
        put('x', x.view());
        put('dout', dOutput.view());
        put('ref', ref);
        const r = await torch.request({ cmd: 'setup', key: name, B, T, I, H, dir });
        w.check.torch = r.maxAbsDiff;
        w.torch = { key: name };
      }

      if (!tfjsFound.error && TFJS_SHAPES.includes(name)) {
        const tf = tfjsFound.tf;
        // tfjs has only resetAfter: false; check it against gatedrnn's layer of that form.
        const orig = g.layers.gru({ units: H, returnSequences: true, resetAfter: false, seed: 7 });
        const refOrig = (await orig.apply(x)).dataSync();
        const ow = orig.getWeights();
        // Zeros at construction (the weights are set just after; tfjs's orthogonal default is slow and warns).
        const tl = tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: 'sigmoid', kernelInitializer: 'zeros', recurrentInitializer: 'zeros', inputShape: [T, I] });
        const tx = tf.tensor3d(x.view(), [B, T, I]);
        tl.apply(tx).dispose();
        tl.setWeights(ow.map((t) => tf.tensor(t.view(), [...t.shape])));
        const y = tl.apply(tx);
        w.check.tfjs = maxAbsDiff(y.dataSync(), refOrig);
        y.dispose();
        w.tfjs = {
          fwd: () => async () => {
            const out = tl.apply(tx);
            out.dataSync();
            out.dispose();
          },
        };
      }
      const text = Object.entries(w.check)
        .map(([k, d]) => `${PEERS.find((p) => p.key === k).title} ${d.toExponential(1)}${d > CHECK_TOL ? ' MISMATCH' : ''}`)
        .join(', ');
      checks.push(`${name}: ${text || '(no peer)'}`);
      work[name] = w;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  print(`   peers: ${[status.ort, status.torch, status.tfjs].map((s) => s.text).join('; ')}`);
  print(`   output checks, max |peer - gatedrnn| before timing (tolerance ${CHECK_TOL}; tfjs against gatedrnn's resetAfter:false GRU): ${checks.join('; ')}`);
  return {
    status,
    work,
    tfjsThreads: !tfjsFound.error && tfjsFound.threads,
    torch,
    close: async () => {
      if (torch) await torch.close();
    },
  };
}

// ---------------------------------------------------------------- timing

/**
 * Interleaved rounds: in every round, for each shape, thread count and mode,
 * gatedrnn then each peer, one block each. The times of a row's blocks are
 * pooled over the rounds; the reported time is their median.
 */
export async function benchPeers(g, peers, ctx) {
  const { config, shapes, threads, rounds, peaks, SHAPES, forwardFlops, timeIt, cpuSnapshot, median, print, row: printRow } = ctx;
  const CLK_TCK = 100;
  const acc = new Map();
  const keyOf = (name, t, mode) => `${name}|${t}|${mode}`;
  const add = (k, sys, r) => {
    if (!acc.has(k)) acc.set(k, {});
    const e = acc.get(k);
    e[sys] ??= { times: [], others: [], blocks: [] };
    e[sys].times.push(...r.times);
    e[sys].blocks.push({ ms: median(r.times), runs: r.times.length, others: r.others ?? null });
    if (r.others !== null && r.others !== undefined) e[sys].others.push(r.others);
  };
  const policy = (round) =>
    round === 0 ? { warmup: 2, warmupMs: 300, minReps: 3, maxReps: 200, budgetMs: 500 } : { warmup: 1, warmupMs: 100, minReps: 3, maxReps: 200, budgetMs: 500 };

  /**
   * PyTorch times itself; others = machine busy − this process − the python
   * child (its CPU time over the whole request, warmup included).
   */
  async function timeTorch(key, mode, t, pol) {
    const a = cpuSnapshot();
    const r = await peers.torch.request({ cmd: 'time', key, mode, threads: t, ...pol });
    const b = cpuSnapshot();
    let others = null;
    if (a && b) {
      const wall = (b.t - a.t) / 1000;
      others = Math.max(0, ((b.busy - a.busy) / CLK_TCK - (b.own - a.own) - (r.cpuWithWarmup ?? r.cpu)) / wall);
    }
    return { times: r.times, others };
  }

  for (let round = 0; round < rounds; round++) {
    const pol = policy(round);
    const t0 = performance.now();
    for (const name of shapes) {
      const w = peers.work[name];
      for (const t of threads) {
        for (const mode of ['fwd', 'train']) {
          if (mode === 'train' && !TRAIN_SHAPES.includes(name)) continue;
          const k = keyOf(name, t, mode);
          const blocks = [
            [
              'ours',
              async () => {
                g.setNumThreads(t);
                return timeIt(w.ours[mode], pol);
              },
            ],
          ];
          if (w.ort && mode === 'fwd') blocks.push(['ort', () => timeIt(w.ort.fwd(t), pol)]);
          if (w.torch) blocks.push(['torch', () => timeTorch(w.torch.key, mode, t, pol)]);
          if (w.tfjs && mode === 'fwd' && (t === 1 || peers.tfjsThreads)) {
            // tfjs M takes ~0.6 s a call: 1 warmup and 3 runs.
            blocks.push(['tfjs', () => timeIt(w.tfjs.fwd(t), { ...pol, warmup: 1, warmupMs: 0, minReps: 3, maxReps: 3, budgetMs: 0 })]);
          }
          // The order rotates from round to round, so no system always runs
          // right after the same other one.
          for (let i = 0; i < blocks.length; i++) {
            const [sys, run] = blocks[(i + round) % blocks.length];
            add(k, sys, await run());
          }
        }
      }
    }
    print(`   round ${round + 1}/${rounds} done (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }

  const rows = [];
  for (const name of shapes) {
    for (const t of threads) {
      for (const mode of ['fwd', 'train']) {
        const e = acc.get(keyOf(name, t, mode));
        if (!e) continue;
        const msOf = (sys) => (e[sys] ? median(e[sys].times) : null);
        const ms = msOf('ours');
        const flops = forwardFlops(SHAPES[name]) * (mode === 'fwd' ? 1 : 3);
        const gflops = flops / (ms * 1e6);
        const others = Math.max(0, ...Object.values(e).flatMap((s) => s.others));
        const row = {
          config,
          threads: t,
          shape: name,
          mode,
          ms,
          runs: e.ours.times.length,
          gflops,
          peak: peaks ? peaks[t].gflops : null,
          pct: peaks ? (100 * gflops) / peaks[t].gflops : null,
          others,
          // Per round: the block's median, runs and others (JSON only).
          blocks: e.ours.blocks,
          peers: {},
        };
        for (const p of PEERS) {
          const pm = msOf(p.key);
          if (pm !== null) row.peers[p.key] = { ms: pm, runs: e[p.key].times.length, speedup: pm / ms, check: peers.work[name].check[p.key], blocks: e[p.key].blocks };
        }
        rows.push(row);
        printRow(row);
      }
    }
  }
  return rows;
}

// ---------------------------------------------------------------- table

export const PEER_COLUMNS = [
  { key: 'config', title: 'config (env)', width: 24, left: true },
  { key: 'threads', title: 'threads', width: 7 },
  { key: 'shape', title: 'shape', width: 20, left: true },
  { key: 'mode', title: 'mode', width: 5, left: true },
  { key: 'ms', title: 'gatedrnn ms', width: 11 },
  { key: 'gflops', title: 'GFLOP/s', width: 8 },
  { key: 'pct', title: '% peak', width: 6 },
  { key: 'ort', title: 'ORT ms', width: 8 },
  { key: 'ortX', title: 'vs ORT', width: 7 },
  { key: 'torch', title: 'PyTorch ms', width: 10 },
  { key: 'torchX', title: 'vs PyTorch', width: 10 },
  { key: 'tfjs', title: 'tfjs-wasm ms', width: 12 },
  { key: 'tfjsX', title: 'vs tfjs', width: 7 },
  { key: 'others', title: 'others', width: 6 },
];

const msText = (v) => (v >= 100 ? v.toFixed(1) : v.toFixed(2));

/** Cell text of a peer-table column. `?`: disturbed row (others > 0.2); `!`: the peer's output check failed. */
export function peerCell(key, row, shapeText) {
  const mark = row.others > 0.2 ? '?' : '';
  switch (key) {
    case 'config':
      return row.config;
    case 'threads':
      return String(row.threads);
    case 'shape':
      return shapeText(row.shape);
    case 'mode':
      return row.mode;
    case 'ms':
      return msText(row.ms);
    case 'gflops':
      return row.gflops.toFixed(1);
    case 'pct':
      return row.pct === null ? 'n/a' : `${row.pct.toFixed(0)}%`;
    case 'others':
      return row.others.toFixed(2);
    default: {
      const sys = key.replace(/X$/, '');
      const p = row.peers[sys];
      if (!p) return '—';
      const bad = p.check !== undefined && p.check > CHECK_TOL ? '!' : '';
      return key.endsWith('X') ? `${p.speedup.toFixed(2)}x${mark}${bad}` : msText(p.ms);
    }
  }
}
