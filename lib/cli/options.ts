/**
 * Flag values: numbers checked with a usage error that names the flag, and
 * the merge of flags over a JSON/YAML `--config` file over defaults (a flag
 * given on the command line always wins).
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Command } from 'commander';
import { UsageError } from './errors.js';

export function parseIntOption(value: unknown, flag: string, min = -Infinity, max = Infinity): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^[+-]?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be an integer, got ${JSON.stringify(value)}`);
  if (n < min || n > max) throw new UsageError(`${flag} must be ${max === Infinity ? `>= ${min}` : `between ${min} and ${max}`}, got ${n}`);
  return n;
}

export function parseFloatOption(value: unknown, flag: string, min = -Infinity, max = Infinity, openMax = false): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got ${JSON.stringify(value)}`);
  if (n < min || n > max || (openMax && n === max)) throw new UsageError(`${flag} must be in [${min}, ${max}${openMax ? ')' : ']'}, got ${n}`);
  return n;
}

export function parseBoolOption(value: unknown, flag: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  throw new UsageError(`${flag} must be true or false, got ${JSON.stringify(value)}`);
}

const camel = (k: string): string => k.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());

/** A JSON or YAML config file as a flat object with camelCase keys. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--config ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.json$/i.test(path.extname(file)) ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new UsageError(`--config ${file}: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`--config ${file}: expected a mapping of option names to values`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[camel(k)] = v;
  return out;
}

/**
 * Values of `keys` from the command line (when given there), else from
 * the config, else undefined. Unknown config keys are a usage error.
 */
export function mergeOptions(cmd: Command, config: Record<string, unknown>, keys: readonly string[], configFile: string): Record<string, unknown> {
  for (const k of Object.keys(config)) {
    if (!keys.includes(k)) throw new UsageError(`--config ${configFile}: unknown option ${JSON.stringify(k)}; the options are ${keys.join(', ')}`);
  }
  const opts = cmd.opts() as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (opts[k] !== undefined && cmd.getOptionValueSource(k) === 'cli') out[k] = opts[k];
    else if (config[k] !== undefined) out[k] = config[k];
    else if (opts[k] !== undefined) out[k] = opts[k];
  }
  return out;
}
