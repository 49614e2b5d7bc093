/**
 * `gatedrnn train` through the built bin: a forecaster from CSV, a
 * classifier from JSON Lines (variable lengths) and from flattened CSV, a
 * text classifier from CSV, hyper-parameters from YAML, and resuming after
 * an interruption (the --stop-after-epochs hook, and a real SIGKILL).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child';
import { rng } from './helpers/random.js';

const BIN = path.join(ROOT, 'bin', 'gatedrnn.cjs');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const json = (f: string): any => JSON.parse(fs.readFileSync(f, 'utf8'));

/** A seeded generator, so the data is the same on every run. */

let tmp: string;
let forecastCsv: string;
let classifyJsonl: string;
let classifyCsv: string;
let textCsv: string;

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.cjs'))) throw new Error('dist/cli.cjs is missing: run `npm run build:ts` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-cli-train-'));
  const r = rng(7);
  forecastCsv = path.join(tmp, 'forecast.csv');
  const lines = ['t,temp,load'];
  for (let i = 0; i < 300; i++) lines.push(`${i},${(10 + 5 * Math.sin(i / 6) + (r() - 0.5) * 0.4).toFixed(4)},${(50 + 0.1 * i + 3 * Math.cos(i / 6)).toFixed(4)}`);
  fs.writeFileSync(forecastCsv, `${lines.join('\n')}\n`);

  classifyJsonl = path.join(tmp, 'classify.jsonl');
  const jl: string[] = [];
  for (let i = 0; i < 300; i++) {
    const up = i % 2 === 1;
    const T = 6 + Math.floor(r() * 8);
    const x = Array.from({ length: T }, () => [Number(((up ? 0.8 : -0.8) + (r() - 0.5) * 2).toFixed(3)), Number((r() - 0.5).toFixed(3))]);
    jl.push(JSON.stringify({ x, label: up ? 'up' : 'down' }));
  }
  fs.writeFileSync(classifyJsonl, `${jl.join('\n')}\n`);

  classifyCsv = path.join(tmp, 'classify.csv');
  const cl = ['id,a1,b1,a2,b2,a3,b3,a4,b4,label'];
  for (let i = 0; i < 200; i++) {
    const c = i % 3;
    const vals = Array.from({ length: 8 }, (_, k) => (k % 2 === 0 ? c - 1 + (r() - 0.5) : r() - 0.5).toFixed(3));
    cl.push(`${i},${vals.join(',')},${c}`);
  }
  fs.writeFileSync(classifyCsv, `${cl.join('\n')}\n`);

  textCsv = path.join(tmp, 'text.csv');
  const pos = ['good', 'great', 'fun', 'lovely', 'excellent'];
  const neg = ['bad', 'awful', 'boring', 'terrible', 'dull'];
  const filler = ['the', 'movie', 'was', 'a', 'plot', 'and', 'very', 'really'];
  const pick = (a: string[]): string => a[Math.floor(r() * a.length)];
  const tl = ['text,label'];
  for (let i = 0; i < 240; i++) {
    const p = i % 2 === 1;
    const words = [...Array.from({ length: 2 + Math.floor(r() * 5) }, () => pick(filler)), pick(p ? pos : neg)];
    words.sort(() => r() - 0.5);
    tl.push(`"${words.join(' ')}, really",${p ? 'positive' : 'negative'}`);
  }
  fs.writeFileSync(textCsv, `${tl.join('\n')}\n`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('gatedrnn train', () => {
  it('forecast from CSV: windows, normalisation, test split against the last value; predict applies the saved preprocessing', () => {
    const out = path.join(tmp, 'fc');
    const r = cli(['train', '--data', forecastCsv, '--task', 'forecast', '--target', 'temp', '--features', 'temp,load', '--window', '12', '--epochs', '25', '--learning-rate', '0.01', '--test-split', '0.1', '--out', out, '-q']);
    expect(r.status, r.stderr).toBe(0);
    const prep = json(path.join(out, 'model', 'preprocessing.json'));
    expect(prep).toMatchObject({ task: 'forecast', target: 'temp', columns: ['temp', 'load'], window: 12, horizon: 1 });
    expect(prep.inputMean).toHaveLength(2);
    const m = json(path.join(out, 'metrics.json'));
    expect(m.testRmse).toBeLessThan(m.baselineRmse);
    expect(m.samples.test).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(out, 'training.svg'))).toBe(true);

    // The last window of the file, in raw units, through predict.
    const rows = fs.readFileSync(forecastCsv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(1).map(Number));
    const input = path.join(tmp, 'fc-in.jsonl');
    fs.writeFileSync(input, `${JSON.stringify({ id: 'last', x: rows.slice(-13, -1) })}\n`);
    const p = cli(['predict', '--model', out, '--input', input, '--output', path.join(tmp, 'fc-out.jsonl'), '-q']);
    expect(p.status, p.stderr).toBe(0);
    const y = JSON.parse(fs.readFileSync(path.join(tmp, 'fc-out.jsonl'), 'utf8'));
    expect(y.id).toBe('last');
    expect(Math.abs(y.y[0] - rows[rows.length - 1][0])).toBeLessThan(1.5);
  });

  it('classify from JSON Lines with sequences of different lengths (Masking), hyper-parameters from YAML', () => {
    const out = path.join(tmp, 'cls');
    const cfg = path.join(tmp, 'cls.yaml');
    fs.writeFileSync(cfg, 'task: classify\nunits: 16\nepochs: 12\nlearning-rate: 0.01\nbatch_size: 16\nvalidation-split: 0.25\n');
    const r = cli(['train', '--data', classifyJsonl, '--config', cfg, '--out', out, '-q']);
    expect(r.status, r.stderr).toBe(0);
    const prep = json(path.join(out, 'model', 'preprocessing.json'));
    expect(prep).toMatchObject({ task: 'classify', features: 2, timesteps: null, classes: ['down', 'up'] });
    expect(prep.padValue).not.toBeNull();
    const model = json(path.join(out, 'model', 'model.json'));
    expect(JSON.stringify(model.modelTopology)).toMatch(/Masking/);
    expect(JSON.stringify(model.modelTopology)).toMatch(/"units":16/);
    const m = json(path.join(out, 'metrics.json'));
    expect(m.val_accuracy).toBeGreaterThan(0.8);

    const p = cli(['predict', '--model', out, '--input', classifyJsonl, '--output', path.join(tmp, 'cls-out.jsonl'), '-q']);
    expect(p.status, p.stderr).toBe(0);
    const outRows = fs.readFileSync(path.join(tmp, 'cls-out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const labels = fs.readFileSync(classifyJsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l).label);
    expect(outRows).toHaveLength(300);
    expect(outRows[0].y).toHaveLength(2);
    const acc = outRows.filter((o, i) => o.label === labels[i]).length / labels.length;
    expect(acc).toBeGreaterThan(0.8);
  });

  it('classify from flattened CSV rows with --timesteps', () => {
    const out = path.join(tmp, 'clscsv');
    const r = cli(['train', '--data', classifyCsv, '--task', 'classify', '--timesteps', '4', '--epochs', '15', '--learning-rate', '0.01', '--out', out, '-q']);
    expect(r.status, r.stderr).toBe(0);
    const prep = json(path.join(out, 'model', 'preprocessing.json'));
    expect(prep).toMatchObject({ task: 'classify', features: 2, timesteps: 4, classes: [0, 1, 2], padValue: null });
    expect(json(path.join(out, 'metrics.json')).val_accuracy).toBeGreaterThan(0.7);
  });

  it('text from CSV: vocabulary from the training rows, Embedding(maskZero) → GRU; predict takes text', () => {
    const out = path.join(tmp, 'txt');
    const r = cli(['train', '--data', textCsv, '--task', 'text', '--epochs', '15', '--learning-rate', '0.01', '--max-len', '20', '--out', out, '-q']);
    expect(r.status, r.stderr).toBe(0);
    const prep = json(path.join(out, 'model', 'preprocessing.json'));
    expect(prep.task).toBe('text');
    expect(prep.vocabulary).toContain('great');
    expect(prep.maxLen).toBe(20);
    const model = json(path.join(out, 'model', 'model.json'));
    expect(JSON.stringify(model.modelTopology)).toMatch(/"mask_zero":true/);
    expect(json(path.join(out, 'metrics.json')).val_accuracy).toBeGreaterThan(0.8);
    const input = path.join(tmp, 'txt-in.jsonl');
    fs.writeFileSync(input, `${JSON.stringify({ id: 1, text: 'A really great movie' })}\n${JSON.stringify({ id: 2, text: 'the plot was awful' })}\n${JSON.stringify({ id: 3, text: '' })}\n`);
    const p = cli(['predict', '--model', out, '--input', input, '--output', path.join(tmp, 'txt-out.jsonl'), '-q']);
    expect(p.status, p.stderr).toBe(0);
    const rows = fs.readFileSync(path.join(tmp, 'txt-out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => x.id)).toEqual([1, 2, 3]);
    expect(rows[0].label).toBe('positive');
    expect(rows[1].label).toBe('negative');
  });

  it('refuses to overwrite a run without --overwrite, and --resume needs a checkpoint', () => {
    const out = path.join(tmp, 'fc');
    const r = cli(['train', '--data', forecastCsv, '--task', 'forecast', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--resume/);
    const n = cli(['train', '--out', path.join(tmp, 'nothing-here'), '--resume']);
    expect(n.status).toBe(2);
    expect(n.stderr).toMatch(/no checkpoint/);
  });

  it('resumes after an interruption from the checkpoint epoch, keeping the finished epochs', () => {
    const out = path.join(tmp, 'resume');
    const args = ['train', '--data', forecastCsv, '--task', 'forecast', '--target', 'temp', '--window', '12', '--epochs', '7', '--patience', '100', '--out', out];
    const first = cli([...args, '--stop-after-epochs', '3']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/--resume/);
    const state = json(path.join(out, 'checkpoint', 'state.json'));
    expect(state.epochsDone).toBe(3);
    expect(fs.existsSync(path.join(out, 'checkpoint', state.latest, 'model.json'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'model'))).toBe(false);
    const lossesBefore = state.history.loss;

    const second = cli(['train', '--out', out, '--resume']);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming from the checkpoint after epoch 3/);
    const h = json(path.join(out, 'history.json'));
    expect(h.epoch).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(h.history.loss.slice(0, 3)).toEqual(lossesBefore);
    // Adam's state came back: the loss goes on falling from where it was, not from a fresh start.
    expect(h.history.loss[3]).toBeLessThan(h.history.loss[0]);
    expect(json(path.join(out, 'metrics.json')).epochs).toBe(7);
    expect(fs.existsSync(path.join(out, 'model', 'model.json'))).toBe(true);
    // Only the current checkpoint directories are kept.
    const dirs = fs.readdirSync(path.join(out, 'checkpoint')).filter((d) => /^(epoch|best)-/.test(d));
    expect(dirs.length).toBeLessThanOrEqual(2);
  });

  it('resumes after SIGKILL mid-training without losing finished epochs', { timeout: 120_000 }, async () => {
    const out = path.join(tmp, 'killed');
    const args = [BIN, 'train', '--data', forecastCsv, '--task', 'forecast', '--target', 'temp', '--window', '24', '--units', '48', '--epochs', '400', '--patience', '1000', '--out', out, '-q'];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    const stateFile = path.join(out, 'checkpoint', 'state.json');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let killedAt = 0;
    for (let i = 0; i < 1000 && killedAt === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        const s = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
        if (s.epochsDone >= 2) {
          child.kill('SIGKILL');
          killedAt = s.epochsDone;
        }
      } catch {
        /* not written yet */
      }
    }
    await exited;
    expect(killedAt).toBeGreaterThanOrEqual(2);
    const state = json(stateFile);
    expect(state.epochsDone).toBeGreaterThanOrEqual(killedAt);
    expect(state.epochsDone).toBeLessThan(400);

    const r = cli(['train', '--out', out, '--resume', '--epochs', String(state.epochsDone + 3), '-q']);
    expect(r.status, r.stderr).toBe(0);
    const h = json(path.join(out, 'history.json'));
    expect(h.epoch).toEqual(Array.from({ length: state.epochsDone + 3 }, (_, i) => i));
    expect(h.history.loss.slice(0, state.epochsDone)).toEqual(state.history.loss);
  });
});
