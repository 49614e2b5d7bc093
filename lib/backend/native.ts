/**
 * Loads the C++ addon through node-gyp-build (prebuilds/ first, then
 * build/Release) and adapts it to the kernel interface. Loading never throws:
 * a failure is recorded and the TS backend takes over.
 *
 * The addon owns every buffer its async workers touch (native/binding/addon.cpp):
 * weights are copied once into a handle per GruParams object, inputs are
 * copied per call, and outputs come back as arrays over native memory.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  CandidateActivation,
  GateActivation,
  GruCache,
  GruGradients,
  GruParams,
  GruSpec,
  KernelBackend,
  LstmCache,
  LstmGradients,
  LstmParams,
  LstmSpec,
  RnnCache,
  RnnGradients,
  RnnParams,
  RnnSpec,
  SgemmArgs,
} from './types.js';

/** Opaque handles made by the addon. */
type Handle = object;

/** What the addon exports (native/binding/addon.cpp). */
interface Addon {
  createGruWeights(args: { inputSize: number; units: number; resetAfter: boolean; kernel: Float32Array; recurrentKernel: Float32Array; inputBias: Float32Array | null; recurrentBias: Float32Array | null }): Handle;
  gruForward(args: { weights: Handle; batch: number; steps: number; activation: number; recurrentActivation: number; x: Float32Array; h0: Float32Array; mask: Uint8Array | null; recurrentScale: Float32Array | null; training: boolean }): Promise<{ output: Float32Array; cache?: Handle }>;
  gruBackward(args: { cache: Handle; dOutput: Float32Array | null; dLast: Float32Array | null }): Promise<GruGradients>;
  createLstmWeights(args: { inputSize: number; units: number; kernel: Float32Array; recurrentKernel: Float32Array; bias: Float32Array | null }): Handle;
  lstmForward(args: {
    weights: Handle;
    batch: number;
    steps: number;
    activation: number;
    recurrentActivation: number;
    x: Float32Array;
    h0: Float32Array;
    c0: Float32Array;
    mask: Uint8Array | null;
    recurrentScale: Float32Array | null;
    training: boolean;
  }): Promise<{ output: Float32Array; c: Float32Array; cache?: Handle }>;
  lstmBackward(args: { cache: Handle; dOutput: Float32Array | null; dh: Float32Array | null; dc: Float32Array | null }): Promise<LstmGradients>;
  createRnnWeights(args: { inputSize: number; units: number; kernel: Float32Array; recurrentKernel: Float32Array; bias: Float32Array | null }): Handle;
  simpleRnnForward(args: {
    weights: Handle;
    batch: number;
    steps: number;
    activation: number;
    x: Float32Array;
    h0: Float32Array;
    mask: Uint8Array | null;
    recurrentScale: Float32Array | null;
    training: boolean;
  }): Promise<{ output: Float32Array; cache?: Handle }>;
  simpleRnnBackward(args: { cache: Handle; dOutput: Float32Array | null; dLast: Float32Array | null }): Promise<RnnGradients>;
  sgemm(args: SgemmArgs): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  info(): { blasConfig: string; blasCore: string; blasThreads: number; cpuFeatures: string[]; gateMathDispatch: string };
}

export interface NativeLoad {
  addon: Addon | null;
  error: string | null;
  path: string | null;
}

interface NativeGruCache extends GruCache {
  readonly backend: 'native';
  readonly handle: Handle;
}

interface NativeLstmCache extends LstmCache {
  readonly backend: 'native';
  readonly handle: Handle;
}

interface NativeRnnCache extends RnnCache {
  readonly backend: 'native';
  readonly handle: Handle;
}

// Enum values shared with native/kernels/activations.h.
const ACTIVATION_CODE: Record<CandidateActivation, number> = { tanh: 0, relu: 1, linear: 2, sigmoid: 3 };
const GATE_CODE: Record<GateActivation, number> = { sigmoid: 0, hardSigmoid: 1, hardSigmoidKeras3: 2 };

/** The package root: where package.json, prebuilds/ and build/ are. */
function packageRoot(): string {
  const here = typeof __dirname === 'string' ? __dirname : path.dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'gatedrnn') return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.join(here, '..');
    dir = up;
  }
}

/**
 * Loads the addon. `GATEDRNN_ADDON=/path/to/gatedrnn.node` loads that file
 * instead (tests use it to check the cmake-js and node-gyp builds separately).
 */
export function loadNative(): NativeLoad {
  const req = createRequire(typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url));
  try {
    const explicit = process.env.GATEDRNN_ADDON;
    if (explicit) return { addon: req(path.resolve(explicit)) as Addon, error: null, path: path.resolve(explicit) };
    const root = packageRoot();
    const nodeGypBuild = req('node-gyp-build') as ((dir: string) => Addon) & { resolve(dir: string): string };
    const resolved = nodeGypBuild.resolve(root);
    return { addon: req(resolved) as Addon, error: null, path: resolved };
  } catch (e) {
    return { addon: null, error: e instanceof Error ? e.message.split('\n')[0] : String(e), path: null };
  }
}

/**
 * One native copy of each weights object, made on first use and freed with
 * it (params objects are immutable, so the object is the key).
 */
function handlesFor<S, P extends object>(create: (spec: S, params: P) => Handle): (spec: S, params: P) => Handle {
  const handles = new WeakMap<P, Handle>();
  return (spec, params) => {
    let handle = handles.get(params);
    if (!handle) {
      handle = create(spec, params);
      handles.set(params, handle);
    }
    return handle;
  };
}

export function nativeBackend(addon: Addon): KernelBackend {
  const weightsOf = handlesFor<GruSpec, GruParams>((spec, p) =>
    addon.createGruWeights({
      inputSize: spec.inputSize,
      units: spec.units,
      resetAfter: spec.resetAfter,
      kernel: p.kernel,
      recurrentKernel: p.recurrentKernel,
      inputBias: p.inputBias,
      recurrentBias: spec.resetAfter ? p.recurrentBias : null,
    }),
  );
  const lstmWeightsOf = handlesFor<LstmSpec, LstmParams>((spec, p) =>
    addon.createLstmWeights({ inputSize: spec.inputSize, units: spec.units, kernel: p.kernel, recurrentKernel: p.recurrentKernel, bias: p.bias }),
  );
  const rnnWeightsOf = handlesFor<RnnSpec, RnnParams>((spec, p) =>
    addon.createRnnWeights({ inputSize: spec.inputSize, units: spec.units, kernel: p.kernel, recurrentKernel: p.recurrentKernel, bias: p.bias }),
  );

  return {
    name: 'native',
    async gruForward(spec, p, x, h0, mask, recurrentScale, training) {
      const r = await addon.gruForward({
        weights: weightsOf(spec, p),
        batch: spec.batch,
        steps: spec.steps,
        activation: ACTIVATION_CODE[spec.activation],
        recurrentActivation: GATE_CODE[spec.recurrentActivation],
        x,
        h0,
        mask,
        recurrentScale,
        training,
      });
      const cache: NativeGruCache | null = r.cache ? { backend: 'native', handle: r.cache } : null;
      return { output: r.output, cache };
    },
    async gruBackward(spec, p, forward, dOutput, dLast) {
      if (!forward.cache || forward.cache.backend !== 'native') throw new Error('gruBackward needs the cache of a training forward on the same backend');
      const g = await addon.gruBackward({ cache: (forward.cache as NativeGruCache).handle, dOutput, dLast });
      return {
        dx: g.dx,
        dh0: g.dh0,
        dKernel: g.dKernel,
        dRecurrentKernel: g.dRecurrentKernel,
        dInputBias: p.inputBias ? g.dInputBias : null,
        dRecurrentBias: p.recurrentBias ? g.dRecurrentBias ?? new Float32Array(3 * spec.units) : null,
      };
    },
    async lstmForward(spec, p, x, h0, c0, mask, recurrentScale, training) {
      const r = await addon.lstmForward({
        weights: lstmWeightsOf(spec, p),
        batch: spec.batch,
        steps: spec.steps,
        activation: ACTIVATION_CODE[spec.activation],
        recurrentActivation: GATE_CODE[spec.recurrentActivation],
        x,
        h0,
        c0,
        mask,
        recurrentScale,
        training,
      });
      const cache: NativeLstmCache | null = r.cache ? { backend: 'native', handle: r.cache } : null;
      return { output: r.output, c: r.c, cache };
    },
    async lstmBackward(spec, p, forward, dOutput, dh, dc) {
      if (!forward.cache || forward.cache.backend !== 'native') throw new Error('lstmBackward needs the cache of a training forward on the same backend');
      const g = await addon.lstmBackward({ cache: (forward.cache as NativeLstmCache).handle, dOutput, dh, dc });
      return { ...g, dBias: p.bias ? g.dBias : null };
    },
    async simpleRnnForward(spec, p, x, h0, mask, recurrentScale, training) {
      const r = await addon.simpleRnnForward({ weights: rnnWeightsOf(spec, p), batch: spec.batch, steps: spec.steps, activation: ACTIVATION_CODE[spec.activation], x, h0, mask, recurrentScale, training });
      const cache: NativeRnnCache | null = r.cache ? { backend: 'native', handle: r.cache } : null;
      return { output: r.output, cache };
    },
    async simpleRnnBackward(spec, p, forward, dOutput, dLast) {
      if (!forward.cache || forward.cache.backend !== 'native') throw new Error('simpleRnnBackward needs the cache of a training forward on the same backend');
      const g = await addon.simpleRnnBackward({ cache: (forward.cache as NativeRnnCache).handle, dOutput, dLast });
      return { ...g, dBias: p.bias ? g.dBias : null };
    },
    sgemm: (args) => addon.sgemm(args),
    setNumThreads: (n) => addon.setNumThreads(n),
    getNumThreads: () => addon.getNumThreads(),
  };
}
