/**
 * `gatedrnn predict`: the batch inference job (predict/job.ts) from the
 * command line.
 */
import { Option, type Command } from 'commander';
import { InterruptedError, UsageError } from './errors.js';
import { parseIntOption, parseFloatOption } from './options.js';
import { runPredictJob } from './predict/job.js';
import { parseLines, parseShard } from './predict/shards.js';

export function addPredictOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--model <dir>', 'model directory (DIR/model of train or demo, or its model.json)')
    .requiredOption('--input <file>', 'JSON Lines ({"x": [[...], ...], "id": ...} per line) or CSV (header; one flattened sequence per row, optional id column)')
    .requiredOption('--output <file>', 'JSON Lines output, one line per input row in input order; re-running continues it')
    .addOption(new Option('--format <format>', 'input format, when the extension does not say').choices(['csv', 'jsonl']))
    .option('--batch-size <n>', 'rows per block (default 256): results are computed in fixed blocks of this many input rows, so keep it the same when resuming and across shards')
    .option('--lines <A:B>', 'process only input lines A to B (1-based, inclusive; the CSV header is read anyway)')
    .option('--shard <i/n>', 'process shard i of n (i from 1 to n): contiguous line ranges of nearly equal size; join with merge')
    .option('--skip-bad', 'write {"line": N, "error": ...} for a bad row (and to the rejects file) instead of stopping')
    .option('--rejects <file>', 'with --skip-bad: where bad rows are listed (default OUTPUT.rejects.jsonl)')
    .option('--restart', 'discard an existing output and start again')
    .option('--fsync-seconds <s>', 'seconds between flushes of the output to disk (default 2)')
    .option('-q, --quiet', 'no progress output');
}

export async function runPredictCommand(cmd: Command): Promise<void> {
  const o = cmd.opts() as Record<string, string | boolean | undefined>;
  if (o.lines !== undefined && o.shard !== undefined) throw new UsageError('give --lines or --shard, not both');
  const result = await runPredictJob({
    model: String(o.model),
    input: String(o.input),
    output: String(o.output),
    format: (o.format as 'csv' | 'jsonl' | undefined) ?? null,
    lines: typeof o.lines === 'string' ? parseLines(o.lines) : null,
    shard: typeof o.shard === 'string' ? parseShard(o.shard) : null,
    batchSize: o.batchSize === undefined ? 256 : parseIntOption(o.batchSize, '--batch-size', 1, 1 << 20),
    skipBad: Boolean(o.skipBad),
    rejects: typeof o.rejects === 'string' ? o.rejects : null,
    restart: Boolean(o.restart),
    quiet: Boolean(o.quiet),
    fsyncSeconds: o.fsyncSeconds === undefined ? 2 : parseFloatOption(o.fsyncSeconds, '--fsync-seconds', 0),
  });
  if (!result.complete) throw new InterruptedError(`predict interrupted after ${result.resumed + result.written} rows of ${String(o.output)}; re-run the same command to continue`);
}
