/**
 * `gatedrnn predict` and `merge` through the built bin: one output line per
 * input row in input order, resuming after SIGKILL with every row exactly
 * once (byte-identical to an uninterrupted run), shards joined by merge
 * identical to one run, bad rows (stop with `line N:` keeping the rows
 * before, or --skip-bad with a rejects file), and bounded memory on a
 * large input.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child';
import { rng } from './helpers/random.js';

const BIN = path.join(ROOT, 'bin', 'gatedrnn.cjs');

function cli(args: string[], nodeArgs: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...nodeArgs, BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}


const read = (f: string): string => fs.readFileSync(f, 'utf8');
const lines = (f: string): string[] => read(f).split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');

let tmp: string;
let model: string;
let input: string;
const N = 30000;
const WINDOW = 12;

/** A window of WINDOW steps × 2 features, as the forecast model takes. */
function windowOf(r: () => number): number[][] {
  return Array.from({ length: WINDOW }, () => [Number((5 + 10 * r()).toFixed(3)), Number((40 + 40 * r()).toFixed(3))]);
}

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.cjs'))) throw new Error('dist/cli.cjs is missing: run `npm run build:ts` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-cli-predict-'));
  const r = rng(3);
  const train = ['t,temp,load'];
  for (let i = 0; i < 200; i++) train.push(`${i},${(10 + 5 * Math.sin(i / 6) + r() * 0.3).toFixed(4)},${(50 + 0.1 * i + 3 * Math.cos(i / 6)).toFixed(4)}`);
  fs.writeFileSync(path.join(tmp, 'train.csv'), `${train.join('\n')}\n`);
  model = path.join(tmp, 'run');
  const t = cli(['train', '--data', path.join(tmp, 'train.csv'), '--task', 'forecast', '--target', 'temp', '--features', 'temp,load', '--window', String(WINDOW), '--epochs', '3', '--out', model, '-q']);
  if (t.status !== 0) throw new Error(`training the test model failed: ${t.stderr}`);
  input = path.join(tmp, 'input.jsonl');
  const out: string[] = [];
  for (let i = 0; i < N; i++) out.push(JSON.stringify({ id: `row-${i + 1}`, x: windowOf(r) }));
  fs.writeFileSync(input, `${out.join('\n')}\n`);
}, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const predictArgs = (output: string, ...more: string[]): string[] => ['predict', '--model', model, '--input', input, '--output', output, '-q', ...more];

describe('gatedrnn predict', () => {
  let reference: string;

  it('writes exactly one line per input row, in input order; JSON Lines and CSV give the same', () => {
    reference = path.join(tmp, 'reference.jsonl');
    const r = cli(predictArgs(reference, '--batch-size', '32'));
    expect(r.status, r.stderr).toBe(0);
    const out = lines(reference);
    expect(out).toHaveLength(N);
    out.forEach((l, i) => {
      const o = JSON.parse(l);
      expect(o.id).toBe(`row-${i + 1}`);
      expect(o.y).toHaveLength(1);
      expect(Number.isFinite(o.y[0])).toBe(true);
    });
    const record = JSON.parse(read(`${reference}.job.json`));
    expect(record).toMatchObject({ complete: true, rows: N, bad: 0, eof: true });

    // The first 512 rows (whole blocks of 32) as CSV (id column + flattened steps).
    const csv = path.join(tmp, 'input.csv');
    const header = ['id', ...Array.from({ length: WINDOW }, (_, t) => [`temp${t}`, `load${t}`]).flat()];
    const rows = lines(input).slice(0, 512).map((l) => {
      const o = JSON.parse(l);
      return [o.id, ...o.x.flat()].join(',');
    });
    fs.writeFileSync(csv, `${header.join(',')}\n${rows.join('\n')}\n`);
    const c = cli(['predict', '--model', model, '--input', csv, '--output', path.join(tmp, 'csv-out.jsonl'), '-q', '--batch-size', '32']);
    expect(c.status, c.stderr).toBe(0);
    expect(lines(path.join(tmp, 'csv-out.jsonl'))).toEqual(lines(reference).slice(0, 512));
  });

  it('resumes after SIGKILL: each row exactly once, byte-identical to the uninterrupted run', { timeout: 120_000 }, async () => {
    const output = path.join(tmp, 'killed.jsonl');
    const refSize = fs.statSync(reference).size;
    const killMidRun = async (): Promise<number> => {
      const before = fs.existsSync(output) ? fs.statSync(output).size : 0;
      const child = spawn(process.execPath, [BIN, ...predictArgs(output, '--batch-size', '32', '--fsync-seconds', '0')], { cwd: ROOT, stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      for (let i = 0; i < 5000; i++) {
        await new Promise((r) => setTimeout(r, 5));
        const size = fs.existsSync(output) ? fs.statSync(output).size : 0;
        if (size > before + 40_000) break;
      }
      child.kill('SIGKILL');
      await exited;
      return fs.statSync(output).size;
    };
    const size1 = await killMidRun();
    expect(size1).toBeGreaterThan(0);
    expect(size1).toBeLessThan(refSize);
    const size2 = await killMidRun();
    expect(size2).toBeGreaterThan(size1);
    expect(size2).toBeLessThan(refSize);
    // As a kill in the middle of a write would leave it: half a line.
    fs.appendFileSync(output, '{"id":"row-99999","y":[12.3');
    const r = cli(predictArgs(output, '--batch-size', '32'));
    expect(r.status, r.stderr).toBe(0);
    expect(read(output)).toBe(read(reference));
    expect(JSON.parse(read(`${output}.job.json`))).toMatchObject({ complete: true, rows: N });
    // Running again does nothing.
    const again = cli(['predict', '--model', model, '--input', input, '--output', output, '--batch-size', '32']);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/already complete/);
    expect(read(output)).toBe(read(reference));
  });

  it('refuses to continue an output that belongs to another job', () => {
    const other = path.join(tmp, 'other.jsonl');
    fs.writeFileSync(other, 'not ours\n');
    expect(cli(predictArgs(other)).status).toBe(2);
    const r = cli(predictArgs(reference, '--batch-size', '64'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/another job.*--batch-size/);
  });

  it('shards (--shard i/n, --lines A:B) joined by merge equal one run', () => {
    const dir = path.join(tmp, 'shards');
    for (let i = 1; i <= 3; i++) {
      const r = cli(predictArgs(path.join(dir, `part-${i}.jsonl`), '--shard', `${i}/3`, '--batch-size', '32'));
      expect(r.status, r.stderr).toBe(0);
    }
    const rec = JSON.parse(read(path.join(dir, 'part-2.jsonl.job.json')));
    expect(rec.lines).toEqual({ first: 10001, last: 20000 });
    const merged = path.join(tmp, 'merged.jsonl');
    const m = cli(['merge', '--output', merged, '--shards', dir]);
    expect(m.status, m.stderr).toBe(0);
    expect(read(merged)).toBe(read(reference));

    // Explicit parts in any order, from uneven line ranges that cut through batches.
    const a = path.join(tmp, 'lines-a.jsonl');
    const b = path.join(tmp, 'lines-b.jsonl');
    expect(cli(predictArgs(a, '--lines', '1:12345', '--batch-size', '32')).status).toBe(0);
    expect(cli(predictArgs(b, '--lines', '12346:', '--batch-size', '32')).status).toBe(0);
    const merged2 = path.join(tmp, 'merged2.jsonl');
    expect(cli(['merge', '--output', merged2, b, a]).status).toBe(0);
    expect(read(merged2)).toBe(read(reference));

    // A missing part is refused, and so is an unfinished one.
    const gap = cli(['merge', '--output', path.join(tmp, 'gap.jsonl'), path.join(dir, 'part-1.jsonl'), path.join(dir, 'part-3.jsonl')]);
    expect(gap.status).toBe(1);
    expect(gap.stderr).toMatch(/lines 10001 to 20000 are in no part/);
    const rec3 = JSON.parse(read(path.join(dir, 'part-3.jsonl.job.json')));
    fs.writeFileSync(path.join(dir, 'part-3.jsonl.job.json'), JSON.stringify({ ...rec3, complete: false }));
    const unfinished = cli(['merge', '--output', path.join(tmp, 'u.jsonl'), '--shards', dir]);
    expect(unfinished.status).toBe(1);
    expect(unfinished.stderr).toMatch(/not complete/);
  });

  it('stops at a bad row with `line N:` and exit 1, keeping the rows before it; fixed, it continues', () => {
    const bad = path.join(tmp, 'bad.jsonl');
    const src = lines(input).slice(0, 40);
    const broken = [...src];
    broken[5] = JSON.stringify({ id: 'row-6', x: windowOf(rng(1)).map((s, i) => (i === 3 ? [s[0], 'abc'] : s)) });
    fs.writeFileSync(bad, `${broken.join('\n')}\n`);
    const output = path.join(tmp, 'bad-out.jsonl');
    const r = cli(['predict', '--model', model, '--input', bad, '--output', output, '--batch-size', '32']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/line 6: "x"\[3\]\[1\] is the string "abc", not a finite number/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const kept = lines(output);
    expect(kept).toHaveLength(5);
    kept.forEach((l, i) => expect(JSON.parse(l).id).toBe(`row-${i + 1}`));
    // Fix the row and run the same command: it continues after the 5 rows.
    fs.writeFileSync(bad, `${src.join('\n')}\n`);
    const again = cli(['predict', '--model', model, '--input', bad, '--output', output, '--batch-size', '32']);
    expect(again.status, again.stderr).toBe(0);
    expect(lines(output).map((l) => JSON.parse(l).id)).toEqual(src.map((l) => JSON.parse(l).id));
  });

  it('--skip-bad writes {"line", "error"} in the bad row\'s place and lists it in the rejects file', () => {
    const bad = path.join(tmp, 'skip.jsonl');
    const src = lines(input).slice(0, 30);
    const broken = [...src];
    broken[2] = '{"id": "row-3", "x": [[1, 2], [3';
    broken[6] = JSON.stringify({ id: 'row-7', x: windowOf(rng(2)).slice(0, 5) });
    broken[9] = '';
    broken[14] = JSON.stringify({ id: 'row-15', x: windowOf(rng(2)).map((s) => [s[0]]) });
    fs.writeFileSync(bad, `${broken.join('\n')}\n`);
    const output = path.join(tmp, 'skip-out.jsonl');
    const r = cli(['predict', '--model', model, '--input', bad, '--output', output, '--skip-bad']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/4 bad rows/);
    const out = lines(output).map((l) => JSON.parse(l));
    expect(out).toHaveLength(30);
    expect(out[2]).toMatchObject({ line: 3, error: expect.stringMatching(/not valid JSON/) });
    expect(out[6]).toMatchObject({ id: 'row-7', line: 7, error: expect.stringMatching(/5 steps.*exactly 12/) });
    expect(out[9]).toMatchObject({ line: 10, error: 'empty line' });
    expect(out[14]).toMatchObject({ id: 'row-15', line: 15, error: expect.stringMatching(/1 feature/) });
    const ref = lines(reference).slice(0, 30).map((l) => JSON.parse(l));
    out.forEach((o, i) => {
      if ([2, 6, 9, 14].includes(i)) return;
      expect(o.id).toBe(ref[i].id);
      expect(o.y[0]).toBeCloseTo(ref[i].y[0], 4);
    });
    const rejects = lines(`${output}.rejects.jsonl`).map((l) => JSON.parse(l));
    expect(rejects.map((x) => x.line)).toEqual([3, 7, 10, 15]);
  });

  it('streams a large input with bounded memory (50k lines of ~2 KB under a 64 MB heap)', { timeout: 170_000 }, () => {
    const big = path.join(tmp, 'big.jsonl');
    const fd = fs.openSync(big, 'w');
    const r = rng(5);
    const note = 'x'.repeat(2000);
    let chunk: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      chunk.push(JSON.stringify({ id: i, note, x: windowOf(r) }));
      if (chunk.length === 1000) {
        fs.writeSync(fd, `${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    fs.closeSync(fd);
    const size = fs.statSync(big).size;
    expect(size).toBeGreaterThan(100e6);
    const output = path.join(tmp, 'big-out.jsonl');
    const res = cli(['predict', '--model', model, '--input', big, '--output', output, '-q'], ['--max-old-space-size=64']);
    expect(res.status, res.stderr).toBe(0);
    const rec = JSON.parse(read(`${output}.job.json`));
    expect(rec.rows).toBe(50_000);
    // The whole file would not even fit in the heap; the process stays far below the input's size.
    expect(rec.peakRssMb).toBeLessThan(size / 1e6);
    expect(rec.peakRssMb).toBeLessThan(250);
    fs.rmSync(big);
  });
});
