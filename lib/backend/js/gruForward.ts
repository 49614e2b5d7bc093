/**
 * GRU forward in TypeScript: the same algorithm as native/kernels/gru_forward.cpp
 * (layout and formulas in ../types.ts).
 *   1. xp (B*T, 3H) = x @ kernel, one GEMM for every timestep;
 *   2. per step: hp (B, 3H) = h_{t-1} @ recurrentKernel (two GEMMs when
 *      !resetAfter), then the gate math; h_{t-1} is read in place from output.
 * xp is overwritten by the gate activations and becomes the cache.
 */
import type { GruCache, GruForwardResult, GruParams, GruSpec } from '../types.js';
import { candidateFns, gateFns } from './activations.js';
import { sgemm } from './gemm.js';
import { carryOver, scaleState } from './sequence.js';
import { EventLoopYielder } from './yieldToEventLoop.js';

/** The TS backend's cache: the gate activations and, for resetAfter, h U_h + rb_h. */
export interface JsGruCache extends GruCache {
  readonly backend: 'js';
  x: Float32Array;
  h0: Float32Array;
  mask: Uint8Array | null;
  recurrentScale: Float32Array | null;
  /** (B, T, H): the states, for backward (the caller gets its own copy). */
  output: Float32Array;
  /** (B, T, 3H): z | r | hh after their activations. */
  gates: Float32Array;
  /** (B, T, H), resetAfter only. */
  hnCache: Float32Array | null;
}

export async function gruForward(
  spec: GruSpec,
  p: GruParams,
  x: Float32Array,
  h0: Float32Array,
  mask: Uint8Array | null,
  recurrentScale: Float32Array | null,
  training: boolean,
): Promise<GruForwardResult> {
  const { batch: B, steps: T, inputSize: I, units: H, resetAfter } = spec;
  const gate = gateFns[spec.recurrentActivation].f;
  const cand = candidateFns[spec.activation].f;
  const output = new Float32Array(B * T * H);
  const xp = new Float32Array(B * T * 3 * H);
  const hn = training && resetAfter ? new Float32Array(B * T * H) : null;
  const ib = p.inputBias ?? new Float32Array(3 * H);
  const rb = resetAfter && p.recurrentBias ? p.recurrentBias : new Float32Array(3 * H);
  const hp = new Float32Array(B * 3 * H);
  const rh = new Float32Array(B * H);
  const yielder = new EventLoopYielder();

  if (B * T > 0) sgemm({ transA: false, transB: false, m: B * T, n: 3 * H, k: I, alpha: 1, a: x, lda: I, b: p.kernel, ldb: 3 * H, beta: 0, c: xp, ldc: 3 * H });

  for (let t = 0; t < T && B > 0; t++) {
    const hPrev = t === 0 ? h0 : output.subarray((t - 1) * H);
    const ldh = t === 0 ? H : T * H;
    // What the recurrent matmuls read: h_{t-1} through recurrent dropout.
    const hIn = recurrentScale ? scaleState(hPrev, ldh, recurrentScale, B, H) : hPrev;
    const ldIn = recurrentScale ? H : ldh;
    if (resetAfter) {
      sgemm({ transA: false, transB: false, m: B, n: 3 * H, k: H, alpha: 1, a: hIn, lda: ldIn, b: p.recurrentKernel, ldb: 3 * H, beta: 0, c: hp, ldc: 3 * H });
      for (let b = 0; b < B; b++) {
        const g = (b * T + t) * 3 * H, q = b * 3 * H, h = b * ldh, o = (b * T + t) * H;
        for (let j = 0; j < H; j++) {
          const z = gate(xp[g + j] + ib[j] + hp[q + j] + rb[j]);
          const r = gate(xp[g + H + j] + ib[H + j] + hp[q + H + j] + rb[H + j]);
          const hnj = Math.fround(hp[q + 2 * H + j] + rb[2 * H + j]);
          const n = cand(xp[g + 2 * H + j] + ib[2 * H + j] + r * hnj);
          output[o + j] = z * hPrev[h + j] + (1 - z) * n;
          xp[g + j] = z;
          xp[g + H + j] = r;
          xp[g + 2 * H + j] = n;
          if (hn) hn[o + j] = hnj;
        }
        if (mask && !mask[b * T + t]) carryOver(output, o, hPrev, h, H);
      }
    } else {
      sgemm({ transA: false, transB: false, m: B, n: 2 * H, k: H, alpha: 1, a: hIn, lda: ldIn, b: p.recurrentKernel, ldb: 3 * H, beta: 0, c: hp, ldc: 3 * H });
      for (let b = 0; b < B; b++) {
        const g = (b * T + t) * 3 * H, q = b * 3 * H;
        for (let j = 0; j < H; j++) {
          const z = gate(xp[g + j] + ib[j] + hp[q + j]);
          const r = gate(xp[g + H + j] + ib[H + j] + hp[q + H + j]);
          xp[g + j] = z;
          xp[g + H + j] = r;
          rh[b * H + j] = r * hIn[b * ldIn + j];
        }
      }
      sgemm({ transA: false, transB: false, m: B, n: H, k: H, alpha: 1, a: rh, lda: H, b: p.recurrentKernel.subarray(2 * H), ldb: 3 * H, beta: 0, c: hp.subarray(2 * H), ldc: 3 * H });
      for (let b = 0; b < B; b++) {
        const g = (b * T + t) * 3 * H, q = b * 3 * H, h = b * ldh, o = (b * T + t) * H;
        for (let j = 0; j < H; j++) {
          const z = xp[g + j];
          const n = cand(xp[g + 2 * H + j] + ib[2 * H + j] + hp[q + 2 * H + j]);
          output[o + j] = z * hPrev[h + j] + (1 - z) * n;
          xp[g + 2 * H + j] = n;
        }
        if (mask && !mask[b * T + t]) carryOver(output, o, hPrev, h, H);
      }
    }
    await yielder.maybeYield();
  }
  const cache: JsGruCache | null = training ? { backend: 'js', x, h0, mask, recurrentScale, output, gates: xp, hnCache: hn } : null;
  // As the native backend: writing to the returned output cannot change a later gradient.
  return { output: training ? output.slice() : output, cache };
}

