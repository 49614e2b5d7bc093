/**
 * GRU against LSTM on the same task, side by side: test accuracy,
 * parameters (model.countParams()), training time and prediction time.
 *
 *   npm run build:ts && node examples/gruVsLstm/run.mjs [--quick] [--threads N]
 *
 * Task: the primate splice-junction DNA sequences (60 nucleotides, one-hot,
 * 3 classes: exon→intron, intron→exon, neither); the full run also reads the
 * 8×8 handwritten digits row by row (8 steps of 8 pixels, 10 classes).
 * Both models are the same but for the recurrent layer:
 *
 *   GRU | LSTM (units, returnSequences) → Flatten → Dense(classes, softmax)
 *
 * trained with Adam on a cosine-decayed learning rate, the same seeds, data
 * order, epochs and batch size. The last line of stdout is a JSON summary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, layers, optimizers, schedules, sequential, setNumThreads, setSeed, tensor } from 'gatedrnn';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
// One thread by default: at these sizes a second native thread gives no speed-up and doubles the
// CPU used, and on cores shared with other work it made runs 2-4x slower; `--threads N` to change.
const THREADS = argv.includes('--threads') ? Number(argv[argv.indexOf('--threads') + 1]) : 1;
setNumThreads(THREADS);

const t0 = performance.now();
const csv = (file) => fs.readFileSync(path.join(HERE, file), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));

// ---- tasks: data, split, baselines ----
function dnaTask() {
  // id < 2549 train, id >= 2549 test: the split suggested in the dataset's README.
  // The data (and its credit) lives once, in the dnaSplice and digitsRows examples.
  const rows = csv('../dnaSplice/dna_splice.csv');
  const CLASSES = ['ei', 'ie', 'n'], BASES = 'ACGT', T = 60;
  const encode = (rs) => {
    const x = new Float32Array(rs.length * T * 4), y = new Float32Array(rs.length);
    rs.forEach(([, s, label], i) => {
      for (let t = 0; t < T; t++) x[(i * T + t) * 4 + BASES.indexOf(s[t])] = 1;
      y[i] = CLASSES.indexOf(label);
    });
    return { x: tensor(x, [rs.length, T, 4]), y: tensor(y, [rs.length]), n: rs.length, head: (k) => ({ x: tensor(x.slice(0, k * T * 4), [k, T, 4]), y: tensor(y.slice(0, k), [k]) }) };
  };
  const trainRows = rows.filter((r) => Number(r[0]) < 2549), testRows = rows.filter((r) => Number(r[0]) >= 2549);
  // The consensus rule from the dataset's README: GT at 31–32 → donor (ei), else AG at 29–30 → acceptor (ie), else neither.
  const rule = (s) => (s.slice(30, 32) === 'GT' ? 'ei' : s.slice(28, 30) === 'AG' ? 'ie' : 'n');
  const ruleAccuracy = testRows.filter(([, s, label]) => rule(s) === label).length / testRows.length;
  return {
    name: 'dna',
    title: 'DNA splice junctions (60 steps x 4, 3 classes)',
    train: encode(trainRows), test: encode(testRows),
    inputShape: [T, 4], classes: 3,
    units: QUICK ? 16 : 32, epochs: QUICK ? 8 : 20, batchSize: 32, learningRate: 0.005,
    baseline: { name: 'consensus rule (GT/AG at the junction)', value: ruleAccuracy },
    reference: { name: 'softmax regression on the one-hot (dataset README)', value: 0.94 },
  };
}

function digitsTask() {
  // id < 1437 train, id >= 1437 test; pixels 0..16 scaled to [0, 1]; image row r = timestep r.
  const rows = csv('../digitsRows/digits.csv').map((r) => r.map(Number));
  const encode = (rs) => {
    const x = new Float32Array(rs.length * 64), y = new Float32Array(rs.length);
    rs.forEach((r, i) => {
      for (let k = 0; k < 64; k++) x[i * 64 + k] = r[1 + k] / 16;
      y[i] = r[65];
    });
    return { x: tensor(x, [rs.length, 8, 8]), y: tensor(y, [rs.length]), n: rs.length, head: (k) => ({ x: tensor(x.slice(0, k * 64), [k, 8, 8]), y: tensor(y.slice(0, k), [k]) }) };
  };
  return {
    name: 'digits',
    title: 'handwritten digits read row by row (8 steps x 8, 10 classes)',
    train: encode(rows.filter((r) => r[0] < 1437)), test: encode(rows.filter((r) => r[0] >= 1437)),
    inputShape: [8, 8], classes: 10,
    units: 32, epochs: 20, batchSize: 32, learningRate: 0.01,
    baseline: { name: 'logistic regression on the 64 pixels (scikit-learn, dataset README)', value: 0.903 },
    reference: null,
  };
}

// ---- one model, trained and timed ----
async function run(task, kind, seed, { warmUp = false } = {}) {
  setSeed(seed);
  const rnn = (kind === 'gru' ? layers.gru : layers.lstm)({ units: task.units, returnSequences: true, inputShape: task.inputShape });
  const m = sequential({ layers: [rnn, layers.flatten(), layers.dense({ units: task.classes, activation: 'softmax' })] });
  const steps = task.epochs * Math.ceil(task.train.n / task.batchSize);
  m.compile({
    optimizer: optimizers.adam({ learningRate: schedules.cosineDecay({ initialLearningRate: task.learningRate, decaySteps: steps, alpha: 0.02 }) }),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  if (warmUp) {
    // Untimed: the first calls pay for JIT compilation and fresh buffers.
    const few = task.train.head(4 * task.batchSize);
    await m.fit(few.x, few.y, { epochs: 2, batchSize: task.batchSize, verbose: 0 });
    await m.predict(task.test.x, { batchSize: 256 });
    return null;
  }
  const tFit = performance.now(), cpuFit = process.cpuUsage();
  await m.fit(task.train.x, task.train.y, { epochs: task.epochs, batchSize: task.batchSize, verbose: 0 });
  const trainSeconds = (performance.now() - tFit) / 1000;
  // CPU time of the process (all threads): steadier than wall time on a machine shared with other jobs.
  const cpu = process.cpuUsage(cpuFit);
  const trainCpuSeconds = (cpu.user + cpu.system) / 1e6;
  const tPredict = performance.now();
  const probs = await (await m.predict(task.test.x, { batchSize: 256 })).data();
  const predictMs = performance.now() - tPredict;
  const labels = await task.test.y.data();
  let right = 0;
  for (let i = 0; i < task.test.n; i++) {
    let best = 0;
    for (let c = 1; c < task.classes; c++) if (probs[i * task.classes + c] > probs[i * task.classes + best]) best = c;
    if (best === labels[i]) right++;
  }
  return { accuracy: right / task.test.n, params: m.countParams(), trainSeconds, trainCpuSeconds, predictMs };
}

const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const pct = (v) => `${(100 * v).toFixed(1)}%`;

console.log(`backend ${backendInfo().backend}, ${THREADS} thread(s)`);
const tasks = QUICK ? [dnaTask()] : [dnaTask(), digitsTask()];
const seeds = QUICK ? [1] : [1, 2, 3];
const summary = {};
for (const task of tasks) {
  console.log(`\n${task.title}: ${task.train.n} training and ${task.test.n} test sequences; ${task.units} units, ${task.epochs} epochs, batch ${task.batchSize}, seeds ${seeds.join(', ')}`);
  const results = { gru: [], lstm: [] };
  for (const kind of ['gru', 'lstm']) await run(task, kind, 0, { warmUp: true });
  for (const [i, seed] of seeds.entries()) {
    // Alternate which one goes first, so neither always runs on a warmer (or busier) machine.
    for (const kind of i % 2 === 0 ? ['gru', 'lstm'] : ['lstm', 'gru']) {
      const r = await run(task, kind, seed);
      results[kind].push(r);
      console.log(`  ${kind.toUpperCase().padEnd(4)} seed ${seed}: test accuracy ${pct(r.accuracy)}, training ${r.trainSeconds.toFixed(1)} s (CPU ${r.trainCpuSeconds.toFixed(1)} s)`);
    }
  }
  const rows = ['gru', 'lstm'].map((kind) => {
    const rs = results[kind];
    const acc = rs.map((r) => r.accuracy);
    return {
      kind,
      params: rs[0].params,
      accuracy: mean(acc),
      min: Math.min(...acc),
      max: Math.max(...acc),
      trainSeconds: mean(rs.map((r) => r.trainSeconds)),
      trainCpuSeconds: mean(rs.map((r) => r.trainCpuSeconds)),
      epochMs: (1000 * mean(rs.map((r) => r.trainSeconds))) / task.epochs,
      predictMs: mean(rs.map((r) => r.predictMs)),
    };
  });
  console.log(`\n| ${task.name} | params | test accuracy${seeds.length > 1 ? ' (mean, min-max)' : ''} | training (s) | training CPU (s) | per epoch (ms) | predict ${task.test.n} (ms) |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const acc = seeds.length > 1 ? `${pct(r.accuracy)} (${pct(r.min)}-${pct(r.max)})` : pct(r.accuracy);
    console.log(`| ${r.kind.toUpperCase()}(${task.units}) | ${r.params} | ${acc} | ${r.trainSeconds.toFixed(1)} | ${r.trainCpuSeconds.toFixed(1)} | ${r.epochMs.toFixed(0)} | ${r.predictMs.toFixed(0)} |`);
  }
  console.log(`| baseline: ${task.baseline.name} | | ${pct(task.baseline.value)} | | | | |`);
  if (task.reference) console.log(`| reference: ${task.reference.name} | | ${pct(task.reference.value)} | | | | |`);
  summary[task.name] = {
    baseline: task.baseline.value,
    ...Object.fromEntries(rows.map((r) => [r.kind, { params: r.params, accuracy: Number(r.accuracy.toFixed(4)), min: Number(r.min.toFixed(4)), trainSeconds: Number(r.trainSeconds.toFixed(2)), trainCpuSeconds: Number(r.trainCpuSeconds.toFixed(2)), predictMs: Number(r.predictMs.toFixed(1)) }])),
  };
}

const dna = summary.dna;
const seconds = (performance.now() - t0) / 1000;
console.log(`\ntotal ${seconds.toFixed(1)} s`);
console.log(JSON.stringify({
  example: 'gruVsLstm',
  mode: QUICK ? 'quick' : 'full',
  metric: 'dnaTestAccuracy (worse of GRU and LSTM, mean over seeds)',
  value: Math.min(dna.gru.accuracy, dna.lstm.accuracy),
  baseline: Number(dna.baseline.toFixed(4)),
  baselineName: 'consensus rule (GT/AG at the junction)',
  results: summary,
  threads: THREADS,
  seconds: Number(seconds.toFixed(1)),
  beatsBaseline: Object.values(summary).every((t) => t.gru.min > t.baseline && t.lstm.min > t.baseline),
}));
