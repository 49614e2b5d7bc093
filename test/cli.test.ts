/**
 * The command line, end to end through the built bin (dist/cli.cjs, made by
 * `npm run build:ts`): `demo` on the bundled CO2 series, `info`, and the
 * exit codes of usage errors.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runNode } from './helpers/child';

const BIN = path.join(ROOT, 'bin', 'gatedrnn.cjs');

function cli(args: string[], env: Record<string, string> = {}, cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 170_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;
beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.cjs'))) throw new Error('dist/cli.cjs is missing: run `npm run build:ts` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('gatedrnn demo', () => {
  it('trains on the bundled CO2 series, beats the seasonal-naive baseline, saves a model that loads and predicts, draws SVGs', { timeout: 180_000 }, () => {
    const out = path.join(tmp, 'demo');
    const t0 = Date.now();
    const r = cli(['demo', '--out', out]);
    const seconds = (Date.now() - t0) / 1000;
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(seconds).toBeLessThan(90);
    expect(r.stderr).toMatch(/Keeling/);
    expect(r.stderr).toMatch(/test RMSE/);

    for (const f of ['model/model.json', 'model/preprocessing.json', 'metrics.json', 'forecast.svg', 'training.svg', 'test-windows.jsonl']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    const m = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(m.units).toBe('ppm');
    expect(m.baseline).toMatch(/seasonal naive/);
    expect(m.testRmse).toBeGreaterThan(0);
    expect(m.testRmse).toBeLessThan(m.baselineRmse);
    expect(m.testRmse).toBeLessThan(m.lastValueRmse);
    expect(m.beatsBaseline).toBe(true);

    for (const f of ['forecast.svg', 'training.svg']) {
      const svg = fs.readFileSync(path.join(out, f), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).toMatch(/<path /);
      // Well-formed enough for a parser: every opened element closed.
      const open = (svg.match(/<(g|svg|text)[ >]/g) ?? []).length;
      const close = (svg.match(/<\/(g|svg|text)>/g) ?? []).length;
      expect(close).toBe(open);
    }

    // The saved model loads with the library and predicts the test months with the same error.
    const code = `
      (async () => {
        const g = require('./dist/index.cjs');
        const m = await g.loadModel(${JSON.stringify(path.join(out, 'model'))});
        const x = g.tensor(new Float32Array(35), [1, 35, 1]);
        const y = await m.predict(x);
        console.log(JSON.stringify(y.shape));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const lr = runNode(code);
    expect(lr.status, lr.stderr).toBe(0);
    expect(lr.stdout.trim()).toBe('[1,1]');

    // The CLI's predict on the demo's test windows gives the demo's test RMSE.
    const preds = path.join(tmp, 'demo-preds.jsonl');
    const p = cli(['predict', '--model', path.join(out, 'model'), '--input', path.join(out, 'test-windows.jsonl'), '--output', preds]);
    expect(p.status, p.stderr).toBe(0);
    const rows = fs.readFileSync(preds, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(48);
    const truth = new Map(
      fs.readFileSync(path.join(ROOT, 'data', 'co2', 'co2.csv'), 'utf8').trim().split('\n').slice(1).map((l) => {
        const [y, mo, v] = l.split(',');
        return [`${y}-${mo.padStart(2, '0')}`, Number(v)] as const;
      }),
    );
    const se = rows.reduce((s, r) => s + (r.y[0] - truth.get(r.id)!) ** 2, 0);
    expect(Math.sqrt(se / rows.length)).toBeCloseTo(m.testRmse, 3);
  });
});

describe('gatedrnn info', () => {
  it('prints the version, backend and why, BLAS and threads', () => {
    const r = cli(['info']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^gatedrnn\s+\d+\.\d+\.\d+/m);
    expect(r.stdout).toMatch(/^backend\s+(native|js)/m);
    expect(r.stdout).toMatch(/^threads\s+\d+/m);
    expect(r.stdout).toMatch(/^blas\s+/m);
    expect(r.stdout).toMatch(/^cpu features\s+/m);
    const j = JSON.parse(cli(['info', '--json']).stdout);
    expect(['native', 'js']).toContain(j.backend);
    expect(j.threads).toBeGreaterThanOrEqual(1);
  });

  it('on the TypeScript backend says why and how to get native', () => {
    const r = cli(['info'], { GATEDRNN_BACKEND: 'js' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^backend\s+js \(pure TypeScript\): GATEDRNN_BACKEND=js/m);
  });
});

describe('exit codes and messages', () => {
  it('usage errors exit 2 with a one-line message and no stack trace', () => {
    for (const args of [['bogus'], ['train', '--task', 'forecast'], ['predict', '--model', 'x'], ['train', '--data', 'nope.csv', '--task', 'forecast', '--out', tmp], ['demo', '--epochs', 'many']]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
      expect(r.stderr.trim().length).toBeGreaterThan(0);
    }
  });

  it('--help and --version exit 0', () => {
    expect(cli(['--help']).status).toBe(0);
    expect(cli(['predict', '--help']).stdout).toMatch(/--skip-bad/);
    expect(cli(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('job errors exit 1; --verbose adds the stack trace', () => {
    const bad = path.join(tmp, 'bad.csv');
    fs.writeFileSync(bad, 't,v\n1,2\n2,x\n3,4\n');
    const r = cli(['train', '--data', bad, '--task', 'forecast', '--out', path.join(tmp, 'badrun'), '--window', '2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/line 3: v is "x", not a number/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const v = cli(['train', '--data', bad, '--task', 'forecast', '--out', path.join(tmp, 'badrun2'), '--window', '2', '--verbose']);
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(/\n\s+at /);
  });
});
