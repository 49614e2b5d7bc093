/**
 * `gatedrnn evaluate` through the built bin: models trained with `gatedrnn
 * train` (forecast from CSV, classify from JSON Lines with different
 * lengths, text from CSV) are scored on labelled files, and every number is
 * checked against the same model loaded here: `model.evaluate` for the loss
 * and accuracy, `model.predict` + the saved preprocessing for RMSE/MAE in
 * the data's units, the naive forecasts and the confusion matrix by hand.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLayersModel, tensor, type LayersModel, type Tensor } from '../lib/index';
import { decodeForecast, windowCount, windowTensors, modelSteps, type ForecastTransform } from '../lib/cli/data/windows';
import { encodeText, vocabularyIndex } from '../lib/cli/data/text';
import { ROOT } from './helpers/child';
import { rng } from './helpers/random.js';

const BIN = path.join(ROOT, 'bin', 'gatedrnn.cjs');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const json = (f: string): any => JSON.parse(fs.readFileSync(f, 'utf8'));

async function evaluateHere(model: LayersModel, x: Tensor, y: Tensor): Promise<number[]> {
  const r = await model.evaluate(x, y, { batchSize: 64, verbose: 0 });
  return (Array.isArray(r) ? r : [r]).map((t) => t.dataSync()[0]);
}

const rmse = (a: number[], b: number[]): number => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length);
const mae = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

let tmp: string;
let forecastTrain: string;
let forecastEval: string;
let evalRows: number[][];
let classifyTrain: string;
let classifyEval: string;
let textTrain: string;
let textEval: string;

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.cjs'))) throw new Error('dist/cli.cjs is missing: run `npm run build:ts` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-cli-evaluate-'));
  const r = rng(11);
  // A seasonal series with a trend and a second input column; the last 120 rows are the evaluation file.
  const all: number[][] = [];
  for (let i = 0; i < 420; i++) all.push([Number((20 + 0.02 * i + 5 * Math.sin((2 * Math.PI * i) / 12) + (r() - 0.5)).toFixed(4)), Number((3 * Math.cos((2 * Math.PI * i) / 12) + (r() - 0.5) * 0.2).toFixed(4))]);
  const csv = (rows: number[][]): string => `level,driver\n${rows.map((x) => x.join(',')).join('\n')}\n`;
  forecastTrain = path.join(tmp, 'fc-train.csv');
  forecastEval = path.join(tmp, 'fc-eval.csv');
  evalRows = all.slice(300);
  fs.writeFileSync(forecastTrain, csv(all.slice(0, 300)));
  fs.writeFileSync(forecastEval, csv(evalRows));

  const seqs = (n: number): string => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const c = Math.floor(r() * 3);
      const T = 5 + Math.floor(r() * 6);
      const x = Array.from({ length: T }, (_, t) => [Number(((c - 1) * 0.7 + (r() - 0.5) * 1.6).toFixed(3)), Number((Math.sin(t) * (c === 2 ? 1 : 0.2) + (r() - 0.5) * 0.3).toFixed(3))]);
      out.push(JSON.stringify({ x, label: ['low', 'mid', 'high'][c] }));
    }
    return `${out.join('\n')}\n`;
  };
  classifyTrain = path.join(tmp, 'cls-train.jsonl');
  classifyEval = path.join(tmp, 'cls-eval.jsonl');
  fs.writeFileSync(classifyTrain, seqs(300));
  fs.writeFileSync(classifyEval, seqs(90));

  const pos = ['good', 'great', 'fun', 'lovely', 'excellent'];
  const neg = ['bad', 'awful', 'boring', 'terrible', 'dull'];
  const filler = ['the', 'movie', 'was', 'a', 'plot', 'and', 'very', 'really'];
  const pick = (a: string[]): string => a[Math.floor(r() * a.length)];
  const texts = (n: number, withUnknown: boolean): string => {
    const lines = ['text,label'];
    for (let i = 0; i < n; i++) {
      const p = r() < 0.5;
      const words = [...Array.from({ length: 2 + Math.floor(r() * 5) }, () => pick(filler)), pick(p ? pos : neg), ...(withUnknown && i % 3 === 0 ? ['zebra'] : [])];
      lines.push(`"${words.join(' ')}",${p ? 1 : 0}`);
    }
    return `${lines.join('\n')}\n`;
  };
  textTrain = path.join(tmp, 'txt-train.csv');
  textEval = path.join(tmp, 'txt-eval.csv');
  fs.writeFileSync(textTrain, texts(240, false));
  fs.writeFileSync(textEval, texts(60, true));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('gatedrnn evaluate', () => {
  it('forecast: windows of a new CSV with the saved transform; loss = model.evaluate, RMSE/MAE in the data units, naive baselines', async () => {
    const out = path.join(tmp, 'fc');
    const t = cli(['train', '--data', forecastTrain, '--task', 'forecast', '--target', 'level', '--features', 'level,driver', '--window', '24', '--horizon', '2', '--difference', '--epochs', '12', '--learning-rate', '0.01', '--out', out, '-q']);
    expect(t.status, t.stderr).toBe(0);
    const metricsFile = path.join(tmp, 'fc-metrics.json');
    const e = cli(['evaluate', '--model', out, '--data', forecastEval, '--season', '12', '--batch-size', '7', '--output', metricsFile]);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/RMSE/);
    const m = json(metricsFile);

    const dir = path.join(out, 'model');
    const prep = json(path.join(dir, 'preprocessing.json')) as ForecastTransform;
    const model = await loadLayersModel(dir, { compile: false });
    model.compile({ optimizer: 'adam', loss: 'meanSquaredError', metrics: ['mae'] });
    const values = Float64Array.from(evalRows.flat());
    const n = windowCount(evalRows.length, 24, 2);
    const w = windowTensors(prep, { values, rows: evalRows.length, columns: 2 }, 0, n);
    const x = tensor(w.x, [n, modelSteps(prep), 2]);
    const [loss, maeScaled] = await evaluateHere(model, x, tensor(w.y, [n, 2]));
    expect(m.task).toBe('forecast');
    expect(m.windows).toBe(n);
    expect(m.loss).toBeCloseTo(loss, 5);
    expect(m.modelMetrics.mae).toBeCloseTo(maeScaled, 5);

    const out2 = ((await model.predict(x)) as Tensor).dataSync();
    const pred: number[] = [], truth: number[] = [], last: number[] = [], seasonal: number[] = [];
    for (let k = 0; k < n; k++) {
      const lastValue = evalRows[k + 23][0];
      const y = decodeForecast(prep, out2, k * 2, lastValue);
      for (let h = 0; h < 2; h++) {
        pred.push(y[h]);
        truth.push(evalRows[k + 24 + h][0]);
        last.push(lastValue);
        seasonal.push(evalRows[k + 24 + h - 12][0]);
      }
    }
    expect(m.rmse).toBeCloseTo(rmse(pred, truth), 4);
    expect(m.mae).toBeCloseTo(mae(pred, truth), 4);
    expect(m.baselines.lastValue.rmse).toBeCloseTo(rmse(last, truth), 5);
    expect(m.baselines.lastValue.mae).toBeCloseTo(mae(last, truth), 5);
    expect(m.baselines.seasonalNaive.rmse).toBeCloseTo(rmse(seasonal, truth), 5);
    expect(m.perHorizon).toHaveLength(2);
    // A seasonal series: the model beats the last value.
    expect(m.rmse).toBeLessThan(m.baselines.lastValue.rmse);
    expect(m.beatsBaseline).toBe(m.rmse < m.baselineRmse);

    // Without --output the report goes to stdout.
    const s = cli(['evaluate', '--model', path.join(dir, 'model.json'), '--data', forecastEval, '-q']);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stderr).toBe('');
    expect(JSON.parse(s.stdout).rmse).toBe(m.rmse);
  });

  it('classify: JSON Lines of different lengths, z-scored and padded as in training; loss and accuracy = model.evaluate; confusion matrix', async () => {
    const out = path.join(tmp, 'cls');
    const t = cli(['train', '--data', classifyTrain, '--task', 'classify', '--units', '16', '--epochs', '12', '--learning-rate', '0.01', '--batch-size', '16', '--out', out, '-q']);
    expect(t.status, t.stderr).toBe(0);
    const e = cli(['evaluate', '--model', out, '--data', classifyEval, '-q']);
    expect(e.status, e.stderr).toBe(0);
    const m = JSON.parse(e.stdout);

    const dir = path.join(out, 'model');
    const prep = json(path.join(dir, 'preprocessing.json'));
    const rows = fs.readFileSync(classifyEval, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { x: number[][]; label: string });
    const T = Math.max(...rows.map((r) => r.x.length));
    const x = new Float32Array(rows.length * T * 2).fill(prep.padValue);
    rows.forEach((r, k) => r.x.forEach((step, s) => step.forEach((v, f) => (x[(k * T + s) * 2 + f] = (v - prep.mean[f]) / prep.std[f]))));
    const labels = rows.map((r) => prep.classes.indexOf(r.label));
    expect(labels.every((l: number) => l >= 0)).toBe(true);
    const model = await loadLayersModel(dir, { compile: false });
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const [loss, acc] = await evaluateHere(model, tensor(x, [rows.length, T, 2]), tensor(labels, [rows.length]));
    expect(m.task).toBe('classify');
    expect(m.samples).toBe(90);
    expect(m.loss).toBeCloseTo(loss, 5);
    expect(m.accuracy).toBeCloseTo(acc, 5);
    expect(m.accuracy).toBeGreaterThan(0.7);
    expect(m.accuracy).toBeGreaterThan(m.baselineAccuracy);

    const cm = m.confusionMatrix.matrix as number[][];
    expect(m.confusionMatrix.labels).toEqual(prep.classes);
    expect(cm.flat().reduce((a, b) => a + b, 0)).toBe(90);
    expect(cm.reduce((a, row, i) => a + row[i], 0)).toBe(m.correct);
    prep.classes.forEach((c: string, i: number) => {
      const support = labels.filter((l) => l === i).length;
      expect(cm[i].reduce((a, b) => a + b, 0)).toBe(support);
      expect(m.perClass[i]).toMatchObject({ class: c, support });
    });
    expect(m.baselineAccuracy).toBeCloseTo(Math.max(...prep.classes.map((_: string, i: number) => labels.filter((l) => l === i).length)) / 90, 6);
  });

  it('text: tokenised with the saved vocabulary (unknown words counted); numeric labels; loss and accuracy = model.evaluate', async () => {
    const out = path.join(tmp, 'txt');
    const t = cli(['train', '--data', textTrain, '--task', 'text', '--epochs', '12', '--learning-rate', '0.01', '--max-len', '20', '--out', out, '-q']);
    expect(t.status, t.stderr).toBe(0);
    const e = cli(['evaluate', '--model', out, '--data', textEval, '--output', path.join(tmp, 'txt.json'), '-q']);
    expect(e.status, e.stderr).toBe(0);
    const m = json(path.join(tmp, 'txt.json'));

    const dir = path.join(out, 'model');
    const prep = json(path.join(dir, 'preprocessing.json'));
    expect(prep.classes).toEqual([0, 1]);
    const lines = fs.readFileSync(textEval, 'utf8').trim().split('\n').slice(1);
    const parsed = lines.map((l) => {
      const i = l.lastIndexOf(',');
      return { text: l.slice(1, i - 1), label: Number(l.slice(i + 1)) };
    });
    const index = vocabularyIndex(prep.vocabulary);
    const enc = parsed.map((p) => encodeText(p.text, index, prep.maxLen));
    const T = Math.max(...enc.map((x) => x.length));
    const x = new Float32Array(parsed.length * T);
    enc.forEach((ids, k) => x.set(ids, k * T));
    const model = await loadLayersModel(dir, { compile: false });
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const [loss, acc] = await evaluateHere(model, tensor(x, [parsed.length, T]), tensor(parsed.map((p) => p.label), [parsed.length]));
    expect(m.task).toBe('text');
    expect(m.loss).toBeCloseTo(loss, 5);
    expect(m.accuracy).toBeCloseTo(acc, 5);
    expect(m.accuracy).toBeGreaterThan(0.8);
    expect(m.unknownWords).toBeGreaterThan(0);
  });

  it('errors: a label the model does not know names its line (exit 1); a missing file or flag is a usage error (exit 2); --help', () => {
    const bad = path.join(tmp, 'bad.jsonl');
    const rows = fs.readFileSync(classifyEval, 'utf8').trim().split('\n');
    rows[4] = JSON.stringify({ x: [[0, 0], [1, 1]], label: 'unheard-of' });
    fs.writeFileSync(bad, `${rows.join('\n')}\n`);
    const e = cli(['evaluate', '--model', path.join(tmp, 'cls'), '--data', bad]);
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/line 5: label "unheard-of" is not one of the model's classes/);

    const missing = cli(['evaluate', '--model', path.join(tmp, 'cls'), '--data', path.join(tmp, 'nope.jsonl')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    expect(cli(['evaluate', '--data', classifyEval]).status).toBe(2);
    const season = cli(['evaluate', '--model', path.join(tmp, 'fc'), '--data', forecastEval, '--season', '99']);
    expect(season.status).toBe(2);

    const h = cli(['evaluate', '--help']);
    expect(h.status).toBe(0);
    for (const flag of ['--model', '--data', '--batch-size', '--output', '--season']) expect(h.stdout).toContain(flag);
    expect(cli(['--help']).stdout).toMatch(/evaluate/);
  });
});
