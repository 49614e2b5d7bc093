/**
 * JSON Lines input: one JSON value per line. Training reads all records
 * into memory (its data must fit anyway); prediction streams (lines.ts).
 */
import { JobError } from '../errors.js';
import { readLines } from './lines.js';

/** One parsed record and the file line it came from. */
export interface JsonlRecord {
  value: unknown;
  lineNo: number;
}

/** Parses one line; an error message (never throws) when it is not JSON. */
export function parseJsonLine(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: `not valid JSON (${(e as Error).message})` };
  }
}

/**
 * Every record of a JSON Lines file. Blank lines are skipped; a line that
 * is not JSON is an error naming it.
 */
export async function readJsonl(file: string): Promise<JsonlRecord[]> {
  const out: JsonlRecord[] = [];
  for await (const line of readLines(file)) {
    if (line.text.trim() === '') continue;
    const r = parseJsonLine(line.text);
    if ('error' in r) throw new JobError(`${file}: line ${line.lineNo}: ${r.error}`);
    out.push({ value: r.value, lineNo: line.lineNo });
  }
  if (out.length === 0) throw new JobError(`${file}: no records`);
  return out;
}

/** Whether a path names a JSON Lines file (by extension); otherwise CSV. */
export function isJsonlPath(file: string, format?: string): boolean {
  if (format) return format === 'jsonl' || format === 'json';
  return /\.(jsonl|ndjson|json)$/i.test(file);
}
