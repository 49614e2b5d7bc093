/**
 * `gatedrnn merge`: joins the outputs of predict shards into one file in
 * input order, after checking their job records (predict/shards.ts).
 */
import { mergeShards } from './predict/shards.js';

export async function runMerge(opts: { output: string; parts: string[]; shardsDir: string | null; force: boolean }): Promise<void> {
  const r = await mergeShards(opts);
  process.stderr.write(`merge: wrote ${r.rows} rows from ${r.parts} part(s) to ${opts.output}\n`);
}
