/**
 * Loads the C++ addon (a local build from source first, then the prebuilt
 * binary node-gyp-build matches in prebuilds/; see loadNative) and adapts it
 * to the kernel interface. Loading never throws: a failure is recorded and
 * the TS backend takes over.
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
  gruForward(args: { weights: Handle; batch: number; steps: number; activation: number; recurrentActivation: number; x: Float32Array; h0: Float32Array; mask: Uint8Array | null; recurrentScale: Float32Array | null; training: boolean; lastOnly: boolean }): Promise<{ output: Float32Array; cache?: Handle }>;
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
    lastOnly: boolean;
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
    lastOnly: boolean;
  }): Promise<{ output: Float32Array; cache?: Handle }>;
  simpleRnnBackward(args: { cache: Handle; dOutput: Float32Array | null; dLast: Float32Array | null }): Promise<RnnGradients>;
  sgemm(args: SgemmArgs): void;
  releaseCache(cache: Handle): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  info(): { blasConfig: string; blasCore: string; blasThreads: number; cpuFeatures: string[]; gateMathDispatch: string; recurrentKernelIsa: string };
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

/** The parts of node-gyp-build used here: its own matching of prebuilds/<platform>-<arch>/<tags>.node. */
interface NodeGypBuild {
  parseTuple(name: string): { name: string } | undefined;
  matchTuple(platform: string, arch: string): (tuple: { name: string }) => boolean;
  compareTuples(a: { name: string }, b: { name: string }): number;
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (tags: { file: string } | undefined) => boolean;
  compareTags(runtime: string): (a: { file: string }, b: { file: string }) => number;
}

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The prebuilt binary node-gyp-build would pick for this platform, or null. */
function findPrebuild(root: string, ngb: NodeGypBuild): string | null {
  const platform = process.env.npm_config_platform || process.platform;
  const arch = process.env.npm_config_arch || process.arch;
  const tuple = readdir(path.join(root, 'prebuilds'))
    .map((name) => ngb.parseTuple(name))
    .filter((t): t is { name: string } => t !== undefined && ngb.matchTuple(platform, arch)(t))
    .sort(ngb.compareTuples)[0];
  if (!tuple) return null;
  const dir = path.join(root, 'prebuilds', tuple.name);
  const winner = readdir(dir)
    .map((file) => ngb.parseTags(file))
    .filter((tags): tags is { file: string } => ngb.matchTags('node', process.versions.modules)(tags))
    .sort(ngb.compareTags('node'))[0];
  return winner ? path.join(dir, winner.file) : null;
}

function firstLine(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

/**
 * Loads the addon, never throwing. The order:
 *   1. `GATEDRNN_ADDON=/path/to/gatedrnn.node`, alone (tests use it to check
 *      each build separately);
 *   2. a local build, build/Release (then build/Debug): it exists only when
 *      someone built from source on purpose (`npm install --build-from-source`,
 *      `npm run build:native`, or an install with no matching prebuild), so it
 *      wins over the prebuild, as with node-gyp-build;
 *   3. the prebuilt binary for this platform in prebuilds/ (node-gyp-build's
 *      matching), also when the local build exists but fails to load;
 *   4. none: `error` says what was tried and why each failed.
 */
export function loadNative(): NativeLoad {
  const req = createRequire(typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url));
  const explicit = process.env.GATEDRNN_ADDON;
  if (explicit) {
    const file = path.resolve(explicit);
    try {
      return { addon: req(file) as Addon, error: null, path: file };
    } catch (e) {
      return { addon: null, error: `GATEDRNN_ADDON=${explicit} did not load: ${firstLine(e)}`, path: null };
    }
  }
  const root = packageRoot();
  const failures: string[] = [];
  const candidates: Array<{ what: string; file: string }> = [];
  for (const kind of ['Release', 'Debug']) {
    const dir = path.join(root, 'build', kind);
    const file = readdir(dir).find((f) => f.endsWith('.node'));
    if (file) candidates.push({ what: 'the local build', file: path.join(dir, file) });
  }
  let prebuild: string | null = null;
  try {
    prebuild = findPrebuild(root, req('node-gyp-build') as NodeGypBuild);
  } catch (e) {
    failures.push(`node-gyp-build: ${firstLine(e)}`);
  }
  if (prebuild) candidates.push({ what: 'the prebuilt binary', file: prebuild });
  for (const { what, file } of candidates) {
    try {
      return { addon: req(file) as Addon, error: null, path: file };
    } catch (e) {
      failures.push(`${what} ${path.relative(root, file)} did not load: ${firstLine(e)}`);
    }
  }
  const tuple = `${process.platform}-${process.arch}`;
  if (!prebuild) {
    const shipped = readdir(path.join(root, 'prebuilds'));
    failures.unshift(`no prebuilt binary for ${tuple} (prebuilds/ has ${shipped.length > 0 ? shipped.join(', ') : 'none'})`);
  }
  if (candidates.every((c) => c.what !== 'the local build')) failures.push('no local build (build/Release)');
  return { addon: null, error: failures.join('; '), path: null };
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
    async gruForward(spec, p, x, h0, mask, recurrentScale, training, lastOnly = false) {
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
        lastOnly,
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
    async lstmForward(spec, p, x, h0, c0, mask, recurrentScale, training, lastOnly = false) {
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
        lastOnly,
      });
      const cache: NativeLstmCache | null = r.cache ? { backend: 'native', handle: r.cache } : null;
      return { output: r.output, c: r.c, cache };
    },
    async lstmBackward(spec, p, forward, dOutput, dh, dc) {
      if (!forward.cache || forward.cache.backend !== 'native') throw new Error('lstmBackward needs the cache of a training forward on the same backend');
      const g = await addon.lstmBackward({ cache: (forward.cache as NativeLstmCache).handle, dOutput, dh, dc });
      return { ...g, dBias: p.bias ? g.dBias : null };
    },
    async simpleRnnForward(spec, p, x, h0, mask, recurrentScale, training, lastOnly = false) {
      const r = await addon.simpleRnnForward({ weights: rnnWeightsOf(spec, p), batch: spec.batch, steps: spec.steps, activation: ACTIVATION_CODE[spec.activation], x, h0, mask, recurrentScale, training, lastOnly });
      const cache: NativeRnnCache | null = r.cache ? { backend: 'native', handle: r.cache } : null;
      return { output: r.output, cache };
    },
    async simpleRnnBackward(spec, p, forward, dOutput, dLast) {
      if (!forward.cache || forward.cache.backend !== 'native') throw new Error('simpleRnnBackward needs the cache of a training forward on the same backend');
      const g = await addon.simpleRnnBackward({ cache: (forward.cache as NativeRnnCache).handle, dOutput, dLast });
      return { ...g, dBias: p.bias ? g.dBias : null };
    },
    sgemm: (args) => addon.sgemm(args),
    releaseCache(forward) {
      const cache = forward.cache as NativeGruCache | NativeLstmCache | NativeRnnCache | null;
      if (cache && cache.backend === 'native') addon.releaseCache(cache.handle);
    },
    setNumThreads: (n) => addon.setNumThreads(n),
    getNumThreads: () => addon.getNumThreads(),
  };
}
