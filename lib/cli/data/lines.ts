/**
 * Reading a text file line by line with bounded memory: the file is read in
 * chunks, split on '\n' (a trailing '\r' is dropped), and each line is
 * handed out with its 1-based line number and the byte offset just past
 * it. Only the current chunk and one partial line are held. A final line
 * without '\n' is still a line; an empty file has none.
 */
import fs from 'node:fs';

/** One line of a file. */
export interface Line {
  /** The text, without its line end. */
  text: string;
  /** 1-based line number in the file. */
  lineNo: number;
  /** Byte offset just past this line's '\n' (or the end of the file). */
  end: number;
}

/** Longest line accepted, in bytes; a longer one is an error rather than unbounded memory. */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;

/**
 * The lines of `file`. `maxLineNo`: stop after this line (the rest is
 * not read). The reading pauses while the consumer works (async iteration).
 */
export async function* readLines(file: string, options: { maxLineNo?: number; highWaterMark?: number } = {}): AsyncGenerator<Line> {
  const stream = fs.createReadStream(file, { highWaterMark: options.highWaterMark ?? 256 * 1024 });
  const maxLineNo = options.maxLineNo ?? Infinity;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = 0;
  let lineNo = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) break;
        let buf: Buffer;
        if (pending.length > 0) {
          pending.push(chunk.subarray(start, nl));
          buf = Buffer.concat(pending);
          pending = [];
          pendingBytes = 0;
        } else buf = chunk.subarray(start, nl);
        offset += nl - start + 1;
        lineNo++;
        const len = buf.length > 0 && buf[buf.length - 1] === 13 ? buf.length - 1 : buf.length;
        yield { text: buf.toString('utf8', 0, len), lineNo, end: offset };
        if (lineNo >= maxLineNo) return;
        start = nl + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        pendingBytes += rest.length;
        offset += rest.length;
        if (pendingBytes > MAX_LINE_BYTES) throw new Error(`${file}: line ${lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes`);
        // Copy: the stream may reuse its buffers.
        pending.push(Buffer.from(rest));
      }
    }
    if (pendingBytes > 0) {
      const buf = Buffer.concat(pending);
      lineNo++;
      const len = buf[buf.length - 1] === 13 ? buf.length - 1 : buf.length;
      yield { text: buf.toString('utf8', 0, len), lineNo, end: offset };
    }
  } finally {
    stream.destroy();
  }
}

/** Number of lines of `file` (a last line without '\n' counts), reading it in chunks. */
export async function countLines(file: string): Promise<number> {
  const stream = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  let n = 0;
  let last = 10;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let i = -1;
    while ((i = chunk.indexOf(10, i + 1)) >= 0) n++;
    if (chunk.length > 0) last = chunk[chunk.length - 1];
  }
  return last === 10 ? n : n + 1;
}
