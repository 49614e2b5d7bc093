/**
 * Crash-safe file writes: each file is written to a temporary name in the
 * same directory, flushed to disk (fsync), then renamed over its final name,
 * and the directory is flushed so the rename itself survives a crash. A
 * reader sees the old file or the new one, never a partial one.
 *
 * `atomicWriteFile` writes one file; `writeFilesAtomically` writes several
 * and renames them in the order given, so the file that points to the others
 * (a model's `model.json`) can go last. Used by `model.save`, and meant for
 * anything else that writes files users rely on (checkpoints, the CLI).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const fsp = fs.promises;

/** Prefix of the temporary files, so that leftovers of a killed process are recognisable. */
export const TEMP_PREFIX = '.gatedrnn-tmp-';

/** A temporary name beside `target`: `.gatedrnn-tmp-<name>-<pid>-<random>`. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `${TEMP_PREFIX}${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Flushes a directory's entries (the renames in it); a no-op where directories cannot be opened (Windows). */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | null = null;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES' && code !== 'EINVAL' && code !== 'ENOTSUP') throw e;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Writes `data` to a new file at `file` (which must not exist) and fsyncs it. */
async function writeAndSync(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fsp.open(file, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes a file, ignoring a missing one. */
async function removeQuietly(file: string): Promise<void> {
  await fsp.unlink(file).catch(() => undefined);
}

/**
 * Writes `data` to `file` atomically: temp file in the same directory,
 * fsync, rename, fsync of the directory. On failure the temp file is
 * removed and `file` is as it was. The directory must exist.
 */
export async function atomicWriteFile(file: string, data: string | Uint8Array): Promise<void> {
  await writeFilesAtomically([{ path: file, data }]);
}

/** One file of {@link writeFilesAtomically}. */
export interface PendingFile {
  path: string;
  data: string | Uint8Array;
}

/**
 * Writes every file to a temporary name first (each fsynced); only when all
 * are written does it rename them into place, in the order given, then
 * fsync the directories. If any write fails, every temp file is removed and
 * no final file has changed. Put the file that refers to the others last.
 */
export async function writeFilesAtomically(files: PendingFile[]): Promise<void> {
  const temps: Array<{ temp: string; target: string }> = [];
  try {
    for (const f of files) {
      const temp = tempPathFor(f.path);
      temps.push({ temp, target: f.path });
      await writeAndSync(temp, f.data);
    }
    for (const { temp, target } of temps) await fsp.rename(temp, target);
  } catch (e) {
    await Promise.all(temps.map(({ temp }) => removeQuietly(temp)));
    throw e;
  }
  const dirs = new Set(files.map((f) => path.dirname(f.path)));
  for (const dir of dirs) await fsyncDirectory(dir);
}

/** Synchronous {@link atomicWriteFile}, for code that cannot await (CLI exit paths). */
export function atomicWriteFileSync(file: string, data: string | Uint8Array): void {
  const temp = tempPathFor(file);
  try {
    const fd = fs.openSync(temp, 'wx', 0o644);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (e) {
    try {
      fs.unlinkSync(temp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  try {
    const fd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* directories cannot be fsynced everywhere (Windows) */
  }
}
