/**
 * Sequence classification: handwritten digits read row by row. Each 8×8
 * image is a sequence of 8 timesteps (its rows) of 8 features (the pixels of
 * the row, scaled to [0, 1]); the GRU's last state says which digit it saw.
 *
 *   GRU(64, dropout 0.2) → Dropout(0.3) → Dense(10, softmax)
 *   sparse categorical cross-entropy, Adam, early stopping
 *
 *   npm run build:ts && node examples/digitsRows/run.mjs [--quick] [--seed N]
 *
 * Split: the data set's deterministic one, id < 1437 for training (the last
 * 200 of them as validation data for early stopping) and id >= 1437 for the
 * test (360 images). The reference score of the data set's README, on that
 * split: logistic regression on the 64 scaled pixels, 90.3 %. The full run
 * trains five models (seeds N..N+4) and reports their mean and spread;
 * --quick trains one, for 25 epochs at most. The last line on stdout is the
 * result as JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { callbacks, getBackend, layers, sequential, setSeed, tensor, train } from 'gatedrnn';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const seed = args.includes('--seed') ? Number(args[args.indexOf('--seed') + 1]) : 1;
const log = (s) => process.stderr.write(`${s}\n`);

const HP = quick
  ? { units: 64, dropout: 0.2, denseDropout: 0.3, learningRate: 0.005, batchSize: 32, epochs: 25, patience: 8 }
  : { units: 64, dropout: 0.2, denseDropout: 0.3, learningRate: 0.005, batchSize: 32, epochs: 80, patience: 8 };
const LOGISTIC_REGRESSION = 0.903;

// id, t0_f0 .. t7_f7 (row-major: timestep r, feature c), label
const rows = fs.readFileSync(path.join(here, 'digits.csv'), 'utf8').trim().split('\n').slice(1).map((l) => {
  const v = l.split(',').map(Number);
  return { id: v[0], pixels: v.slice(1, 65), label: v[65] };
});
const trainAll = rows.filter((r) => r.id < 1437);
const test = rows.filter((r) => r.id >= 1437);
const tr = trainAll.slice(0, trainAll.length - 200);
const val = trainAll.slice(trainAll.length - 200);
const images = (rs) => tensor(Float32Array.from(rs.flatMap((r) => r.pixels.map((p) => p / 16))), [rs.length, 8, 8]);
const labels = (rs) => tensor(Float32Array.from(rs, (r) => r.label), [rs.length]);

/** Trains one model from `runSeed` and scores it on the test split. */
async function trainAndTest(runSeed) {
  setSeed(runSeed);
  const model = sequential({
    layers: [
      layers.gru({ units: HP.units, dropout: HP.dropout, inputShape: [8, 8] }),
      layers.dropout({ rate: HP.denseDropout }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: train.adam(HP.learningRate), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  if (runSeed === seed) {
    log(`digits as rows: GRU(${HP.units}) → Dropout → Dense(10, softmax), ${model.countParams()} parameters, backend ${getBackend()}${quick ? ', quick mode' : ''}`);
    log(`${tr.length} train / ${val.length} validation / ${test.length} test images`);
  }
  const t0 = Date.now();
  const stopper = callbacks.earlyStopping({ monitor: 'val_loss', patience: HP.patience, restoreBestWeights: true });
  const history = await model.fit(images(tr), labels(tr), {
    epochs: HP.epochs,
    batchSize: HP.batchSize,
    validationData: [images(val), labels(val)],
    verbose: 0,
    callbacks: [stopper],
  });
  const seconds = (Date.now() - t0) / 1000;
  const p = (await model.predict(images(test))).dataSync();
  const perDigit = Array.from({ length: 10 }, () => [0, 0]);
  let correct = 0;
  test.forEach((r, k) => {
    let best = 0;
    for (let c = 1; c < 10; c++) if (p[k * 10 + c] > p[k * 10 + best]) best = c;
    perDigit[r.label][1]++;
    if (best === r.label) {
      correct++;
      perDigit[r.label][0]++;
    }
  });
  const accuracy = correct / test.length;
  log(`seed ${runSeed}: ${history.epoch.length} epochs (best ${stopper.bestEpoch + 1}) in ${seconds.toFixed(1)} s; test accuracy ${(100 * accuracy).toFixed(1)} %; per digit ${perDigit.map(([c, n], d) => `${d}: ${c}/${n}`).join(', ')}`);
  return { accuracy, epochs: history.epoch.length, seconds };
}

// Quick: one model. Full: five, from seeds seed..seed+4, to show the spread; the value is their mean.
const runs = [];
for (let k = 0; k < (quick ? 1 : 5); k++) runs.push(await trainAndTest(seed + k));
const accuracy = runs.reduce((a, r) => a + r.accuracy, 0) / runs.length;
const seconds = runs.reduce((a, r) => a + r.seconds, 0);
log(`test accuracy ${(100 * accuracy).toFixed(1)} %${runs.length > 1 ? ` (mean of ${runs.length} seeds, ${runs.map((r) => (100 * r.accuracy).toFixed(1)).join(' / ')})` : ''}; logistic regression on the pixels (README) ${(100 * LOGISTIC_REGRESSION).toFixed(1)} %`);
console.log(JSON.stringify({
  example: 'digitsRows',
  metric: 'testAccuracy',
  value: Number(accuracy.toFixed(4)),
  baseline: LOGISTIC_REGRESSION,
  baselineName: 'logistic regression on the 64 scaled pixels, same split (data set README)',
  beatsBaseline: accuracy > LOGISTIC_REGRESSION,
  seeds: runs.map((r, k) => ({ seed: seed + k, accuracy: Number(r.accuracy.toFixed(4)), epochs: r.epochs })),
  quick,
  trainSeconds: Number(seconds.toFixed(1)),
  backend: getBackend(),
}));
