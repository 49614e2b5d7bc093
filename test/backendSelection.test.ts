/**
 * Backend selection: automatic (native when its addon loads), the
 * GATEDRNN_BACKEND variable, setBackend(), the thread controls, backendInfo(),
 * and the fallback to TypeScript with exactly one warning when the addon is
 * missing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError, backendInfo, getBackend, getNumThreads, setBackend, setNumThreads } from '../lib/index.js';
import { runNode } from './helpers/child.js';

const probe = `
const g = require('./dist/index.cjs');
(async () => {
  const layer = g.layers.gru({ units: 3 });
  const x = g.tensor(new Float32Array(2 * 4 * 5).fill(0.1), [2, 4, 5]);
  await layer.apply(x);
  await layer.apply(x);
  const info = g.backendInfo();
  console.log(JSON.stringify({ backend: g.getBackend(), nativeAvailable: info.nativeAvailable, nativeError: info.nativeError }));
})().catch((e) => { console.log(JSON.stringify({ error: e.name, message: e.message })); });
`;

describe('backend selection', () => {
  afterAll(() => {
    setBackend('native');
    setNumThreads(2);
  });

  it('uses the native backend by default when the addon loads', () => {
    const r = runNode(probe, { GATEDRNN_BACKEND: undefined, GATEDRNN_ADDON: undefined });
    expect(JSON.parse(r.stdout)).toMatchObject({ backend: 'native', nativeAvailable: true, nativeError: null });
    expect(r.stderr).not.toMatch(/GATEDRNN_NO_NATIVE/);
  });

  it('GATEDRNN_BACKEND=js selects the TypeScript backend', () => {
    const r = runNode(probe, { GATEDRNN_BACKEND: 'js' });
    expect(JSON.parse(r.stdout)).toMatchObject({ backend: 'js', nativeAvailable: true });
    expect(r.stderr).not.toMatch(/GATEDRNN_NO_NATIVE/);
  });

  it('falls back to TypeScript with one warning when the addon cannot be loaded', () => {
    const r = runNode(probe, { GATEDRNN_BACKEND: undefined, GATEDRNN_ADDON: '/nonexistent/gatedrnn.node' });
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ backend: 'js', nativeAvailable: false });
    expect(out.nativeError).toMatch(/nonexistent/);
    expect(r.stderr.match(/GATEDRNN_NO_NATIVE/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/apt-get install libopenblas-dev && npm rebuild/);
  });

  it('GATEDRNN_BACKEND=native fails clearly when the addon is missing', () => {
    const r = runNode(probe, { GATEDRNN_BACKEND: 'native', GATEDRNN_ADDON: '/nonexistent/gatedrnn.node' });
    expect(JSON.parse(r.stdout)).toMatchObject({ error: 'BackendUnavailableError' });
  });

  it('rejects an unknown GATEDRNN_BACKEND value', () => {
    const r = runNode(probe, { GATEDRNN_BACKEND: 'gpu' });
    const out = JSON.parse(r.stdout);
    expect(out.error).toBe('TypeError');
    expect(out.message).toMatch(/GATEDRNN_BACKEND must be 'native' or 'js'/);
  });

  it('setBackend switches, getBackend reports', () => {
    setBackend('js');
    expect(getBackend()).toBe('js');
    expect(getNumThreads()).toBe(1);
    setBackend('native');
    expect(getBackend()).toBe('native');
    expect(() => setBackend('cuda' as 'js')).toThrow(TypeError);
    expect(BackendUnavailableError).toBeTypeOf('function');
  });

  it('setNumThreads controls the native kernels', () => {
    setBackend('native');
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    expect(backendInfo().threads).toBe(1);
    setNumThreads(2);
    expect(getNumThreads()).toBe(2);
    expect(() => setNumThreads(0)).toThrow(RangeError);
    expect(() => setNumThreads(1.5)).toThrow(RangeError);
  });

  it('backendInfo names the backend, BLAS, threads and CPU features', () => {
    setBackend('native');
    const info = backendInfo();
    expect(info.backend).toBe('native');
    expect(info.blas).toBe('OpenBLAS');
    expect(info.blasVersion).toMatch(/OpenBLAS \d+\.\d+/);
    expect(typeof info.blasCore).toBe('string');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(Array.isArray(info.cpuFeatures)).toBe(true);
    expect(info.nativePath).toMatch(/gatedrnn\.node$/);
    setBackend('js');
    expect(backendInfo()).toMatchObject({ backend: 'js', blas: 'none (TypeScript loops)', blasVersion: null, threads: 1 });
  });

  it('honours OPENBLAS_CORETYPE, a user setting', () => {
    const r = runNode(`const g = require('./dist/index.cjs'); g.setBackend('native'); console.log(g.backendInfo().blasCore);`, { OPENBLAS_CORETYPE: 'Sandybridge' });
    expect(r.stdout.trim().toLowerCase()).toBe('sandybridge');
  });
});
