/**
 * The output file of a predict job is also its progress record: it is
 * written in input order, one complete line per input row, so the number
 * of complete lines says how many rows are done. On restart the file is
 * cut back to its last complete line (a kill can leave half a line; a
 * crash of the machine can leave a last line that is not valid JSON) and
 * the job continues with the next row: no row is written twice or lost.
 */
import fs from 'node:fs';
import { readLines } from '../data/lines.js';

export interface OutputScan {
  /** Complete, valid lines kept. */
  lines: number;
  /** Byte length the file is cut to. */
  bytes: number;
  /** Bytes cut off (a partial or invalid last line). */
  cut: number;
  /** The error lines among them (for the rejects file). */
  errorLines: string[];
}

/**
 * Counts the complete lines of an existing output, keeping the error lines
 * (`collectErrors`), and truncates whatever follows the last complete line.
 * Missing file: zero lines.
 */
export async function scanAndTruncateOutput(file: string, collectErrors: boolean): Promise<OutputScan> {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return { lines: 0, bytes: 0, cut: 0, errorLines: [] };
  }
  let lines = 0;
  let good = 0;
  let prevGood = 0;
  let lastText = '';
  const errorLines: string[] = [];
  for await (const line of readLines(file)) {
    // A line without its '\n' (end past the last newline) is partial.
    if (line.end === size && !(await endsWithNewline(file, size))) break;
    lines++;
    prevGood = good;
    good = line.end;
    lastText = line.text;
    if (collectErrors && line.text.includes('"error"')) errorLines.push(line.text);
  }
  // The last complete line must be valid JSON (a machine crash may leave zeros there).
  if (lines > 0) {
    let valid = true;
    try {
      JSON.parse(lastText);
    } catch {
      valid = false;
    }
    if (!valid) {
      lines--;
      good = prevGood;
      if (collectErrors && errorLines[errorLines.length - 1] === lastText) errorLines.pop();
    }
  }
  if (good < size) fs.truncateSync(file, good);
  return { lines, bytes: good, cut: size - good, errorLines };
}

async function endsWithNewline(file: string, size: number): Promise<boolean> {
  if (size === 0) return true;
  const fh = await fs.promises.open(file, 'r');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size - 1);
    return b[0] === 10;
  } finally {
    await fh.close();
  }
}
