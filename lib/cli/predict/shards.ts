/**
 * Splitting a predict job into shards and joining their outputs.
 *
 * A shard is a range of input lines (1-based, inclusive, the file's own
 * line numbers; a CSV header line belongs to no shard and every shard
 * reads it): `--lines A:B` (B or A may be left out: `:B`, `A:`), or
 * `--shard i/n` (i from 1 to n), which cuts the data lines into n
 * contiguous ranges of nearly equal size. Independent workers run one
 * shard each into their own output file; each records what it did in
 * `<output>.job.json`, and `merge` checks those records (same input,
 * complete, contiguous, together covering the file) before joining the
 * parts in line order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { atomicWriteFile, tempPathFor, fsyncDirectory } from '../../io/atomicWrite.js';
import { JobError, UsageError } from '../errors.js';
import { countLines } from '../data/lines.js';

/** An inclusive range of file lines; `last` null: to the end of the file. */
export interface LineRange {
  first: number;
  last: number | null;
}

/** Parses `--lines A:B`. */
export function parseLines(spec: string): LineRange {
  const m = /^\s*(\d*)\s*:\s*(\d*)\s*$/.exec(spec);
  if (!m || (m[1] === '' && m[2] === '')) throw new UsageError(`--lines must be A:B, A: or :B with 1-based line numbers, got ${JSON.stringify(spec)}`);
  const first = m[1] === '' ? 1 : Number(m[1]);
  const last = m[2] === '' ? null : Number(m[2]);
  if (first < 1) throw new UsageError(`--lines ${spec}: lines are numbered from 1`);
  if (last !== null && last < first) throw new UsageError(`--lines ${spec}: the last line is before the first`);
  return { first, last };
}

/** Parses `--shard i/n`. */
export function parseShard(spec: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  if (!m) throw new UsageError(`--shard must be i/n (shard i of n, i from 1 to n), got ${JSON.stringify(spec)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${spec}: shards are numbered 1 to n (n >= 1)`);
  return { index, count };
}

/** The line range of shard `index` of `count` over data lines firstData..totalLines. */
export function shardRange(index: number, count: number, firstData: number, totalLines: number): LineRange {
  const size = Math.max(0, totalLines - firstData + 1);
  const from = firstData + Math.floor(((index - 1) * size) / count);
  const to = firstData + Math.floor((index * size) / count) - 1;
  return { first: from, last: to };
}

/** `<output>.job.json`: what a predict job is doing or did. */
export interface JobRecord {
  format: 'gatedrnn-predict-job';
  version: 1;
  input: { path: string; size: number; mtimeMs: number };
  model: string;
  /** The lines asked for (last null: to the end). */
  lines: LineRange;
  shard: string | null;
  skipBad: boolean;
  /** Rows per block: results are computed in blocks of this many data rows (part of the job's identity). */
  batchSize: number;
  complete: boolean;
  /** When complete: rows written, bad rows, the last line read, and whether it was the file's last. */
  rows?: number;
  bad?: number;
  lastLine?: number;
  eof?: boolean;
  /** Lines of the input (when known: sharding counts them). */
  totalLines?: number;
  firstDataLine: number;
  peakRssMb?: number;
  seconds?: number;
}

export const jobRecordPath = (output: string): string => `${output}.job.json`;

export function readJobRecord(output: string): JobRecord | null {
  const file = jobRecordPath(output);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const r = JSON.parse(text) as JobRecord;
    if (r.format !== 'gatedrnn-predict-job') throw new Error('not a predict job record');
    return r;
  } catch (e) {
    throw new JobError(`${file}: ${(e as Error).message}`);
  }
}

export async function writeJobRecord(output: string, r: JobRecord): Promise<void> {
  await atomicWriteFile(jobRecordPath(output), `${JSON.stringify(r, null, 1)}\n`);
}

/**
 * Why two records are not the same job (input path, model, lines, batch
 * size), or null. A changed input file (fixed after a bad row) is still the
 * same job (the caller warns), and so is a re-run that adds --skip-bad.
 */
export function sameJob(a: JobRecord, b: JobRecord): string | null {
  if (a.input.path !== b.input.path) return `input ${a.input.path}, not ${b.input.path}`;
  if (a.model !== b.model) return `model ${a.model}, not ${b.model}`;
  if ((a.batchSize ?? b.batchSize) !== b.batchSize) return `--batch-size ${a.batchSize}, not ${b.batchSize}`;
  if (a.lines.first !== b.lines.first || a.lines.last !== b.lines.last) return `lines ${a.lines.first}:${a.lines.last ?? ''}, not ${b.lines.first}:${b.lines.last ?? ''}`;
  return null;
}

/** Streams `parts` into `output` in order, crash-safe (temp file, fsync, rename). */
async function concatenate(parts: string[], output: string): Promise<number> {
  const temp = tempPathFor(output);
  let bytes = 0;
  const fh = await fs.promises.open(temp, 'wx', 0o644);
  try {
    for (const p of parts) {
      for await (const chunk of fs.createReadStream(p, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        await fh.write(chunk);
        bytes += chunk.length;
      }
    }
    await fh.sync();
    await fh.close();
    await fs.promises.rename(temp, output);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.promises.unlink(temp).catch(() => undefined);
    throw e;
  }
  await fsyncDirectory(path.dirname(path.resolve(output)));
  return bytes;
}

/**
 * Joins shard outputs into `output`. Each part needs its job record
 * (unless `force`): all complete, the same input, contiguous line ranges
 * from the first data line to the end of the file. Returns rows and parts.
 */
export async function mergeShards(opts: { output: string; parts: string[]; shardsDir: string | null; force: boolean }): Promise<{ rows: number; parts: number }> {
  let parts = opts.parts.map((p) => path.resolve(p));
  if (opts.shardsDir) {
    const dir = path.resolve(opts.shardsDir);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      throw new UsageError(`--shards ${opts.shardsDir}: not a directory`);
    }
    const found = names.filter((n) => n.endsWith('.job.json')).map((n) => path.join(dir, n.slice(0, -'.job.json'.length)));
    const out = path.resolve(opts.output);
    parts.push(...found.filter((p) => p !== out));
    if (found.length === 0) throw new UsageError(`--shards ${opts.shardsDir}: no shard outputs there (no *.job.json records)`);
  }
  parts = [...new Set(parts)];
  if (parts.length === 0) throw new UsageError('merge: give the part files, or --shards DIR');
  if (parts.includes(path.resolve(opts.output))) throw new UsageError('merge: --output must not be one of the parts');
  for (const p of parts) if (!fs.existsSync(p)) throw new UsageError(`merge: ${p} does not exist`);
  const records = parts.map((p) => ({ path: p, record: readJobRecord(p) }));
  if (opts.force) {
    const rows = await concatenate(parts, opts.output).then(() => countLines(opts.output));
    return { rows, parts: parts.length };
  }
  for (const r of records) {
    if (!r.record) throw new JobError(`merge: ${r.path} has no job record (${jobRecordPath(r.path)}); was it written by gatedrnn predict? (--force joins the files as given, unchecked)`);
    if (!r.record.complete) throw new JobError(`merge: ${r.path} is not complete (its predict job has not finished; re-run it to resume)`);
  }
  const recs = records as Array<{ path: string; record: JobRecord }>;
  const input = recs[0].record.input;
  for (const r of recs) {
    if (r.record.input.path !== input.path || r.record.input.size !== input.size || r.record.input.mtimeMs !== input.mtimeMs) {
      throw new JobError(`merge: ${r.path} was made from ${r.record.input.path} (${r.record.input.size} bytes), ${recs[0].path} from ${input.path} (${input.size} bytes); the parts must come from the same input`);
    }
    if (r.record.model !== recs[0].record.model) throw new JobError(`merge: ${r.path} used the model ${r.record.model}, ${recs[0].path} ${recs[0].record.model}`);
    if (r.record.batchSize !== recs[0].record.batchSize) throw new JobError(`merge: ${r.path} ran with --batch-size ${r.record.batchSize}, ${recs[0].path} with ${recs[0].record.batchSize}; results are computed in blocks of that size, so all parts must use the same`);
  }
  recs.sort((a, b) => a.record.lines.first - b.record.lines.first);
  let expected = recs[0].record.firstDataLine;
  let rows = 0;
  for (const r of recs) {
    const rec = r.record;
    const first = Math.max(rec.lines.first, rec.firstDataLine);
    if (first > expected) throw new JobError(`merge: lines ${expected} to ${first - 1} are in no part (next part: ${r.path}, from line ${first})`);
    if (first < expected) throw new JobError(`merge: ${r.path} starts at line ${first}, which an earlier part already covers (up to line ${expected - 1})`);
    const count = await countLines(r.path);
    if (count !== rec.rows) throw new JobError(`merge: ${r.path} has ${count} lines, its job record says ${rec.rows}`);
    rows += count;
    expected = (rec.lastLine ?? first - 1) + 1;
  }
  const last = recs[recs.length - 1].record;
  if (!last.eof) throw new JobError(`merge: the parts end at line ${expected - 1}, before the end of the input (${last.totalLines ?? '?'} lines)`);
  await concatenate(recs.map((r) => r.path), opts.output);
  return { rows, parts: recs.length };
}
