/**
 * Backend selection, threads and information.
 *
 * The native backend is used when its addon loads; `GATEDRNN_BACKEND=js|native`
 * or {@link setBackend} choose explicitly. When the addon is missing, the TS
 * backend runs and one warning (code GATEDRNN_NO_NATIVE) says how to get the
 * fast path.
 */
import { BackendUnavailableError } from '../errors.js';
import { jsBackend } from './js/index.js';
import { loadNative, nativeBackend, type NativeLoad } from './native.js';
import type { BackendInfo, BackendName, KernelBackend } from './types.js';

export type { BackendInfo, BackendName, KernelBackend } from './types.js';

const FAST_PATH_HINT =
  'gatedrnn: the native OpenBLAS backend is not available, running on the pure-TypeScript backend (much slower). ' +
  'To get the fast path: apt-get install libopenblas-dev && npm rebuild gatedrnn';

let nativeLoad: NativeLoad | null = null;
let native: KernelBackend | null = null;
let active: KernelBackend | null = null;
let warned = false;
let requestedThreads: number | null = null;

function tryNative(): KernelBackend | null {
  if (!nativeLoad) {
    nativeLoad = loadNative();
    if (nativeLoad.addon) {
      native = nativeBackend(nativeLoad.addon);
      if (requestedThreads !== null) native.setNumThreads(requestedThreads);
    }
  }
  return native;
}

function warnOnce(): void {
  if (warned) return;
  warned = true;
  process.emitWarning(`${FAST_PATH_HINT} (reason: ${nativeLoad?.error ?? 'unknown'})`, { code: 'GATEDRNN_NO_NATIVE' });
}

function parseBackendName(value: unknown, source: string): BackendName {
  if (value === 'native' || value === 'js') return value;
  throw new TypeError(`${source} must be 'native' or 'js', got ${JSON.stringify(value)}`);
}

/** @internal The kernels layers call. */
export function backend(): KernelBackend {
  if (active) return active;
  const env = process.env.GATEDRNN_BACKEND;
  if (env !== undefined && env !== '') {
    setBackend(parseBackendName(env, 'GATEDRNN_BACKEND'));
    return active as unknown as KernelBackend;
  }
  active = tryNative() ?? jsBackend;
  if (active === jsBackend) warnOnce();
  return active;
}

/**
 * Chooses the backend: `'native'` (C++ addon over OpenBLAS) or `'js'` (pure
 * TypeScript). Throws BackendUnavailableError when native is asked for and
 * the addon cannot be loaded.
 */
export function setBackend(name: BackendName): void {
  const which = parseBackendName(name, 'setBackend(name)');
  if (which === 'js') {
    active = jsBackend;
    return;
  }
  const n = tryNative();
  if (!n) {
    throw new BackendUnavailableError(`${FAST_PATH_HINT} (reason: ${nativeLoad?.error ?? 'unknown'})`);
  }
  active = n;
}

/** The active backend's name, `'native'` or `'js'`. */
export function getBackend(): BackendName {
  return backend().name;
}

/**
 * Sets the number of threads of the native kernels, process-wide: the
 * addon's own pool runs the matrix products (OpenBLAS is called on one thread
 * per block) and the gate math. The default is OpenBLAS's thread count when
 * the addon loads (`OPENBLAS_NUM_THREADS` or the number of cores). The TS
 * backend is single-threaded and ignores it.
 */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024) {
    throw new RangeError(`setNumThreads(n): n must be an integer between 1 and 1024, got ${String(n)}`);
  }
  requestedThreads = n;
  tryNative()?.setNumThreads(n);
}

/** The number of threads the active backend computes with. */
export function getNumThreads(): number {
  return backend().getNumThreads();
}

/** Which backend and BLAS are active, threads, and CPU features. */
export function backendInfo(): BackendInfo {
  const b = backend();
  tryNative();
  const info = nativeLoad?.addon?.info();
  const isNative = b.name === 'native';
  return {
    backend: b.name,
    blas: isNative ? 'OpenBLAS' : 'none (TypeScript loops)',
    blasVersion: isNative && info ? info.blasConfig.trim() : null,
    blasCore: isNative && info ? info.blasCore : null,
    threads: b.getNumThreads(),
    cpuFeatures: info?.cpuFeatures ?? [],
    gateMathDispatch: isNative && info ? info.gateMathDispatch : null,
    recurrentKernelIsa: isNative && info ? info.recurrentKernelIsa : null,
    nativeAvailable: native !== null,
    nativeError: nativeLoad?.error ?? null,
    nativePath: nativeLoad?.path ?? null,
  };
}
