/**
 * The tutorial-model examples in quick mode, as CI runs them: each
 * `examples/<name>/run.mjs --quick` runs in its own Node process (importing
 * the built package by its name, 'gatedrnn'), prints its result as the last
 * JSON line, and must beat its baseline with the score it states.
 * Needs `npm run build:ts` (dist/).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child';

interface ExampleResult {
  example: string;
  metric: string;
  value: number;
  baseline: number;
  beatsBaseline: boolean;
  quick: boolean;
  [k: string]: unknown;
}

function runExample(name: string): Promise<{ result: ExampleResult; stderr: string; seconds: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join('examples', name, 'run.mjs'), '--quick'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`examples/${name}/run.mjs --quick exited with ${code}:\n${stderr}`));
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ result: JSON.parse(last) as ExampleResult, stderr, seconds: (Date.now() - t0) / 1000 });
      } catch {
        reject(new Error(`examples/${name}: the last line of stdout is not JSON: ${JSON.stringify(last)}\n${stderr}`));
      }
    });
  });
}

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.mjs'))) throw new Error('dist/index.mjs is missing: run `npm run build:ts` first');
});

// [folder, check of the stated value]. Quick mode is seeded, so these hold run after run; the bounds
// leave room for other BLAS builds' rounding.
const CASES: Array<[string, (r: ExampleResult) => void]> = [
  ['sunspots', (r) => {
    expect(r.metric).toBe('testRmse');
    expect(r.baseline).toBeCloseTo(14.0775, 3); // persistence on 2001-01..2013-09
    expect(r.value).toBeLessThan(13.8);
  }],
  ['sentimentStackedGru', (r) => {
    expect(r.baseline).toBe(0.729);
    expect(r.value).toBeGreaterThan(0.76);
  }],
  ['textClassification', (r) => {
    expect(r.baseline).toBe(0.729);
    expect(r.value).toBeGreaterThan(0.76);
  }],
  ['dnaSplice', (r) => {
    expect(r.baseline).toBe(0.94);
    expect(r.ruleAccuracy).toBeCloseTo(0.9105, 4); // the README's consensus rule, recomputed
    expect(r.value).toBeGreaterThan(0.94);
  }],
  ['digitsRows', (r) => {
    expect(r.baseline).toBe(0.903);
    expect(r.value).toBeGreaterThan(0.91);
  }],
];

describe('examples (quick mode)', () => {
  for (const [name, check] of CASES) {
    it(`${name}: beats its baseline`, { timeout: 60_000 }, async () => {
      const { result, stderr } = await runExample(name);
      expect(result.example).toBe(name);
      expect(result.quick).toBe(true);
      expect(Number.isFinite(result.value), stderr).toBe(true);
      expect(result.beatsBaseline, `${JSON.stringify(result)}\n${stderr}`).toBe(true);
      check(result);
    });
  }
});
