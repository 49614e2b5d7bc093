/**
 * The predict job: streams an input file (JSON Lines or CSV), runs the
 * model on batches of rows, and writes one JSON line per input row, in
 * input order, to the output. Memory stays bounded whatever the file size
 * (one chunk of input and two batches at a time: the model computes one
 * block while the main thread parses the next and writes the previous, so
 * the forward, off the main thread, overlaps the parsing and writing).
 *
 * Restartable: the output is its own progress record (see output.ts); a
 * re-run after a kill cuts a partial last line and continues with the next
 * row, so every row appears exactly once. The output is fsynced every few
 * seconds and at the end, and `<output>.job.json` records the job (input,
 * model, line range) so a re-run cannot continue someone else's output,
 * and `merge` can check shards.
 *
 * Bad rows (not JSON, wrong length or feature count, non-numeric values):
 * by default the job writes every row before the bad one, then stops with
 * `line N: reason` (exit 1); a re-run after fixing the row continues there.
 * With `--skip-bad`, the bad row's output line is `{"id"?, "line": N,
 * "error": "..."}` in its place (so there is still exactly one output line
 * per input row) and the same line goes to the rejects file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { atomicWriteFile } from '../../io/atomicWrite.js';
import type { LayersModel } from '../../models/layersModel.js';
import { JobError, UsageError } from '../errors.js';
import { countLines, readLines } from '../data/lines.js';
import { parseCsvLine } from '../data/csv.js';
import { isJsonlPath } from '../data/jsonl.js';
import { loadModelDir, resolveModelDir } from '../model/store.js';
import { RowReader, type GoodRow, type Row } from './rows.js';
import { scanAndTruncateOutput } from './output.js';
import { jobRecordPath, readJobRecord, sameJob, shardRange, writeJobRecord, type JobRecord, type LineRange } from './shards.js';
import { JobProgress } from './progress.js';

export interface PredictJobOptions {
  model: string;
  input: string;
  output: string;
  format: 'csv' | 'jsonl' | null;
  lines: LineRange | null;
  shard: { index: number; count: number } | null;
  batchSize: number;
  skipBad: boolean;
  /** Rejects file (with skipBad); default `<output>.rejects.jsonl`. */
  rejects: string | null;
  /** Start the output again instead of continuing it. */
  restart: boolean;
  quiet: boolean;
  /** Seconds between fsyncs of the output (default 2). */
  fsyncSeconds?: number;
}

export interface PredictJobResult {
  /** Rows written by this run. */
  written: number;
  /** Rows already in the output when it started (resumed). */
  resumed: number;
  bad: number;
  seconds: number;
  complete: boolean;
  record: JobRecord;
}

interface Pending {
  lineNo: number;
  row: Row;
}

/** A block of rows parsed and ready for the model. */
interface Prepared {
  rows: Pending[];
  /** The first bad row in the output range, when the job stops at one. */
  fatal: Pending | undefined;
  groups: BatchGroup[];
  /** Byte offset just past the block's last line (progress). */
  end: number;
}

function say(quiet: boolean, message: string): void {
  if (!quiet) process.stderr.write(`${message}\n`);
}

/** Runs (or continues) a predict job. */
export async function runPredictJob(o: PredictJobOptions): Promise<PredictJobResult> {
  const t0 = Date.now();
  const input = path.resolve(o.input);
  const output = path.resolve(o.output);
  let inputStat: fs.Stats;
  try {
    inputStat = fs.statSync(input);
  } catch {
    throw new UsageError(`--input ${o.input}: no such file`);
  }
  if (!inputStat.isFile()) throw new UsageError(`--input ${o.input}: not a file`);
  if (input === output) throw new UsageError('--output must not be the input file');
  const modelDir = resolveModelDir(o.model);
  const { model, prep } = await loadModelDir(modelDir);
  const csv = o.format ? o.format === 'csv' : !isJsonlPath(input);

  // The CSV header (line 1) belongs to every shard and to none.
  let header: string[] | null = null;
  if (csv) {
    for await (const line of readLines(input, { maxLineNo: 1 })) {
      try {
        header = parseCsvLine(line.text.replace(/^\uFEFF/, ''));
      } catch (e) {
        throw new JobError(`${input}: line 1 (the CSV header): ${(e as Error).message}`);
      }
    }
    if (!header) throw new JobError(`${input}: empty CSV file (no header line)`);
  }
  const reader = new RowReader(prep, header);
  const problem = reader.headerProblem();
  if (problem) throw new JobError(`${input}: line 1: ${problem}`);
  const firstDataLine = csv ? 2 : 1;

  let range: LineRange = { first: firstDataLine, last: null };
  let totalLines: number | undefined;
  if (o.shard) {
    totalLines = await countLines(input);
    range = shardRange(o.shard.index, o.shard.count, firstDataLine, totalLines);
  } else if (o.lines) range = { first: Math.max(o.lines.first, firstDataLine), last: o.lines.last };

  const record: JobRecord = {
    format: 'gatedrnn-predict-job',
    version: 1,
    input: { path: input, size: inputStat.size, mtimeMs: inputStat.mtimeMs },
    model: modelDir,
    lines: range,
    shard: o.shard ? `${o.shard.index}/${o.shard.count}` : null,
    skipBad: o.skipBad,
    batchSize: o.batchSize,
    complete: false,
    firstDataLine,
    ...(totalLines !== undefined ? { totalLines } : {}),
  };
  const rejectsPath = o.skipBad ? path.resolve(o.rejects ?? `${output}.rejects.jsonl`) : null;

  // Continue, refuse, or start again.
  const existing = readJobRecord(output);
  const outputExists = fs.existsSync(output);
  if (o.restart) {
    for (const f of [output, jobRecordPath(output), ...(rejectsPath ? [rejectsPath] : [])]) await fs.promises.rm(f, { force: true });
  } else if (outputExists) {
    if (!existing) throw new UsageError(`--output ${o.output} exists and was not written by a predict job (no ${path.basename(jobRecordPath(output))}); remove it, choose another --output, or --restart to overwrite it`);
    const diff = sameJob(existing, record);
    if (diff) throw new UsageError(`--output ${o.output} belongs to another job (${diff}); use --restart to start it again, or another --output`);
    if (existing.input.size !== record.input.size || existing.input.mtimeMs !== record.input.mtimeMs) {
      say(o.quiet, `predict: note: ${o.input} has changed since ${o.output} was started; continuing after the rows already written`);
    }
    if (existing.complete) {
      say(o.quiet, `predict: ${o.output} is already complete (${existing.rows} rows); nothing to do (--restart to run again)`);
      return { written: 0, resumed: existing.rows ?? 0, bad: existing.bad ?? 0, seconds: 0, complete: true, record: existing };
    }
  }
  fs.mkdirSync(path.dirname(output), { recursive: true });
  await writeJobRecord(output, record);

  const scan = await scanAndTruncateOutput(output, o.skipBad);
  const done = scan.lines;
  if (done > 0) say(o.quiet, `predict: resuming ${o.output}: ${done} rows already written${scan.cut > 0 ? ` (cut ${scan.cut} bytes of an unfinished line)` : ''}`);
  if (rejectsPath) await atomicWriteFile(rejectsPath, scan.errorLines.map((l) => `${l}\n`).join(''));

  const out = await fs.promises.open(output, 'a');
  const rejects = rejectsPath ? await fs.promises.open(rejectsPath, 'a') : null;
  const fsyncMs = (o.fsyncSeconds ?? 2) * 1000;
  let lastSync = Date.now();
  let written = 0;
  let bad = scan.errorLines.length;
  let stopRequested = false;
  const onSignal = (): void => {
    stopRequested = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // Rows are computed in fixed blocks of batchSize data rows counted from the
  // first data line of the file, whatever the range, resume point or shard:
  // a row's result depends only on its block (see predictBatch), so resumed
  // runs and merged shards are byte-identical to one uninterrupted run.
  const B = o.batchSize;
  const blockOf = (lineNo: number): number => Math.floor((lineNo - firstDataLine) / B);
  const firstOut = range.first + done;
  const lastOut = range.last ?? Infinity;
  const readFrom = firstDataLine + blockOf(firstOut) * B;
  const readTo = range.last === null ? Infinity : firstDataLine + (blockOf(range.last) + 1) * B - 1;
  let lastLine = range.first - 1;
  let lastEnd = 0;

  const progress = new JobProgress(inputStat.size, o.quiet, 0);
  const sync = async (force: boolean): Promise<void> => {
    if (force || Date.now() - lastSync >= fsyncMs) {
      await out.sync();
      await rejects?.sync();
      lastSync = Date.now();
    }
  };
  const inRange = (p: Pending): boolean => p.lineNo >= firstOut && p.lineNo <= lastOut;
  /** Parses one block (lines of the same block of B rows) for the model. */
  const prepare = (block: Array<{ lineNo: number; text: string }>, end: number): Prepared => {
    const rows: Pending[] = block.map((b) => ({ lineNo: b.lineNo, row: reader.read(b.text) }));
    const fatal = o.skipBad ? undefined : rows.find((p) => inRange(p) && !p.row.ok);
    return { rows, fatal, groups: groupRows(reader, rows), end };
  };
  /** Writes the rows of a computed block that are in the output range (up to a fatal bad row). */
  const write = async (block: Prepared, outputs: GroupOutput[]): Promise<void> => {
    const results: Array<Record<string, unknown> | undefined> = new Array(block.rows.length);
    block.groups.forEach((g, j) => {
      const { data, width } = outputs[j]!;
      g.rows.forEach((r, i) => (results[r.k] = reader.result(r.row, data, i * width, width)));
    });
    const { fatal } = block;
    const lines: string[] = [];
    const rejected: string[] = [];
    block.rows.forEach((p, k) => {
      if (!inRange(p) || (fatal && p.lineNo >= fatal.lineNo)) return;
      const r = p.row;
      const id = r.id !== undefined ? { id: r.id } : {};
      if (r.ok) lines.push(JSON.stringify({ ...id, ...results[k]! }));
      else {
        const l = JSON.stringify({ ...id, line: p.lineNo, error: r.error });
        lines.push(l);
        rejected.push(l);
        bad++;
      }
    });
    // Rows first, then their rejects: the rejects file is rebuilt from the output on restart.
    if (lines.length > 0) await out.write(`${lines.join('\n')}\n`);
    if (rejects && rejected.length > 0) await rejects.write(`${rejected.join('\n')}\n`);
    written += lines.length;
    if (fatal && !fatal.row.ok) {
      await sync(true);
      throw new JobError(
        `${o.input}: line ${fatal.lineNo}: ${fatal.row.error}. The ${done + written} rows before it are in ${o.output}; fix the row and re-run the same command to continue, or use --skip-bad`,
      );
    }
    await sync(false);
    progress.update(block.end, done + written);
  };

  // A pipeline of two blocks: while the model computes block k off the main
  // thread (on the addon's worker), the main thread writes block k-1 and
  // reads and parses block k+1. `running` is the block being computed.
  let running = null as { block: Prepared; outputs: Promise<GroupOutput[]> } | null;
  /** Waits for the running block, starts `next` (null: none) on the model, then writes the finished block. */
  const advance = async (next: Prepared | null): Promise<void> => {
    const finished = running;
    running = null;
    const outputs = finished ? await finished.outputs : [];
    // A block with a fatal bad row is the last one written.
    if (next && !finished?.block.fatal) {
      running = { block: next, outputs: predictGroups(model, next.groups) };
      // Its error surfaces when it is awaited (advance or finally), never as an unhandled rejection.
      running.outputs.catch(() => undefined);
    }
    if (finished) await write(finished.block, outputs);
  };

  let interrupted = false;
  try {
    let block: Array<{ lineNo: number; text: string }> = [];
    let blockIndex = -1;
    for await (const line of readLines(input, { maxLineNo: readTo })) {
      if (line.lineNo < readFrom) continue;
      const bi = blockOf(line.lineNo);
      if (bi !== blockIndex && block.length > 0) {
        await advance(prepare(block, lastEnd));
        block = [];
        if (stopRequested) {
          // Finish the block being computed, then stop.
          await advance(null);
          interrupted = true;
          break;
        }
      }
      blockIndex = bi;
      block.push({ lineNo: line.lineNo, text: line.text });
      lastLine = line.lineNo;
      lastEnd = line.end;
    }
    if (!interrupted) {
      if (block.length > 0) await advance(prepare(block, lastEnd));
      await advance(null);
    }
    await sync(true);
  } finally {
    // After an error: let a block still being computed finish before closing.
    await running?.outputs.catch(() => undefined);
    progress.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await out.close();
    await rejects?.close();
  }
  const seconds = (Date.now() - t0) / 1000;
  if (interrupted) {
    return { written, resumed: done, bad, seconds, complete: false, record };
  }
  // Whether the range reached the end of the file (no line after its last).
  const reachedEof = range.last === null || lastLine < range.last || (lastLine === range.last && lastEnd >= inputStat.size);
  const finished: JobRecord = {
    ...record,
    complete: true,
    rows: done + written,
    bad,
    lastLine: Math.max(range.first - 1, Math.min(lastLine, lastOut)),
    eof: reachedEof,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    seconds: Math.round(seconds * 10) / 10,
  };
  await writeJobRecord(output, finished);
  const rate = written > 0 && seconds > 0 ? Math.round(written / seconds) : 0;
  say(o.quiet, `predict: wrote ${written} rows${done > 0 ? ` (after ${done} already there)` : ''} to ${o.output} in ${seconds.toFixed(1)} s (${rate} sequences/s)${bad > 0 ? `; ${bad} bad rows${rejectsPath ? ` (listed in ${rejectsPath})` : ''}` : ''}`);
  return { written, resumed: done, bad, seconds, complete: true, record: finished };
}

/** The good rows of a block with the same number of steps: one model input. */
interface BatchGroup {
  /** Each row's index in the block, and the row. */
  rows: Array<{ k: number; row: GoodRow }>;
  input: Tensor;
}

/** The model's output for a group: `width` values per row. */
interface GroupOutput {
  data: Float32Array;
  width: number;
}

/**
 * The good rows of a block grouped by sequence length, one model input per
 * length (no padding). A row's result then never depends on which rows
 * share its batch: the native kernels give bit-identical results for a row
 * whatever the batch size, but padding to another row's length changes the
 * last bits. That is what makes a resumed run, or shards joined by merge,
 * byte-identical to one uninterrupted run.
 */
function groupRows(reader: RowReader, batch: Pending[]): BatchGroup[] {
  const byLength = new Map<number, Array<{ k: number; row: GoodRow }>>();
  batch.forEach((p, k) => {
    if (!p.row.ok) return;
    const T = p.row.steps;
    let g = byLength.get(T);
    if (!g) byLength.set(T, (g = []));
    g.push({ k, row: p.row });
  });
  const F = reader.features;
  const groups: BatchGroup[] = [];
  for (const [T, rows] of byLength) {
    const x = new Float32Array(rows.length * T * F);
    rows.forEach((g, i) => x.set(g.row.values, i * T * F));
    // float32Tensor takes x as it is (tensor() would copy it value by value).
    groups.push({ rows, input: float32Tensor(x, reader.tokenIds ? [rows.length, T] : [rows.length, T, F]) });
  }
  return groups;
}

/** Runs the model on each group in turn (one predict call per group). */
async function predictGroups(model: LayersModel, groups: BatchGroup[]): Promise<GroupOutput[]> {
  const outputs: GroupOutput[] = [];
  for (const g of groups) {
    const y = (await model.predict(g.input, { batchSize: g.rows.length })) as Tensor;
    outputs.push({ data: y.dataSync() as Float32Array, width: y.shape[y.shape.length - 1] as number });
  }
  return outputs;
}
