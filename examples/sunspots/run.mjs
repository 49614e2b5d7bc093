/**
 * Forecasting monthly sunspot numbers with the model GRU tutorials teach:
 *
 *   GRU(128) → Dense(64, relu) → Dense(1), mean squared error, Adam
 *
 *   npm run build:ts && node examples/sunspots/run.mjs [--quick] [--seed N]
 *
 * Each sample is the previous 120 months (z-scored with the training
 * months' mean and standard deviation) and the target is the next month.
 * Chronological split by the forecast month, as the data set's README
 * suggests: train up to 1990, validate (early stopping) on 1991–2000, test on
 * 2001–2013-09. The baseline is persistence (next month = this month), the
 * naive forecast that is hard to beat on a noisy monthly series.
 *
 * --quick trains on every 4th training window for 6 epochs (about 10 s on
 * two cores with the native backend); the full run uses them all with early
 * stopping. The last line on stdout is the result as JSON.
 *
 * Data: WDC-SILSO, Royal Observatory of Belgium, Brussels (CC BY-NC 4.0);
 * see README.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { callbacks, getBackend, layers, sequential, setSeed, tensor, train } from 'gatedrnn';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const seed = args.includes('--seed') ? Number(args[args.indexOf('--seed') + 1]) : 42;
const log = (s) => process.stderr.write(`${s}\n`);

const WINDOW = 120;
const settings = quick
  ? { every: 4, epochs: 6, learningRate: 0.003, patience: 6 }
  : { every: 1, epochs: 40, learningRate: 0.001, patience: 6 };

// year,month,sunspots
const rows = fs.readFileSync(path.join(here, 'sunspot_month.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
const year = rows.map((r) => r[0]);
const value = rows.map((r) => r[2]);
const label = (t) => `${rows[t][0]}-${String(rows[t][1]).padStart(2, '0')}`;

// Forecast month t from months t-120 .. t-1.
const targets = [];
for (let t = WINDOW; t < value.length; t++) targets.push(t);
const trainT = targets.filter((t) => year[t] <= 1990).filter((_, i) => i % settings.every === 0);
const valT = targets.filter((t) => year[t] > 1990 && year[t] <= 2000);
const testT = targets.filter((t) => year[t] > 2000);

// Normalisation from the months the training windows read (up to 1990-12).
const seen = value.slice(0, targets.filter((t) => year[t] <= 1990).at(-1) + 1);
const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
const std = Math.sqrt(seen.reduce((a, b) => a + (b - mean) ** 2, 0) / seen.length);
const windows = (ts) => {
  const x = new Float32Array(ts.length * WINDOW);
  ts.forEach((t, k) => {
    for (let i = 0; i < WINDOW; i++) x[k * WINDOW + i] = (value[t - WINDOW + i] - mean) / std;
  });
  return tensor(x, [ts.length, WINDOW, 1]);
};
const targetsOf = (ts) => tensor(Float32Array.from(ts, (t) => (value[t] - mean) / std), [ts.length, 1]);

setSeed(seed);
const model = sequential({
  layers: [
    layers.gru({ units: 128, inputShape: [WINDOW, 1] }),
    layers.dense({ units: 64, activation: 'relu' }),
    layers.dense({ units: 1 }),
  ],
});
model.compile({ optimizer: train.adam(settings.learningRate), loss: 'meanSquaredError' });
log(`sunspots: GRU(128) → Dense(64, relu) → Dense(1), ${model.countParams()} parameters, backend ${getBackend()}${quick ? ', quick mode' : ''}`);
log(`windows of ${WINDOW} months: ${trainT.length} train (forecasts ${label(trainT[0])}..1990-12), ${valT.length} validation (1991–2000), ${testT.length} test (${label(testT[0])}..${label(testT.at(-1))})`);

const t0 = Date.now();
const stopper = callbacks.earlyStopping({ monitor: 'val_loss', patience: settings.patience, restoreBestWeights: true });
const history = await model.fit(windows(trainT), targetsOf(trainT), {
  epochs: settings.epochs,
  batchSize: 64,
  validationData: [windows(valT), targetsOf(valT)],
  verbose: quick ? 0 : 2,
  callbacks: [stopper],
});
const seconds = (Date.now() - t0) / 1000;

const out = (await model.predict(windows(testT))).dataSync();
let se = 0, ae = 0, sePersist = 0, aePersist = 0;
testT.forEach((t, k) => {
  const forecast = out[k] * std + mean;
  se += (forecast - value[t]) ** 2;
  ae += Math.abs(forecast - value[t]);
  sePersist += (value[t - 1] - value[t]) ** 2;
  aePersist += Math.abs(value[t - 1] - value[t]);
});
const n = testT.length;
const rmse = Math.sqrt(se / n), persistence = Math.sqrt(sePersist / n);
log(`trained ${history.epoch.length} epochs (best ${stopper.bestEpoch + 1}) in ${seconds.toFixed(1)} s`);
log(`test RMSE ${rmse.toFixed(2)} (MAE ${(ae / n).toFixed(2)}) against persistence ${persistence.toFixed(2)} (MAE ${(aePersist / n).toFixed(2)}), sunspot number units`);
console.log(JSON.stringify({
  example: 'sunspots',
  metric: 'testRmse',
  value: Number(rmse.toFixed(4)),
  baseline: Number(persistence.toFixed(4)),
  baselineName: 'persistence (next month = this month)',
  lowerIsBetter: true,
  beatsBaseline: rmse < persistence,
  testMae: Number((ae / n).toFixed(4)),
  baselineMae: Number((aePersist / n).toFixed(4)),
  quick,
  epochs: history.epoch.length,
  trainSeconds: Number(seconds.toFixed(1)),
  backend: getBackend(),
}));
