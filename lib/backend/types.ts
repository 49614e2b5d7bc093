/**
 * The kernel interface. The native addon and the pure-TypeScript backend both
 * implement it with the same algorithm and layout, so layers never know which
 * one runs.
 *
 * GRU layout (Keras's), gate blocks in order z | r | h:
 *   x (B, T, I) batch-major, h0 (B, H), kernel (I, 3H), recurrentKernel (H, 3H),
 *   inputBias (3H) or null, recurrentBias (3H) or null (resetAfter only),
 *   output (B, T, H): every state; output[:, T-1] is the last one.
 */

/** Candidate activation of a GRU (Keras `activation`). */
export type CandidateActivation = 'tanh' | 'relu' | 'linear' | 'sigmoid';
/**
 * Gate activation (Keras `recurrent_activation`):
 * `'sigmoid'`; `'hardSigmoid'` = clip(0.2x + 0.5, 0, 1) (Keras 2, tf.keras, tfjs);
 * `'hardSigmoidKeras3'` = clip(x/6 + 0.5, 0, 1) (Keras 3).
 */
export type GateActivation = 'sigmoid' | 'hardSigmoid' | 'hardSigmoidKeras3';

export const CANDIDATE_ACTIVATIONS: readonly CandidateActivation[] = ['tanh', 'relu', 'linear', 'sigmoid'];
export const GATE_ACTIVATIONS: readonly GateActivation[] = ['sigmoid', 'hardSigmoid', 'hardSigmoidKeras3'];

/** Sizes and options of one GRU call. */
export interface GruSpec {
  batch: number;
  steps: number;
  inputSize: number;
  units: number;
  resetAfter: boolean;
  activation: CandidateActivation;
  recurrentActivation: GateActivation;
}

/**
 * GRU weights in the layout above. Treat a GruParams object as immutable:
 * to change weights, make a new object (the native backend keeps a copy of
 * each object's weights in native memory, keyed by the object).
 */
export interface GruParams {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  inputBias: Float32Array | null;
  recurrentBias: Float32Array | null;
}

/**
 * What backward needs from a training forward. Private to the backend that
 * made it: the TS backend keeps arrays, the native one a handle to memory it
 * owns.
 */
export interface GruCache {
  readonly backend: BackendName;
}

export interface GruForwardResult {
  /** (B, T, H) every hidden state. */
  output: Float32Array;
  /** Present when the forward ran with `training: true`. */
  cache: GruCache | null;
}

export interface GruGradients {
  dx: Float32Array;
  dh0: Float32Array;
  dKernel: Float32Array;
  dRecurrentKernel: Float32Array;
  dInputBias: Float32Array | null;
  dRecurrentBias: Float32Array | null;
}

/**
 * LSTM layout (Keras's), gate blocks in order i | f | g | o:
 *   x (B, T, I), h0 and c0 (B, H), kernel (I, 4H), recurrentKernel (H, 4H),
 *   bias (4H) or null; output (B, T, H) every hidden state, c (B, H) the last
 *   cell state.
 */
export interface LstmSpec {
  batch: number;
  steps: number;
  inputSize: number;
  units: number;
  /** For the candidate g and the cell output act(c). */
  activation: CandidateActivation;
  /** For the gates i, f, o. */
  recurrentActivation: GateActivation;
}

/** LSTM weights; immutable like {@link GruParams}. */
export interface LstmParams {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array | null;
}

/** What LSTM backward needs; private to the backend that made it. */
export interface LstmCache {
  readonly backend: BackendName;
}

export interface LstmForwardResult {
  /** (B, T, H) every hidden state. */
  output: Float32Array;
  /** (B, H) the last cell state. */
  c: Float32Array;
  cache: LstmCache | null;
}

export interface LstmGradients {
  dx: Float32Array;
  dh0: Float32Array;
  dc0: Float32Array;
  dKernel: Float32Array;
  dRecurrentKernel: Float32Array;
  dBias: Float32Array | null;
}

/**
 * SimpleRNN layout (Keras's): x (B, T, I), h0 (B, H), kernel (I, H),
 * recurrentKernel (H, H), bias (H) or null; h' = act(x W + h U + b).
 */
export interface RnnSpec {
  batch: number;
  steps: number;
  inputSize: number;
  units: number;
  activation: CandidateActivation;
}

/** SimpleRNN weights; immutable like {@link GruParams}. */
export interface RnnParams {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array | null;
}

/** What SimpleRNN backward needs; private to the backend that made it. */
export interface RnnCache {
  readonly backend: BackendName;
}

export interface RnnForwardResult {
  output: Float32Array;
  cache: RnnCache | null;
}

export interface RnnGradients {
  dx: Float32Array;
  dh0: Float32Array;
  dKernel: Float32Array;
  dRecurrentKernel: Float32Array;
  dBias: Float32Array | null;
}

/** C (m,n) = alpha op(A) @ op(B) + beta C, row-major with leading dimensions. */
export interface SgemmArgs {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  a: Float32Array;
  lda: number;
  b: Float32Array;
  ldb: number;
  beta: number;
  c: Float32Array;
  ldc: number;
}

/** Which backend is active and what it runs on. */
export interface BackendInfo {
  /** `'native'` (C++ addon over OpenBLAS) or `'js'` (pure TypeScript). */
  backend: BackendName;
  /** The BLAS in use: `'OpenBLAS'` or `'none (TypeScript loops)'`. */
  blas: string;
  /** BLAS version and build configuration, when native. */
  blasVersion: string | null;
  /** OpenBLAS's kernel choice for this CPU (e.g. `'Haswell'`), when native. */
  blasCore: string | null;
  /** Threads used by the kernels. */
  threads: number;
  /** CPU features detected (x86: sse4.2, avx, avx2, fma, avx512f). */
  cpuFeatures: string[];
  /** How the gate math picks its vector instructions. */
  gateMathDispatch: string | null;
  /**
   * Vector instructions of the per-timestep recurrent products, when native:
   * `'avx512'`, `'avx2'` or `'generic'`. The CPU's best, capped by
   * `OPENBLAS_CORETYPE` when set (`Haswell` keeps it at `'avx2'`, as it keeps
   * OpenBLAS's own kernels) or by `GATEDRNN_KERNEL_ISA`.
   */
  recurrentKernelIsa: string | null;
  /** Whether the native addon could be loaded, and if not, why. */
  nativeAvailable: boolean;
  nativeError: string | null;
  /** Path of the loaded addon binary, when native. */
  nativePath: string | null;
}

export type BackendName = 'native' | 'js';

export interface KernelBackend {
  readonly name: BackendName;
  /**
   * `mask` (B, T), nullable: 1 = read the step, 0 = skip it (the state
   * carries over and the output repeats it). `recurrentScale` (B, H),
   * nullable: recurrent dropout, multiplying h_{t-1} where it enters the
   * recurrent matmul. `lastOnly` (inference only, steps > 0): `output` is
   * the last state (B, H) instead of every state (B, T, H); the kernel
   * keeps the sequence in scratch memory it reuses (returnSequences: false).
   * The same holds for lstmForward and simpleRnnForward.
   */
  gruForward(
    spec: GruSpec,
    params: GruParams,
    x: Float32Array,
    h0: Float32Array,
    mask: Uint8Array | null,
    recurrentScale: Float32Array | null,
    training: boolean,
    lastOnly?: boolean,
  ): Promise<GruForwardResult>;
  /** dOutput (B,T,H) and dLast (B,H): gradients w.r.t. the output and the last state (each nullable). */
  gruBackward(spec: GruSpec, params: GruParams, forward: GruForwardResult, dOutput: Float32Array | null, dLast: Float32Array | null): Promise<GruGradients>;
  lstmForward(
    spec: LstmSpec,
    params: LstmParams,
    x: Float32Array,
    h0: Float32Array,
    c0: Float32Array,
    mask: Uint8Array | null,
    recurrentScale: Float32Array | null,
    training: boolean,
    lastOnly?: boolean,
  ): Promise<LstmForwardResult>;
  /** dOutput (B,T,H), dh and dc (B,H): gradients w.r.t. the output and the last states (each nullable). */
  lstmBackward(
    spec: LstmSpec,
    params: LstmParams,
    forward: LstmForwardResult,
    dOutput: Float32Array | null,
    dh: Float32Array | null,
    dc: Float32Array | null,
  ): Promise<LstmGradients>;
  simpleRnnForward(
    spec: RnnSpec,
    params: RnnParams,
    x: Float32Array,
    h0: Float32Array,
    mask: Uint8Array | null,
    recurrentScale: Float32Array | null,
    training: boolean,
    lastOnly?: boolean,
  ): Promise<RnnForwardResult>;
  simpleRnnBackward(spec: RnnSpec, params: RnnParams, forward: RnnForwardResult, dOutput: Float32Array | null, dLast: Float32Array | null): Promise<RnnGradients>;
  sgemm(args: SgemmArgs): void;
  /**
   * Gives the memory a training forward kept for backward back now, instead
   * of when the garbage collector collects it, so the next training step
   * reuses it (fresh pages are slow to fault in). A backward with that
   * forward afterwards throws. Does nothing for a forward without a cache,
   * or while a backward is using it.
   */
  releaseCache(forward: { readonly cache: { readonly backend: BackendName } | null }): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
}
