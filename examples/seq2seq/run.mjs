/**
 * An encoder–decoder (sequence to sequence) that learns to add numbers
 * written as digit strings: "535+61" → "596".
 *
 *   npm run build:ts && node examples/seq2seq/run.mjs [--quick]
 *
 * Functional API: the encoder GRU reads the question and returns its last
 * state; the decoder GRU starts from that state and, in training, reads the
 * answer shifted by one (teacher forcing) to predict every next character.
 * At inference the same layers are wired into two small models (encoder:
 * question → state; decoder step: previous character + state → next
 * character + state) and the answer is decoded greedily, one character per
 * step, for the whole test set at once. The last line of stdout is a JSON
 * summary: exact-answer accuracy on unseen questions against trivial baselines.
 */
import { backendInfo, input, layers, model, optimizers, schedules, setNumThreads, setSeed, tensor } from 'gatedrnn';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
// One thread by default: at these sizes a second native thread gives no speed-up and doubles the
// CPU used, and on cores shared with other work it made runs 2-4x slower; `--threads N` to change.
const THREADS = argv.includes('--threads') ? Number(argv[argv.indexOf('--threads') + 1]) : 1;
setNumThreads(THREADS);
// Quick: numbers up to 2 digits. Full: up to 3 digits (the Keras addition example's task).
const CFG = QUICK
  ? { digits: 2, train: 5000, test: 1000, units: 128, embed: 32, epochs: 6, batchSize: 64, learningRate: 0.01 }
  : { digits: 3, train: 50000, test: 5000, units: 128, embed: 32, epochs: 20, batchSize: 64, learningRate: 0.005 };
const D = CFG.digits;
const SRC_LEN = 2 * D + 1; // "123+456"
const TGT_LEN = D + 1; // "579 " (padded with spaces)

const t0 = performance.now();
setSeed(7);
let seed = 12345;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

// ---- vocabularies: 0 is the space (padding), 1..10 the digits; the question also has '+', the answer a start token ----
const PAD = 0, PLUS = 11, START = 11;
const SRC_VOCAB = 12, TGT_VOCAB = 12;
const digitId = (c) => (c === ' ' ? PAD : 1 + Number(c));
const idChar = (i) => (i === PAD ? ' ' : i >= 1 && i <= 10 ? String(i - 1) : '?');

// ---- data: distinct questions, none shared between train and test ----
function randomNumber() {
  const len = 1 + Math.floor(random() * D);
  let s = '';
  for (let i = 0; i < len; i++) s += Math.floor(random() * 10);
  return Number(s);
}
const seen = new Set();
function questions(n) {
  const out = [];
  while (out.length < n) {
    const a = randomNumber(), b = randomNumber();
    const key = `${a}+${b}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push([a, b]);
  }
  return out;
}
const trainQ = questions(CFG.train), testQ = questions(CFG.test);
console.log(`backend ${backendInfo().backend}, ${THREADS} thread(s)`);
console.log(`adding numbers of up to ${D} digits: ${trainQ.length} training questions, ${testQ.length} unseen test questions`);

/** Question ids, reversed as in the Keras example (the digits the answer starts with are read last); answer ids padded. */
function encode(pairs) {
  const n = pairs.length;
  const q = new Float32Array(n * SRC_LEN), decIn = new Float32Array(n * TGT_LEN), target = new Float32Array(n * TGT_LEN);
  pairs.forEach(([a, b], i) => {
    const chars = `${a}+${b}`.padEnd(SRC_LEN, ' ').split('').reverse();
    chars.forEach((c, t) => (q[i * SRC_LEN + t] = c === '+' ? PLUS : digitId(c)));
    const ans = String(a + b).padEnd(TGT_LEN, ' ');
    for (let t = 0; t < TGT_LEN; t++) {
      target[i * TGT_LEN + t] = digitId(ans[t]);
      decIn[i * TGT_LEN + t] = t === 0 ? START : digitId(ans[t - 1]); // teacher forcing: the true previous character
    }
  });
  return { q: tensor(q, [n, SRC_LEN]), decIn: tensor(decIn, [n, TGT_LEN]), target: tensor(target, [n, TGT_LEN]), n };
}
const train = encode(trainQ), test = encode(testQ);

// ---- the training model ----
const question = input({ shape: [null], name: 'question' });
const previous = input({ shape: [null], name: 'previous_chars' });
const encEmbed = layers.embedding({ inputDim: SRC_VOCAB, outputDim: CFG.embed, name: 'encoder_embedding' });
const encGru = layers.gru({ units: CFG.units, returnState: true, name: 'encoder' });
const decEmbed = layers.embedding({ inputDim: TGT_VOCAB, outputDim: CFG.embed, name: 'decoder_embedding' });
const decGru = layers.gru({ units: CFG.units, returnSequences: true, returnState: true, name: 'decoder' });
const readout = layers.dense({ units: TGT_VOCAB, activation: 'softmax', name: 'next_char' });

const [, encState] = encGru.apply(encEmbed.apply(question));
const [decSeq] = decGru.apply(decEmbed.apply(previous), { initialState: encState });
const seq2seq = model({ inputs: [question, previous], outputs: readout.apply(decSeq), name: 'seq2seq' });
// Adam with the learning rate decaying to 2% of its start along a cosine over the whole run.
const learningRate = schedules.cosineDecay({ initialLearningRate: CFG.learningRate, decaySteps: CFG.epochs * Math.ceil(CFG.train / CFG.batchSize), alpha: 0.02 });
seq2seq.compile({ optimizer: optimizers.adam({ learningRate, clipnorm: 5 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
seq2seq.summary(100);

// ---- inference: the same layer objects (so the same weights), wired step by step ----
const encoder = model({ inputs: question, outputs: encState, name: 'encoder_model' });
const stepChar = input({ shape: [1], name: 'step_char' });
const stepState = input({ shape: [CFG.units], name: 'step_state' });
const [stepSeq, stepNext] = decGru.apply(decEmbed.apply(stepChar), { initialState: stepState });
const decoderStep = model({ inputs: [stepChar, stepState], outputs: [readout.apply(stepSeq), stepNext], name: 'decoder_step' });

/** Greedy decoding of a batch of questions: TGT_LEN decoder steps, each one predict call for all rows. */
async function decode(q, n) {
  let state = await encoder.predict(q, { batchSize: 1024 });
  let prev = new Float32Array(n).fill(START);
  const answers = Array.from({ length: n }, () => []);
  for (let t = 0; t < TGT_LEN; t++) {
    const [probs, next] = await decoderStep.predict([tensor(prev, [n, 1]), state], { batchSize: 1024 });
    const p = await probs.data();
    prev = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < TGT_VOCAB; j++) if (p[i * TGT_VOCAB + j] > p[i * TGT_VOCAB + best]) best = j;
      prev[i] = best;
      answers[i].push(best);
    }
    state = next;
  }
  return answers.map((a) => a.map(idChar).join(''));
}

function exactAccuracy(answers, pairs) {
  let ok = 0;
  pairs.forEach(([a, b], i) => { if (answers[i] === String(a + b).padEnd(TGT_LEN, ' ')) ok++; });
  return ok / pairs.length;
}

// ---- baselines: the most frequent training answer; adding digit by digit without carrying ----
function baselines() {
  const counts = new Map();
  for (const [a, b] of trainQ) counts.set(a + b, (counts.get(a + b) ?? 0) + 1);
  const mode = [...counts].sort((x, y) => y[1] - x[1])[0][0];
  const noCarry = (a, b) => {
    const x = String(a).padStart(D, '0'), y = String(b).padStart(D, '0');
    return Number([...x].map((c, i) => (Number(c) + Number(y[i])) % 10).join(''));
  };
  return {
    mostFrequent: testQ.filter(([a, b]) => a + b === mode).length / testQ.length,
    noCarry: testQ.filter(([a, b]) => a + b === noCarry(a, b)).length / testQ.length,
  };
}
const base = baselines();
const baseline = Math.max(base.mostFrequent, base.noCarry);
console.log(`baselines (exact answers on the test questions): most frequent answer ${(100 * base.mostFrequent).toFixed(1)}%, digit-wise sum without carries ${(100 * base.noCarry).toFixed(1)}%`);

const tTrain = performance.now();
let accuracy = 0;
const every = QUICK ? CFG.epochs : 5;
for (let done = 0; done < CFG.epochs; done += every) {
  const h = await seq2seq.fit([train.q, train.decIn], train.target, { epochs: Math.min(every, CFG.epochs - done), batchSize: CFG.batchSize, verbose: QUICK ? 0 : 1 });
  accuracy = exactAccuracy(await decode(test.q, test.n), testQ);
  const last = h.history.loss.length - 1;
  console.log(`epoch ${done + h.history.loss.length}/${CFG.epochs}: loss ${h.history.loss[last].toFixed(4)}, per-character accuracy (teacher forced) ${(100 * h.history.accuracy[last]).toFixed(1)}%, exact answers (greedy decoding, unseen) ${(100 * accuracy).toFixed(1)}%`);
}
const trainSeconds = (performance.now() - tTrain) / 1000;

// The step decoder uses the trained weights: fed the true previous characters it gives the training model's probabilities.
{
  const n = 8, q = tensor((await test.q.data()).slice(0, n * SRC_LEN), [n, SRC_LEN]);
  const prevIds = (await test.decIn.data()).slice(0, n * TGT_LEN);
  const forced = await (await seq2seq.predict([q, tensor(prevIds, [n, TGT_LEN])])).data();
  let state = await encoder.predict(q), diff = 0;
  for (let t = 0; t < TGT_LEN; t++) {
    const col = Float32Array.from({ length: n }, (_, i) => prevIds[i * TGT_LEN + t]);
    const [p, next] = await decoderStep.predict([tensor(col, [n, 1]), state]);
    const pv = await p.data();
    for (let i = 0; i < n; i++) for (let j = 0; j < TGT_VOCAB; j++) diff = Math.max(diff, Math.abs(pv[i * TGT_VOCAB + j] - forced[(i * TGT_LEN + t) * TGT_VOCAB + j]));
    state = next;
  }
  console.log(`step-by-step decoder = teacher-forced training model: max |dp| = ${diff.toExponential(1)}`);
  if (diff > 1e-4) throw new Error('the step decoder disagrees with the trained model');
}

const shown = testQ.slice(0, 8);
const shownAnswers = await decode(tensor((await test.q.data()).slice(0, 8 * SRC_LEN), [8, SRC_LEN]), 8);
for (const [i, [a, b]] of shown.entries()) {
  const right = shownAnswers[i] === String(a + b).padEnd(TGT_LEN, ' ');
  console.log(`  ${`${a}+${b}`.padStart(SRC_LEN)} = ${shownAnswers[i]} ${right ? 'ok' : `(wrong: ${a + b})`}`);
}

const seconds = (performance.now() - t0) / 1000;
console.log(`exact answers ${(100 * accuracy).toFixed(1)}% against ${(100 * baseline).toFixed(1)}% for the best baseline; training ${trainSeconds.toFixed(1)} s, total ${seconds.toFixed(1)} s`);
console.log(JSON.stringify({
  example: 'seq2seq',
  mode: QUICK ? 'quick' : 'full',
  task: `addition, up to ${D} digits`,
  metric: 'exactSequenceAccuracy',
  value: Number(accuracy.toFixed(4)),
  baseline: Number(baseline.toFixed(4)),
  baselineName: base.noCarry >= base.mostFrequent ? 'digit-wise sum without carries' : 'most frequent answer',
  baselines: { mostFrequentAnswer: Number(base.mostFrequent.toFixed(4)), noCarry: Number(base.noCarry.toFixed(4)) },
  params: seq2seq.countParams(),
  threads: THREADS,
  trainSeconds: Number(trainSeconds.toFixed(1)),
  seconds: Number(seconds.toFixed(1)),
  beatsBaseline: accuracy > baseline,
}));
