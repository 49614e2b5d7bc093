/**
 * LSTM forward in TypeScript: the same algorithm as native/kernels/lstm_forward.cpp
 * (layout and formulas in ../types.ts): one GEMM for the input projection of
 * every step, one per step for the recurrent part, then the gate math.
 */
import type { LstmCache, LstmForwardResult, LstmParams, LstmSpec } from '../types.js';
import { candidateFns, gateFns } from './activations.js';
import { sgemm } from './gemm.js';
import { carryOver, scaleState } from './sequence.js';
import { EventLoopYielder } from './yieldToEventLoop.js';

/** The TS backend's LSTM cache: the inputs and what the steps computed. */
export interface JsLstmCache extends LstmCache {
  readonly backend: 'js';
  x: Float32Array;
  h0: Float32Array;
  c0: Float32Array;
  mask: Uint8Array | null;
  recurrentScale: Float32Array | null;
  /** (B, T, H): the states, for backward (the caller gets its own copy). */
  output: Float32Array;
  /** (B, T, 4H): i | f | g | o after their activations. */
  gates: Float32Array;
  /** (B, T, H): c_t. */
  cells: Float32Array;
}

export async function lstmForward(
  spec: LstmSpec,
  p: LstmParams,
  x: Float32Array,
  h0: Float32Array,
  c0: Float32Array,
  mask: Uint8Array | null,
  recurrentScale: Float32Array | null,
  training: boolean,
): Promise<LstmForwardResult> {
  const { batch: B, steps: T, inputSize: I, units: H } = spec;
  const gate = gateFns[spec.recurrentActivation].f;
  const act = candidateFns[spec.activation].f;
  const output = new Float32Array(B * T * H);
  const xp = new Float32Array(B * T * 4 * H);
  const cells = new Float32Array(B * T * H);
  const bias = p.bias ?? new Float32Array(4 * H);
  const hp = new Float32Array(B * 4 * H);
  const yielder = new EventLoopYielder();

  if (B * T > 0) sgemm({ transA: false, transB: false, m: B * T, n: 4 * H, k: I, alpha: 1, a: x, lda: I, b: p.kernel, ldb: 4 * H, beta: 0, c: xp, ldc: 4 * H });
  for (let t = 0; t < T && B > 0; t++) {
    const hPrev = t === 0 ? h0 : output.subarray((t - 1) * H);
    const ldh = t === 0 ? H : T * H;
    // The recurrent matmul reads h_{t-1} through recurrent dropout.
    const hIn = recurrentScale ? scaleState(hPrev, ldh, recurrentScale, B, H) : hPrev;
    sgemm({ transA: false, transB: false, m: B, n: 4 * H, k: H, alpha: 1, a: hIn, lda: recurrentScale ? H : ldh, b: p.recurrentKernel, ldb: 4 * H, beta: 0, c: hp, ldc: 4 * H });
    for (let b = 0; b < B; b++) {
      const g = (b * T + t) * 4 * H, q = b * 4 * H, o = (b * T + t) * H;
      const cp = t === 0 ? c0 : cells, cpo = t === 0 ? b * H : (b * T + t - 1) * H;
      if (mask && !mask[b * T + t]) {
        // A skipped step: h and c carry over.
        carryOver(cells, o, cp, cpo, H);
        carryOver(output, o, hPrev, b * ldh, H);
        continue;
      }
      for (let j = 0; j < H; j++) {
        const i = gate(xp[g + j] + hp[q + j] + bias[j]);
        const f = gate(xp[g + H + j] + hp[q + H + j] + bias[H + j]);
        const gg = act(xp[g + 2 * H + j] + hp[q + 2 * H + j] + bias[2 * H + j]);
        const og = gate(xp[g + 3 * H + j] + hp[q + 3 * H + j] + bias[3 * H + j]);
        xp[g + j] = i;
        xp[g + H + j] = f;
        xp[g + 2 * H + j] = gg;
        xp[g + 3 * H + j] = og;
        cells[o + j] = f * cp[cpo + j] + i * gg;
        output[o + j] = og * act(cells[o + j]);
      }
    }
    await yielder.maybeYield();
  }
  const c = T === 0 ? Float32Array.from(c0.subarray(0, B * H)) : new Float32Array(B * H);
  if (T > 0) for (let b = 0; b < B; b++) c.set(cells.subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
  const cache: JsLstmCache | null = training ? { backend: 'js', x, h0, c0, mask, recurrentScale, output, gates: xp, cells } : null;
  return { output: training ? output.slice() : output, c, cache };
}
