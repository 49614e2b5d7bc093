/**
 * Text classification with the recurrent stack of the GRU tutorials:
 *
 *   Embedding(maskZero) → BatchNormalization → GRU(returnSequences, dropout, recurrentDropout)
 *     → BatchNormalization → GRU → Dense(2, softmax)
 *   sparse categorical cross-entropy, Adam, accuracy, early stopping
 *
 *   npm run build:ts && node examples/textClassification/run.mjs [--quick] [--seed N]
 *
 * Data: 3000 review sentences (Amazon, IMDB, Yelp) labelled positive or
 * negative (UCI "Sentiment Labelled Sentences", Kotzias et al. 2015, CC BY
 * 4.0; see README.md). Tokenised into lower-cased words (plus "!" and "?"),
 * the 2000 most frequent training words kept (the rest map to one "unknown"
 * id), padded with 0 to 32 words; the padding is masked from the Embedding
 * on: BatchNormalization leaves masked steps out of its statistics and the
 * GRUs skip them.
 *
 * The full run is a 5-fold cross-validation (the protocol of the data set's
 * reference scores), each fold holding 10 % of its training part out as
 * validation data for early stopping; --quick runs the first fold only. The
 * last line on stdout is the result as JSON.
 */
import { callbacks, getBackend, layers, sequential, setSeed, tensor, train } from 'gatedrnn';
// The sentences, their tokens, the README's baseline and the fold order: shared with the other sentiment example.
import { BASELINE, REFERENCE, permutation, rows, words } from '../sentimentStackedGru/sentences.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const seed = args.includes('--seed') ? Number(args[args.indexOf('--seed') + 1]) : 1;
const log = (s) => process.stderr.write(`${s}\n`);

const FOLDS = 5;
const MAX_LEN = 32;
const VOCABULARY = 2000;
const HP = { embedding: 32, units: 32, dropout: 0.5, recurrentDropout: 0.3, learningRate: 0.003, batchSize: 32, epochs: quick ? 6 : 15, patience: 3 };
// The data set's README: the AFINN word-list scorer (`sentiment` npm package) gets 72.6 / 76.5 / 69.6 %
// on amazon / imdb / yelp, 72.9 % on all 3000; TF-IDF 1-2-grams + logistic regression 81.4 % (5-fold CV).
const order = permutation(rows.length, seed);
const foldAccuracy = [];
const t0 = Date.now();
for (let fold = 0; fold < (quick ? 1 : FOLDS); fold++) {
  const test = order.filter((_, i) => i % FOLDS === fold);
  const rest = order.filter((_, i) => i % FOLDS !== fold);
  const nVal = Math.round(rest.length * 0.1);
  const val = rest.slice(0, nVal);
  const tr = rest.slice(nVal);

  // The most frequent training words; 0 = padding (masked), 1 = any other word.
  const counts = new Map();
  for (const i of tr) for (const w of words[i]) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, VOCABULARY - 2).map(([w]) => w);
  const id = new Map(vocab.map((w, k) => [w, k + 2]));
  const ids = (idx) => {
    const x = new Float32Array(idx.length * MAX_LEN);
    idx.forEach((i, k) => words[i].slice(0, MAX_LEN).forEach((w, t) => (x[k * MAX_LEN + t] = id.get(w) ?? 1)));
    return tensor(x, [idx.length, MAX_LEN]);
  };
  const labels = (idx) => tensor(Float32Array.from(idx, (i) => rows[i].label), [idx.length]);

  setSeed(seed * 100 + fold);
  const model = sequential({
    layers: [
      layers.embedding({ inputDim: vocab.length + 2, outputDim: HP.embedding, maskZero: true, inputShape: [MAX_LEN] }),
      layers.batchNormalization(),
      layers.gru({ units: HP.units, returnSequences: true, dropout: HP.dropout, recurrentDropout: HP.recurrentDropout }),
      layers.batchNormalization(),
      layers.gru({ units: HP.units }),
      layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: train.adam(HP.learningRate), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  if (fold === 0) {
    log(`text classification: Embedding(${vocab.length + 2}, ${HP.embedding}, maskZero) → BatchNormalization → GRU(${HP.units}, returnSequences, dropout ${HP.dropout}, recurrentDropout ${HP.recurrentDropout}) → BatchNormalization → GRU(${HP.units}) → Dense(2, softmax)`);
    log(`${model.countParams()} parameters, backend ${getBackend()}${quick ? ', quick mode (fold 1 only)' : ''}`);
  }
  const history = await model.fit(ids(tr), labels(tr), {
    epochs: HP.epochs,
    batchSize: HP.batchSize,
    validationData: [ids(val), labels(val)],
    verbose: 0,
    callbacks: [callbacks.earlyStopping({ monitor: 'val_loss', patience: HP.patience, restoreBestWeights: true })],
  });
  const [, acc] = await model.evaluate(ids(test), labels(test));
  const accuracy = acc.dataSync()[0];
  foldAccuracy.push(accuracy);
  const h = history.history;
  log(`fold ${fold + 1}/${FOLDS}: ${tr.length} train / ${val.length} validation / ${test.length} test; ${history.epoch.length} epochs (val_accuracy ${h.val_accuracy.map((v) => v.toFixed(3)).join(' ')}); test accuracy ${accuracy.toFixed(4)}`);
}
const seconds = (Date.now() - t0) / 1000;
const accuracy = foldAccuracy.reduce((a, b) => a + b, 0) / foldAccuracy.length;
log(`accuracy ${(100 * accuracy).toFixed(1)} % (${quick ? 'fold 1' : `mean of ${FOLDS} folds`}) in ${seconds.toFixed(1)} s`);
log(`baseline ${BASELINE.name}: ${(100 * BASELINE.accuracy).toFixed(1)} %; reference ${REFERENCE.name}: ${(100 * REFERENCE.accuracy).toFixed(1)} %`);
console.log(JSON.stringify({
  example: 'textClassification',
  metric: quick ? 'testAccuracy (fold 1 of 5)' : 'testAccuracy (5-fold cross-validation mean)',
  value: Number(accuracy.toFixed(4)),
  baseline: BASELINE.accuracy,
  baselineName: BASELINE.name,
  beatsBaseline: accuracy > BASELINE.accuracy,
  reference: REFERENCE.accuracy,
  referenceName: REFERENCE.name,
  beatsReference: accuracy > REFERENCE.accuracy,
  folds: foldAccuracy.map((a) => Number(a.toFixed(4))),
  quick,
  seconds: Number(seconds.toFixed(1)),
  backend: getBackend(),
}));
