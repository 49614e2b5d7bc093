/**
 * A character-level GRU language model on Jane Austen's "Pride and
 * Prejudice", trained with teacher forcing, then sampled one character at a
 * time with a `stateful: true` copy of the model.
 *
 *   npm run build:ts && node examples/charLM/run.mjs [--quick] [--save DIR]
 *
 * Model: Embedding(75 → 32) → GRU(returnSequences) → Dense(75, softmax) on
 * every timestep, sparseCategoricalCrossentropy against the next character.
 * Metric: bits per character on held-out chapters (56–61), against the
 * unigram and bigram models counted on the training chapters (1–55).
 * The last line of stdout is a JSON summary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, layers, optimizers, sequential, setNumThreads, setSeed, tensor } from 'gatedrnn';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const SAVE = argv.includes('--save') ? argv[argv.indexOf('--save') + 1] : null;
// One thread by default: at these sizes a second native thread gives no speed-up and doubles the
// CPU used, and on cores shared with other work it made runs 2-4x slower; `--threads N` to change.
const THREADS = argv.includes('--threads') ? Number(argv[argv.indexOf('--threads') + 1]) : 1;
setNumThreads(THREADS);

// Quick: a small model, ~100 updates (CI). Full: a larger model, several passes over the novel.
const CFG = QUICK
  ? { units: 128, embed: 32, seqLen: 64, batchSize: 32, epochs: 1, windowsPerEpoch: 3200, learningRate: 0.01 }
  : { units: 256, embed: 32, seqLen: 100, batchSize: 64, epochs: 6, windowsPerEpoch: Infinity, learningRate: 0.005 };
const SAMPLE_CHARS = QUICK ? 160 : 400;
const TEMPERATURE = 0.6;

const t0 = performance.now();
setSeed(42); // initial weights and the order of the windows in fit
let seed = 2024; // windows' offsets and sampling
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

// ---- data: characters → ids; chapters 1–55 train, 56–61 held out ----
const text = fs.readFileSync(path.join(HERE, 'pride_and_prejudice.txt'), 'utf8');
const vocab = [...new Set(text)].sort();
const V = vocab.length;
const charId = new Map(vocab.map((c, i) => [c, i]));
const ids = Uint8Array.from(text, (c) => charId.get(c));
const split = text.indexOf('\nChapter 56\n') + 1;
const trainIds = ids.subarray(0, split);
const testIds = ids.subarray(split);
console.log(`backend ${backendInfo().backend}, ${THREADS} thread(s)`);
console.log(`${text.length} characters, vocabulary ${V}; train: chapters 1-55 (${trainIds.length} chars), held out: chapters 56-61 (${testIds.length} chars)`);

// ---- baselines: unigram and bigram counts (add-one smoothing) on the training chapters ----
function ngramBitsPerChar() {
  const uni = new Float64Array(V).fill(1);
  const bi = new Float64Array(V * V).fill(1);
  for (let i = 0; i < trainIds.length; i++) {
    uni[trainIds[i]]++;
    if (i > 0) bi[trainIds[i - 1] * V + trainIds[i]]++;
  }
  const uniTotal = uni.reduce((a, b) => a + b, 0);
  const rowTotal = new Float64Array(V);
  for (let a = 0; a < V; a++) for (let b = 0; b < V; b++) rowTotal[a] += bi[a * V + b];
  let u = 0, b = 0;
  for (let i = 1; i < testIds.length; i++) {
    u -= Math.log2(uni[testIds[i]] / uniTotal);
    b -= Math.log2(bi[testIds[i - 1] * V + testIds[i]] / rowTotal[testIds[i - 1]]);
  }
  const n = testIds.length - 1;
  return { unigram: u / n, bigram: b / n };
}
const baselines = ngramBitsPerChar();
console.log(`baselines on the held-out chapters: unigram ${baselines.unigram.toFixed(3)} bits/char, bigram ${baselines.bigram.toFixed(3)} bits/char`);

// ---- teacher forcing: x = chars[s .. s+T), y = chars[s+1 .. s+T] ----
/** Windows of T+1 characters starting every T characters from `offset`; `limit` of them, in a random order when shuffle. */
function windows(source, T, offset, limit, shuffle) {
  const starts = [];
  for (let s = offset; s + T + 1 <= source.length; s += T) starts.push(s);
  if (shuffle) for (let i = starts.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [starts[i], starts[j]] = [starts[j], starts[i]]; }
  const n = Math.min(limit, starts.length);
  const x = new Float32Array(n * T), y = new Float32Array(n * T);
  for (let k = 0; k < n; k++) {
    for (let t = 0; t < T; t++) {
      x[k * T + t] = source[starts[k] + t];
      y[k * T + t] = source[starts[k] + t + 1];
    }
  }
  return { x: tensor(x, [n, T]), y: tensor(y, [n, T]), n };
}

// ---- the model ----
function buildModel({ stateful }) {
  return sequential({
    layers: [
      // The generator reads one sequence (batch 1) of any length per call.
      layers.embedding({ inputDim: V, outputDim: CFG.embed, ...(stateful ? { batchInputShape: [1, null] } : { inputShape: [null] }) }),
      layers.gru({ units: CFG.units, returnSequences: !stateful, stateful }),
      layers.dense({ units: V, activation: 'softmax' }), // on (B, T, H): one distribution per timestep
    ],
  });
}
const lm = buildModel({ stateful: false });
lm.compile({ optimizer: optimizers.adam({ learningRate: CFG.learningRate, clipnorm: 5 }), loss: 'sparseCategoricalCrossentropy' });
lm.summary(90);

const T = CFG.seqLen;
const held = windows(testIds, T, 0, Infinity, false);
const heldOutBits = async () => ((await (await lm.evaluate(held.x, held.y, { batchSize: 256 })).data())[0] / Math.LN2);

const tTrain = performance.now();
for (let epoch = 1; epoch <= CFG.epochs; epoch++) {
  const w = windows(trainIds, T, Math.floor(random() * T), CFG.windowsPerEpoch, true);
  const h = await lm.fit(w.x, w.y, { epochs: 1, batchSize: CFG.batchSize, verbose: QUICK ? 0 : 1 });
  console.log(`epoch ${epoch}/${CFG.epochs}: ${w.n} windows of ${T}, train ${(h.history.loss[0] / Math.LN2).toFixed(3)} bits/char, held out ${(await heldOutBits()).toFixed(3)} bits/char`);
}
const trainSeconds = (performance.now() - tTrain) / 1000;
const bitsPerChar = await heldOutBits();
console.log(`held-out bits/char ${bitsPerChar.toFixed(3)} (bigram ${baselines.bigram.toFixed(3)}, unigram ${baselines.unigram.toFixed(3)}); training ${trainSeconds.toFixed(1)} s`);
if (SAVE) {
  await lm.save(SAVE);
  fs.writeFileSync(path.join(SAVE, 'vocab.json'), JSON.stringify(vocab));
  console.log(`saved the model and vocab.json to ${SAVE}`);
}

// ---- generation with a stateful copy: batch 1, one character per call ----
const gen = buildModel({ stateful: true });
gen.setWeights(lm.getWeights()); // same weights: the layers and their order are the same

/** p(next char) after feeding `chars` (one call; the GRU keeps its state for the next call). */
async function feed(chars) {
  const x = tensor(Float32Array.from(chars), [1, chars.length]);
  return (await gen.predict(x, { batchSize: 1 })).data();
}

// Check: step-by-step with carried state = the whole sequence at once in the training model.
{
  const probe = [...'It is a truth universally acknowledged'].map((c) => charId.get(c));
  const full = await (await lm.predict(tensor(Float32Array.from(probe), [1, probe.length]))).data();
  gen.resetStates();
  let last;
  for (const c of probe) last = await feed([c]);
  let diff = 0;
  for (let j = 0; j < V; j++) diff = Math.max(diff, Math.abs(last[j] - full[(probe.length - 1) * V + j]));
  console.log(`stateful, one character per call = whole sequence in the training model: max |dp| = ${diff.toExponential(1)}`);
  if (diff > 1e-4) throw new Error('the stateful generator disagrees with the trained model');
}

function sampleFrom(p) {
  // p^(1/temperature), renormalised
  let total = 0;
  const w = Array.from(p, (v) => { const e = Math.pow(Math.max(v, 1e-12), 1 / TEMPERATURE); total += e; return e; });
  let r = random() * total;
  for (let j = 0; j < w.length; j++) if ((r -= w[j]) <= 0) return j;
  return w.length - 1;
}

const tGen = performance.now();
const samples = [];
for (const prompt of ['It is a truth universally acknowledged', 'Mr. Darcy']) {
  gen.resetStates(); // each sample starts from a zero state
  let p = await feed([...prompt].map((c) => charId.get(c))); // the whole prompt in one call
  let out = prompt;
  for (let i = 0; i < SAMPLE_CHARS; i++) {
    const c = sampleFrom(p);
    out += vocab[c];
    p = await feed([c]); // one character; the state carries over
  }
  samples.push(out);
  console.log(`\n--- sample (temperature ${TEMPERATURE}) ---\n${out}\n`);
}
const genMs = (performance.now() - tGen) / (2 * SAMPLE_CHARS);

const seconds = (performance.now() - t0) / 1000;
console.log(`generation: ${genMs.toFixed(2)} ms per character; total ${seconds.toFixed(1)} s`);
console.log(JSON.stringify({
  example: 'charLM',
  mode: QUICK ? 'quick' : 'full',
  metric: 'heldOutBitsPerChar',
  lowerIsBetter: true,
  value: Number(bitsPerChar.toFixed(4)),
  baseline: Number(baselines.bigram.toFixed(4)),
  baselineName: 'bigram (add-one)',
  unigram: Number(baselines.unigram.toFixed(4)),
  params: lm.countParams(),
  threads: THREADS,
  trainSeconds: Number(trainSeconds.toFixed(1)),
  seconds: Number(seconds.toFixed(1)),
  beatsBaseline: bitsPerChar < baselines.bigram,
}));
