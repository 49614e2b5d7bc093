/**
 * Examples 5-7 in their quick mode, each as a child process the way a user
 * runs it (`node examples/<name>/run.mjs --quick`, importing 'gatedrnn',
 * i.e. dist/: needs `npm run build:ts`): the character-level language model
 * with stateful sampling, the encoder-decoder, and GRU against LSTM. Each
 * prints a final JSON line; every one must beat its baseline.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child';

interface Summary {
  example: string;
  metric: string;
  value: number;
  baseline: number;
  beatsBaseline: boolean;
  lowerIsBetter?: boolean;
  seconds: number;
  [k: string]: unknown;
}

/** Runs an example's quick mode; resolves to its stdout, exit code and final JSON line. */
function runQuick(name: string): Promise<{ code: number | null; stdout: string; stderr: string; summary: Summary; wallSeconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'examples', name, 'run.mjs'), '--quick'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let summary: Summary;
      try {
        summary = JSON.parse(last);
      } catch {
        reject(new Error(`${name}: the last line of stdout is not JSON (exit ${code}):\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
        return;
      }
      resolve({ code, stdout, stderr, summary, wallSeconds: (performance.now() - t0) / 1000 });
    });
  });
}

function checkSummary(r: Awaited<ReturnType<typeof runQuick>>, name: string): void {
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  const s = r.summary;
  expect(s.example).toBe(name);
  expect(s.mode).toBe('quick');
  expect(typeof s.metric).toBe('string');
  expect(Number.isFinite(s.value)).toBe(true);
  expect(Number.isFinite(s.baseline)).toBe(true);
  expect(s.beatsBaseline).toBe(true);
  // The flag agrees with the numbers.
  if (s.lowerIsBetter) expect(s.value).toBeLessThan(s.baseline);
  else expect(s.value).toBeGreaterThan(s.baseline);
  console.log(`${name} --quick: ${s.metric} ${s.value} vs baseline ${s.baseline}, ${r.wallSeconds.toFixed(1)} s`);
}

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.mjs'))) throw new Error('dist/ is missing: run `npm run build:ts` first');
});

describe('examples 5-7, quick mode', () => {
  it('charLM: held-out bits/char below the bigram model, and stateful sampling matches the trained model', { timeout: 90_000 }, async () => {
    const r = await runQuick('charLM');
    checkSummary(r, 'charLM');
    expect(r.summary.value).toBeLessThan(r.summary.unigram as number);
    expect(r.stdout).toMatch(/stateful, one character per call = whole sequence in the training model: max \|dp\| = /);
    const samples = r.stdout.split('--- sample').slice(1);
    expect(samples).toHaveLength(2);
    expect(samples[0]).toMatch(/It is a truth universally acknowledged.{100}/s);
  });

  it('seq2seq: exact answers of the greedy encoder-decoder above the baselines', { timeout: 90_000 }, async () => {
    const r = await runQuick('seq2seq');
    checkSummary(r, 'seq2seq');
    const b = r.summary.baselines as { mostFrequentAnswer: number; noCarry: number };
    expect(r.summary.value).toBeGreaterThan(b.mostFrequentAnswer);
    expect(r.summary.value).toBeGreaterThan(b.noCarry);
    expect(r.stdout).toMatch(/step-by-step decoder = teacher-forced training model: max \|dp\| = /);
    expect(r.stdout).toMatch(/^\s+\d+\+\d+ = \d+/m);
  });

  it('gruVsLstm: both beat the baseline; the table lists accuracy, parameters and times', { timeout: 90_000 }, async () => {
    const r = await runQuick('gruVsLstm');
    checkSummary(r, 'gruVsLstm');
    const dna = (r.summary.results as Record<string, Record<string, { accuracy: number; params: number; trainSeconds: number }>>).dna;
    for (const kind of ['gru', 'lstm']) {
      expect(dna[kind].accuracy).toBeGreaterThan(r.summary.baseline);
      expect(dna[kind].params).toBeGreaterThan(0);
      expect(dna[kind].trainSeconds).toBeGreaterThan(0);
    }
    // Same sizes: the LSTM has 4 gate blocks where the GRU (reset after, two biases) has 3.
    expect(dna.lstm.params).toBeGreaterThan(dna.gru.params);
    expect(r.stdout).toMatch(/^\| GRU\(16\) \| 3939 \|/m);
    expect(r.stdout).toMatch(/^\| LSTM\(16\) \| 4227 \|/m);
  });
});
