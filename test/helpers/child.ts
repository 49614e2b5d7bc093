/** Runs a snippet of JavaScript in a fresh Node process against the built package (dist/). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');

export interface ChildResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `code` runs as CommonJS in ROOT (require('./dist/index.cjs') works); env is added to this process's. */
export function runNode(code: string, env: Record<string, string | undefined> = {}, args: string[] = []): ChildResult {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) merged[k] = v;
  const r = spawnSync(process.execPath, [...args, '-e', code], { cwd: ROOT, env: merged, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
