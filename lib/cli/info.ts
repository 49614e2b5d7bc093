/**
 * `gatedrnn info`: what this installation computes with: the version, the
 * backend and why (with the fix when it is the TypeScript fallback), the
 * BLAS, threads and CPU features.
 */
import fs from 'node:fs';
import os from 'node:os';
import { backendInfo, getNumThreads } from '../backend/index.js';
import { version } from '../version.js';

const FIX = 'apt-get install libopenblas-dev && npm rebuild gatedrnn';

/** CPU features from /proc/cpuinfo, for when the addon (which reports them) is not loaded. */
function cpuFeaturesFromProc(): string[] {
  try {
    const flags = /^flags\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? [];
    const map: Array<[string, string]> = [['sse4_2', 'sse4.2'], ['avx', 'avx'], ['avx2', 'avx2'], ['fma', 'fma'], ['avx512f', 'avx512f'], ['asimd', 'neon']];
    return map.filter(([f]) => flags.includes(f)).map(([, name]) => name);
  } catch {
    return [];
  }
}

export interface InfoReport {
  version: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  backend: string;
  why: string;
  fix: string | null;
  blas: string;
  blasVersion: string | null;
  blasCore: string | null;
  threads: number;
  threadsFrom: string;
  cpuFeatures: string[];
  gateMathDispatch: string | null;
  nativePath: string | null;
}

export function infoReport(): InfoReport {
  const info = backendInfo();
  const forced = process.env.GATEDRNN_BACKEND;
  let why: string;
  if (info.backend === 'native') why = forced === 'native' ? 'GATEDRNN_BACKEND=native' : 'the native addon loaded (chosen automatically)';
  else if (forced === 'js') why = `GATEDRNN_BACKEND=js${info.nativeAvailable ? ' (the native addon is available)' : ''}`;
  else why = `the native addon could not be loaded: ${info.nativeError ?? 'not built'}`;
  const threadsFrom = info.backend === 'js' ? 'the TypeScript backend is single-threaded' : process.env.OPENBLAS_NUM_THREADS ? `OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS}` : "OpenBLAS's default (the core count)";
  return {
    version,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    backend: info.backend,
    why,
    fix: info.backend === 'native' || info.nativeAvailable ? null : FIX,
    blas: info.blas,
    blasVersion: info.blasVersion,
    blasCore: info.blasCore,
    threads: getNumThreads(),
    threadsFrom,
    cpuFeatures: info.cpuFeatures.length > 0 ? info.cpuFeatures : cpuFeaturesFromProc(),
    gateMathDispatch: info.gateMathDispatch,
    nativePath: info.nativePath,
  };
}

export function runInfo(opts: { json: boolean }): void {
  const r = infoReport();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const rows: Array<[string, string]> = [
    ['gatedrnn', r.version],
    ['node', `${r.node} (${r.platform})`],
    ['cpu', `${r.cpu}, ${r.cores} cores`],
    ['backend', `${r.backend === 'native' ? 'native (C++ over OpenBLAS)' : 'js (pure TypeScript)'}: ${r.why}`],
  ];
  if (r.fix) rows.push(['to get native', r.fix]);
  rows.push(['blas', r.blasVersion ? `${r.blas}: ${r.blasVersion}` : r.blas]);
  if (r.blasCore) rows.push(['blas kernels', r.blasCore]);
  rows.push(['threads', `${r.threads} (${r.threadsFrom}; set with OPENBLAS_NUM_THREADS or setNumThreads)`]);
  rows.push(['cpu features', r.cpuFeatures.join(', ') || 'unknown']);
  if (r.gateMathDispatch) rows.push(['gate math', r.gateMathDispatch]);
  if (r.nativePath) rows.push(['addon', r.nativePath]);
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}
