/**
 * Loads the C++ addon through node-gyp-build (prebuilds/ first, then
 * build/Release) and adapts it to the kernel interface. Loading never throws:
 * a failure is recorded and the TS backend takes over.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import type { CandidateActivation, GateActivation, GruForwardResult, GruParams, GruSpec, KernelBackend, SgemmArgs } from './types.js';

/** What the addon exports (native/binding/addon.cpp). */
interface Addon {
  gruForward(args: Record<string, unknown>): Promise<void>;
  gruBackward(args: Record<string, unknown>): Promise<void>;
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

function callArgs(spec: GruSpec, p: GruParams, x: Float32Array, h0: Float32Array): Record<string, unknown> {
  return {
    batch: spec.batch,
    steps: spec.steps,
    inputSize: spec.inputSize,
    units: spec.units,
    resetAfter: spec.resetAfter,
    activation: ACTIVATION_CODE[spec.activation],
    recurrentActivation: GATE_CODE[spec.recurrentActivation],
    x,
    h0,
    kernel: p.kernel,
    recurrentKernel: p.recurrentKernel,
    inputBias: p.inputBias,
    recurrentBias: spec.resetAfter ? p.recurrentBias : null,
  };
}

export function nativeBackend(addon: Addon): KernelBackend {
  return {
    name: 'native',
    async gruForward(spec, p, x, h0, training): Promise<GruForwardResult> {
      const { batch: B, steps: T, units: H } = spec;
      const output = new Float32Array(B * T * H);
      const gates = training ? new Float32Array(B * T * 3 * H) : null;
      const hnCache = training && spec.resetAfter ? new Float32Array(B * T * H) : null;
      await addon.gruForward({ ...callArgs(spec, p, x, h0), output, gates, hnCache });
      return { output, cache: gates ? { gates, hnCache } : null };
    },
    async gruBackward(spec, p, x, h0, forward, dOutput, dLast) {
      if (!forward.cache) throw new Error('gruBackward needs a forward run with training: true');
      const { batch: B, steps: T, inputSize: I, units: H } = spec;
      const grads = {
        dx: new Float32Array(B * T * I),
        dh0: new Float32Array(B * H),
        dKernel: new Float32Array(I * 3 * H),
        dRecurrentKernel: new Float32Array(H * 3 * H),
        dInputBias: p.inputBias ? new Float32Array(3 * H) : null,
        dRecurrentBias: p.recurrentBias ? new Float32Array(3 * H) : null,
      };
      await addon.gruBackward({
        ...callArgs(spec, p, x, h0),
        output: forward.output,
        gates: forward.cache.gates,
        hnCache: forward.cache.hnCache,
        dOutput,
        dLast,
        ...grads,
      });
      return grads;
    },
    sgemm: (args) => addon.sgemm(args),
    setNumThreads: (n) => addon.setNumThreads(n),
    getNumThreads: () => addon.getNumThreads(),
  };
}
