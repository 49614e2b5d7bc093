/**
 * `gatedrnn demo`: the package's main job on its bundled real data, with no
 * arguments and no downloads. A GRU learns one-step-ahead forecasts of the
 * monthly Mauna Loa CO2 series (data/co2, Keeling & Whorf, SIO) and is
 * scored on the last 48 months against two naive forecasts.
 *
 * The design that makes it beat the seasonal-naive baseline reliably: the
 * model reads the first differences of the last 36 months (z-scored) and
 * predicts the next month's change from the last value, so the trend
 * (1959: 316 ppm, 1997: 367 ppm) never leaves the range it trained on and
 * the seasonal cycle is what it learns. Chronological split: train on the
 * months before the last 96, early-stop on the 48 after them, test on the
 * last 48. Writes DIR/model (model.json + weights + preprocessing.json, so
 * `gatedrnn predict --model DIR/model` works on raw ppm windows),
 * DIR/metrics.json, DIR/forecast.svg, DIR/training.svg and
 * DIR/test-windows.jsonl (the test inputs, in predict's format).
 */
import fs from 'node:fs';
import path from 'node:path';
import { getBackend } from '../backend/index.js';
import { tensor } from '../tensor.js';
import { setSeed } from '../random.js';
import type { Tensor } from '../tensor.js';
import { EarlyStopping } from '../training/callbacks/earlyStopping.js';
import { historyChart, writeLineChart } from '../training/plot.js';
import { atomicWriteFile } from '../io/atomicWrite.js';
import { readCsvTable } from './data/csv.js';
import { decodeForecast, fitForecastTransform, windowTensors, type Series } from './data/windows.js';
import { forecastModel, type HyperParams } from './model/build.js';
import { header, type ForecastPreprocessing } from './model/preprocessing.js';
import { saveModelDir } from './model/store.js';
import { co2DataPath } from './paths.js';
import { mae, rmse, round } from './stats.js';
import { EpochProgress } from './train/progress.js';
import { JobError } from './errors.js';

export interface DemoOptions {
  out: string;
  seed: number;
  epochs: number;
  quiet: boolean;
}

export const DEMO_DEFAULTS = { out: './gatedrnn-demo', seed: 42, epochs: 150 };

const WINDOW = 36;
const TEST_MONTHS = 48;
const VAL_MONTHS = 48;
const SEASON = 12;
const CITATION = 'Keeling, C. D. and Whorf, T. P., Scripps Institution of Oceanography (SIO), University of California, La Jolla';

const HP: HyperParams = { cell: 'gru', units: 32, layers: 1, dropout: 0, recurrentDropout: 0, learningRate: 0.003, clipnorm: 1, embeddingDim: 0 };

function log(quiet: boolean, message: string): void {
  if (!quiet) process.stderr.write(`${message}\n`);
}

export async function runDemo(opts: DemoOptions): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const out = path.resolve(opts.out);
  const dataFile = co2DataPath();
  if (!fs.existsSync(dataFile)) throw new JobError(`the bundled data set is missing: ${dataFile} (a broken install?)`);
  const table = await readCsvTable(dataFile);
  const col = table.header.indexOf('co2_ppm');
  const years = table.rows.map((r) => Number(r[0]) + (Number(r[1]) - 1) / 12);
  const ppm = Float64Array.from(table.rows, (r) => Number(r[col]));
  const N = ppm.length;
  log(opts.quiet, `gatedrnn demo: GRU forecaster of monthly Mauna Loa CO2 (${N} months, ${table.rows[0][0]}–${table.rows[N - 1][0]}; ${CITATION})`);
  log(opts.quiet, `backend: ${getBackend()}; output: ${out}`);

  setSeed(opts.seed);
  const series: Series = { values: ppm, rows: N, columns: 1 };
  // Window i reads months i .. i+W-1 and forecasts month i+W.
  const windows = N - WINDOW;
  const testStart = windows - TEST_MONTHS;
  const valStart = testStart - VAL_MONTHS;
  const transform = fitForecastTransform(series, { columns: ['co2_ppm'], target: 'co2_ppm', targetIndex: 0, window: WINDOW, horizon: 1, difference: true }, valStart);
  const prep: ForecastPreprocessing = { ...header(), task: 'forecast', ...transform, units: 'ppm' };
  const train = windowTensors(transform, series, 0, valStart);
  const val = windowTensors(transform, series, valStart, testStart);
  const test = windowTensors(transform, series, testStart, windows);
  const T = train.steps;
  const t3 = (d: Float32Array, n: number): Tensor => tensor(d, [n, T, 1]);
  const t2 = (d: Float32Array, n: number): Tensor => tensor(d, [n, 1]);

  const model = forecastModel(HP, 1, 1);
  const stopper = new EarlyStopping({ monitor: 'val_loss', patience: 20, restoreBestWeights: true });
  const history = await model.fit(t3(train.x, train.n), t2(train.y, train.n), {
    epochs: opts.epochs,
    batchSize: 32,
    validationData: [t3(val.x, val.n), t2(val.y, val.n)],
    shuffle: true,
    verbose: 0,
    callbacks: [new EpochProgress('training', opts.quiet), stopper],
  });
  const epochsRun = history.epoch.length;
  const bestEpoch = stopper.bestEpoch + 1;

  // Test: one-step-ahead forecasts of the last 48 months from the true history.
  const raw = (await model.predict(t3(test.x, test.n), { batchSize: 256 })) as Tensor;
  const outVals = raw.dataSync() as Float32Array;
  const pred: number[] = [];
  const truth: number[] = [];
  const seasonal: number[] = [];
  const last: number[] = [];
  const months: number[] = [];
  for (let k = 0; k < test.n; k++) {
    const target = testStart + k + WINDOW;
    pred.push(decodeForecast(transform, outVals, k, ppm[target - 1])[0]);
    truth.push(ppm[target]);
    seasonal.push(ppm[target - SEASON]);
    last.push(ppm[target - 1]);
    months.push(years[target]);
  }
  const testRmse = rmse(pred, truth);
  const baselineRmse = rmse(seasonal, truth);
  const lastValueRmse = rmse(last, truth);
  const ym = (i: number): string => `${table.rows[i][0]}-${String(table.rows[i][1]).padStart(2, '0')}`;

  fs.mkdirSync(out, { recursive: true });
  const modelDir = path.join(out, 'model');
  await saveModelDir(model, modelDir, prep);
  // The test inputs in predict's format: `gatedrnn predict --model DIR/model --input DIR/test-windows.jsonl`.
  const lines: string[] = [];
  for (let k = 0; k < test.n; k++) {
    const target = testStart + k + WINDOW;
    lines.push(JSON.stringify({ id: ym(target), x: Array.from(ppm.subarray(target - WINDOW, target)) }));
  }
  await atomicWriteFile(path.join(out, 'test-windows.jsonl'), `${lines.join('\n')}\n`);

  const seconds = (Date.now() - t0) / 1000;
  const metrics = {
    testRmse: round(testRmse),
    baselineRmse: round(baselineRmse),
    baseline: 'seasonal naive: the value 12 months earlier',
    lastValueRmse: round(lastValueRmse),
    lastValueBaseline: 'last value: the previous month',
    beatsBaseline: testRmse < baselineRmse,
    testMae: round(mae(pred, truth)),
    baselineMae: round(mae(seasonal, truth)),
    units: 'ppm',
    task: 'one-step-ahead forecast of monthly mean CO2 at Mauna Loa, from the previous 36 months',
    data: { file: 'data/co2/co2.csv', months: N, from: ym(0), to: ym(N - 1), citation: CITATION },
    split: {
      train: `${ym(WINDOW)}..${ym(valStart + WINDOW - 1)} (${valStart} forecast months)`,
      validation: `${ym(valStart + WINDOW)}..${ym(testStart + WINDOW - 1)} (${VAL_MONTHS} months, early stopping)`,
      test: `${ym(testStart + WINDOW)}..${ym(N - 1)} (${TEST_MONTHS} months)`,
    },
    model: { cell: 'GRU', units: HP.units, window: WINDOW, input: 'first differences, z-scored', output: 'change from the last month, z-scored', optimizer: `Adam(lr ${HP.learningRate}, clipnorm ${HP.clipnorm})`, parameters: model.countParams() },
    epochs: epochsRun,
    bestEpoch,
    seed: opts.seed,
    backend: getBackend(),
    seconds: round(seconds, 1),
  };
  await atomicWriteFile(path.join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);

  const from = testStart + WINDOW - 36;
  await writeLineChart(path.join(out, 'forecast.svg'), {
    title: 'Mauna Loa CO2: GRU one-step forecasts on the test months',
    columns: 1,
    panelWidth: 900,
    panelHeight: 380,
    panels: [
      {
        title: `test RMSE ${testRmse.toFixed(3)} ppm; seasonal naive ${baselineRmse.toFixed(3)} ppm; last value ${lastValueRmse.toFixed(3)} ppm`,
        xLabel: 'year',
        yLabel: 'CO2 (ppm)',
        series: [
          { name: 'observed', x: years.slice(from), y: Array.from(ppm.subarray(from)), color: '#333333', markers: false },
          { name: 'GRU forecast', x: months, y: pred, color: '#e15759' },
          { name: 'seasonal naive', x: months, y: seasonal, color: '#76b7b2', dashed: true },
        ],
      },
    ],
  });
  await writeLineChart(path.join(out, 'training.svg'), historyChart(history, { title: 'GRU on CO2 differences: training curves', metrics: ['loss'] }));

  log(opts.quiet, `trained ${epochsRun} epochs${epochsRun < opts.epochs ? ' (early stopping)' : ''}, kept the best (epoch ${bestEpoch}); ${seconds.toFixed(1)} s in all`);
  log(opts.quiet, `test RMSE (last ${TEST_MONTHS} months): GRU ${testRmse.toFixed(3)} ppm | seasonal naive ${baselineRmse.toFixed(3)} ppm | last value ${lastValueRmse.toFixed(3)} ppm`);
  log(opts.quiet, `wrote ${path.join(out, 'model', 'model.json')}, metrics.json, forecast.svg, training.svg`);
  return metrics;
}
