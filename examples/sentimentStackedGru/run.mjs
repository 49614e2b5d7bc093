/**
 * Stacked GRUs for binary classification: is a review sentence positive?
 *
 *   Embedding(maskZero) → Dropout → GRU(returnSequences) → GRU → Dense(1, sigmoid)
 *   binary cross-entropy, accuracy, validation data, early stopping
 *
 *   npm run build:ts && node examples/sentimentStackedGru/run.mjs [--quick] [--seed N]
 *
 * Data: 3000 sentences from Amazon, IMDB and Yelp reviews, labelled 1
 * (positive) or 0 (negative) (UCI "Sentiment Labelled Sentences", Kotzias et
 * al. 2015, CC BY 4.0; see README.md). Words are lower-cased runs of letters
 * and digits (plus "!" and "?"), the vocabulary comes from the training
 * sentences of each fold, and sentences are padded with 0 (masked) to 32
 * words.
 *
 * The full run is a 5-fold cross-validation (the protocol of the data set's
 * reference scores): for each fold the model trains on the other four, minus
 * 10 % held out as validation data for early stopping, and is tested on the
 * fold. --quick runs the first fold only (a few seconds). The last line on
 * stdout is the result as JSON.
 */
import { callbacks, getBackend, layers, sequential, setSeed, tensor, train } from 'gatedrnn';
// The sentences, their tokens, the README's baseline and the fold order: shared with the other sentiment example.
import { BASELINE, REFERENCE, permutation, rows, words } from './sentences.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const seed = args.includes('--seed') ? Number(args[args.indexOf('--seed') + 1]) : 1;
const log = (s) => process.stderr.write(`${s}\n`);

const FOLDS = 5;
const MAX_LEN = 32;
const HP = { embedding: 16, units: 16, dropout: 0.5, learningRate: 0.003, batchSize: 32, epochs: 8, patience: 2 };
// The data set's README: the AFINN word-list scorer of the `sentiment` npm package gets 72.6 / 76.5 /
// 69.6 % on amazon / imdb / yelp (1000 sentences each, so 72.9 % on all 3000); TF-IDF (1-2-grams) +
// logistic regression gets 81.4 % in 5-fold cross-validation.
const order = permutation(rows.length, seed);
const correctBySource = { amazon: [0, 0], imdb: [0, 0], yelp: [0, 0] };
const foldAccuracy = [];
const t0 = Date.now();
for (let fold = 0; fold < (quick ? 1 : FOLDS); fold++) {
  const test = order.filter((_, i) => i % FOLDS === fold);
  const rest = order.filter((_, i) => i % FOLDS !== fold);
  const nVal = Math.round(rest.length * 0.1);
  const val = rest.slice(0, nVal);
  const tr = rest.slice(nVal);

  // Vocabulary of the training sentences, most frequent first; 0 = padding, 1 = unknown word.
  const counts = new Map();
  for (const i of tr) for (const w of words[i]) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
  const id = new Map(vocab.map((w, k) => [w, k + 2]));
  const ids = (idx) => {
    const x = new Float32Array(idx.length * MAX_LEN);
    idx.forEach((i, k) => words[i].slice(0, MAX_LEN).forEach((w, t) => (x[k * MAX_LEN + t] = id.get(w) ?? 1)));
    return tensor(x, [idx.length, MAX_LEN]);
  };
  const labels = (idx) => tensor(Float32Array.from(idx, (i) => rows[i].label), [idx.length, 1]);

  setSeed(seed * 100 + fold);
  const model = sequential({
    layers: [
      layers.embedding({ inputDim: vocab.length + 2, outputDim: HP.embedding, maskZero: true, inputShape: [MAX_LEN] }),
      layers.dropout({ rate: HP.dropout }),
      layers.gru({ units: HP.units, returnSequences: true }),
      layers.gru({ units: HP.units }),
      layers.dense({ units: 1, activation: 'sigmoid' }),
    ],
  });
  model.compile({ optimizer: train.adam(HP.learningRate), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  if (fold === 0) log(`sentiment: Embedding(${vocab.length + 2}, ${HP.embedding}) → Dropout(${HP.dropout}) → GRU(${HP.units}, returnSequences) → GRU(${HP.units}) → Dense(1, sigmoid); backend ${getBackend()}${quick ? ', quick mode (fold 1 only)' : ''}`);
  const history = await model.fit(ids(tr), labels(tr), {
    epochs: HP.epochs,
    batchSize: HP.batchSize,
    validationData: [ids(val), labels(val)],
    verbose: 0,
    callbacks: [callbacks.earlyStopping({ monitor: 'val_loss', patience: HP.patience, restoreBestWeights: true })],
  });
  const p = (await model.predict(ids(test))).dataSync();
  let correct = 0;
  test.forEach((i, k) => {
    const ok = (p[k] > 0.5 ? 1 : 0) === rows[i].label;
    correct += ok ? 1 : 0;
    correctBySource[rows[i].source][0] += ok ? 1 : 0;
    correctBySource[rows[i].source][1] += 1;
  });
  foldAccuracy.push(correct / test.length);
  const h = history.history;
  log(`fold ${fold + 1}/${FOLDS}: ${tr.length} train / ${val.length} validation / ${test.length} test; ${history.epoch.length} epochs (val_accuracy ${h.val_accuracy.map((v) => v.toFixed(3)).join(' ')}); test accuracy ${(correct / test.length).toFixed(4)}`);
}
const seconds = (Date.now() - t0) / 1000;
const accuracy = foldAccuracy.reduce((a, b) => a + b, 0) / foldAccuracy.length;
const perSource = Object.fromEntries(Object.entries(correctBySource).map(([s, [c, n]]) => [s, Number((c / n).toFixed(4))]));
log(`accuracy ${(100 * accuracy).toFixed(1)} % (${quick ? 'fold 1' : `mean of ${FOLDS} folds`}) in ${seconds.toFixed(1)} s; per source ${JSON.stringify(perSource)}`);
log(`baseline ${BASELINE.name}: ${(100 * BASELINE.accuracy).toFixed(1)} % ${JSON.stringify(BASELINE.perSource)}; reference ${REFERENCE.name}: ${(100 * REFERENCE.accuracy).toFixed(1)} %`);
console.log(JSON.stringify({
  example: 'sentimentStackedGru',
  metric: quick ? 'testAccuracy (fold 1 of 5)' : 'testAccuracy (5-fold cross-validation mean)',
  value: Number(accuracy.toFixed(4)),
  baseline: BASELINE.accuracy,
  baselineName: BASELINE.name,
  beatsBaseline: accuracy > BASELINE.accuracy,
  reference: REFERENCE.accuracy,
  referenceName: REFERENCE.name,
  beatsReference: accuracy > REFERENCE.accuracy,
  folds: foldAccuracy.map((a) => Number(a.toFixed(4))),
  perSource,
  quick,
  seconds: Number(seconds.toFixed(1)),
  backend: getBackend(),
}));
