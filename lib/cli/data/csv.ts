/**
 * CSV input. Training reads a whole table (csv-parse, header row first,
 * quoted fields and line numbers handled by it). Prediction reads one
 * record per line (see lines.ts) and parses each line on its own, so a
 * file of any size streams and a bad line is reported by its number;
 * quoted fields may hold commas but not line breaks there.
 */
import fs from 'node:fs';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { JobError } from '../errors.js';

/** A CSV table: its header and its records, each with the file line it starts on. */
export interface CsvTable {
  header: string[];
  rows: string[][];
  /** 1-based file line of each row. */
  lines: number[];
}

/** Reads a CSV file with a header row. Rows with a different number of fields are an error naming the line. */
export async function readCsvTable(file: string): Promise<CsvTable> {
  const parser = fs.createReadStream(file).pipe(
    parse({ info: true, relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }),
  );
  let header: string[] | null = null;
  const rows: string[][] = [];
  const lines: number[] = [];
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (header === null) {
        header = rec.record;
        continue;
      }
      if (rec.record.length !== header.length) {
        throw new JobError(`${file}: line ${rec.info.lines}: ${rec.record.length} fields, but the header has ${header.length} (${header.join(',')})`);
      }
      rows.push(rec.record);
      lines.push(rec.info.lines);
    }
  } catch (e) {
    if (e instanceof JobError) throw e;
    const err = e as Error & { lines?: number };
    throw new JobError(`${file}: ${err.lines !== undefined ? `line ${err.lines}: ` : ''}${err.message}`);
  }
  if (header === null) throw new JobError(`${file}: empty CSV file (no header row)`);
  return { header, rows, lines };
}

/** The fields of one CSV line (a header or a record). Throws on malformed quoting. */
export function parseCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',').map((s) => s.trim());
  const recs = parseSync(line, { relax_column_count: true, trim: true }) as string[][];
  if (recs.length !== 1) throw new Error(`expected one CSV record, found ${recs.length}`);
  return recs[0];
}

/** The column index of `name` in `header`; a usage error listing the columns otherwise. */
export function columnIndex(header: string[], name: string, file: string, flag: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw new JobError(`${file}: no column ${JSON.stringify(name)} (${flag}); the columns are ${header.join(', ')}`);
  return i;
}

/** A CSV field as a finite number, or an error message. */
export function csvNumber(field: string): number | string {
  if (field === '') return 'empty value';
  const v = Number(field);
  if (!Number.isFinite(v)) return `${JSON.stringify(field)} is not a number`;
  return v;
}
