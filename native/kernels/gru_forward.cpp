// GRU forward over a whole sequence (shapes and formulas in gru.h).
//
// The algorithm (both kernels packed for packedGemm first, packed_gemm.h):
//   1. xp (B*T, 3H) = x (B*T, I) @ kernel: the input projection of every
//      timestep in one GEMM. In inference, where nothing is kept for
//      backward, of a chunk of timesteps at a time instead (a few MB, so the
//      projections are still in cache when their steps read them).
//   2. for each step t: hp (B, 3H) = h_{t-1} @ rkernel (one GEMM for the
//      three gates when resetAfter; two when not, because r multiplies h
//      before the candidate's matmul), then the fused gate math, split across
//      batch rows on the gate pool. h_{t-1} is read in place from output
//      (row stride T*H), so no state is copied.
// xp is overwritten in place by the gate activations: in training that
// buffer is the cache backward reads.
#include <algorithm>
#include <vector>

#include "buffer.h"
#include "dispatch.h"
#include "gemm.h"
#include "packed_gemm.h"
#include "gru.h"
#include "sequence.h"
#include "threadpool.h"

namespace gatedrnn {

namespace {

// One step's rows of the input projection: row b (3H floats) at
// base + b * stride. In training xp is the whole (B, T, 3H) cache; in
// inference it is a chunk of a few timesteps (B, tc, 3H), so it stays in
// cache and no (B, T, 3H) buffer is ever allocated.
struct XpStep {
  float* base;
  long stride;
  float* row(int b) const { return base + static_cast<long>(b) * stride; }
};

// Gates for rows [b0, b1) of step t, resetAfter = true. Each loop is one
// step of the formula and vectorises; a row (3H floats) stays in L1 between
// them.
//   xp   (B, T, 3H)  in: x W (no bias); out: z | r | hh
//   hp   (B, 3H)     h_{t-1} U (no bias)
//   hPrev            h_{t-1}, row stride ldh
//   out  (B, T, H)   h_t written at step t
//   hn   (B, T, H)   h U_h + rb_h for backward, or null
//   mask (B, T)      nullable; a skipped step carries h_{t-1} over
GATEDRNN_VECTOR_CLONES
void gatesResetAfter(const GruShape& s, const GruOptions& o, const float* ib, const float* rb,
                     int t, int b0, int b1, const XpStep& xp, const float* hp, const float* hPrev,
                     int ldh, const uint8_t* mask, float* out, float* hn) {
  const int H = s.units, T = s.steps;
  for (int b = b0; b < b1; b++) {
    const long row = static_cast<long>(b) * T + t;
    float* __restrict g = xp.row(b);
    const float* __restrict p = hp + static_cast<long>(b) * 3 * H;
    const float* __restrict h = hPrev + static_cast<long>(b) * ldh;
    float* __restrict hOut = out + row * H;
    // z | r = gate(x W + ib + h U + rb)
    for (int j = 0; j < 2 * H; j++) g[j] += ib[j] + p[j] + rb[j];
    applyGateActivation(o.recurrentActivation, g, 2 * H);
    // hh = activation(x W_h + ib_h + r * (h U_h + rb_h))
    for (int j = 0; j < H; j++) g[2 * H + j] += ib[2 * H + j] + g[H + j] * (p[2 * H + j] + rb[2 * H + j]);
    applyCandidateActivation(o.activation, g + 2 * H, H);
    // h' = z * h + (1 - z) * hh
    for (int j = 0; j < H; j++) hOut[j] = g[j] * h[j] + (1.0f - g[j]) * g[2 * H + j];
    if (mask && !mask[row]) std::copy(h, h + H, hOut);
    if (hn) {
      float* __restrict hnRow = hn + row * H;
      for (int j = 0; j < H; j++) hnRow[j] = p[2 * H + j] + rb[2 * H + j];
    }
  }
}

// resetAfter = false, first half: z and r, and rh = r * h_{t-1} (B, H) for
// the candidate's matmul (hIn: h_{t-1} as the matmuls see it, after
// recurrent dropout).
GATEDRNN_VECTOR_CLONES
void gatesZR(const GruShape& s, const GruOptions& o, const float* ib, int b0, int b1,
             const XpStep& xp, const float* hp, const float* hPrev, int ldh, float* rh) {
  const int H = s.units;
  for (int b = b0; b < b1; b++) {
    float* __restrict g = xp.row(b);
    const float* __restrict p = hp + static_cast<long>(b) * 3 * H;
    const float* __restrict h = hPrev + static_cast<long>(b) * ldh;
    float* __restrict rhRow = rh + static_cast<long>(b) * H;
    // z | r = gate(x W + h U + b)
    for (int j = 0; j < 2 * H; j++) g[j] += ib[j] + p[j];
    applyGateActivation(o.recurrentActivation, g, 2 * H);
    for (int j = 0; j < H; j++) rhRow[j] = g[H + j] * h[j];
  }
}

// resetAfter = false, second half: hh from (r * h) U_h (in hp's third block)
// and the new state.
GATEDRNN_VECTOR_CLONES
void gatesCandidate(const GruShape& s, const GruOptions& o, const float* ib, int t, int b0,
                    int b1, const XpStep& xp, const float* hp, const float* hPrev, int ldh,
                    const uint8_t* mask, float* out) {
  const int H = s.units, T = s.steps;
  for (int b = b0; b < b1; b++) {
    const long row = static_cast<long>(b) * T + t;
    float* __restrict g = xp.row(b);
    const float* __restrict p = hp + static_cast<long>(b) * 3 * H;
    const float* __restrict h = hPrev + static_cast<long>(b) * ldh;
    float* __restrict hOut = out + row * H;
    // hh = activation(x W_h + (r * h) U_h + b_h)
    for (int j = 0; j < H; j++) g[2 * H + j] += ib[2 * H + j] + p[2 * H + j];
    applyCandidateActivation(o.activation, g + 2 * H, H);
    // h' = z * h + (1 - z) * hh
    for (int j = 0; j < H; j++) hOut[j] = g[j] * h[j] + (1.0f - g[j]) * g[2 * H + j];
    if (mask && !mask[row]) std::copy(h, h + H, hOut);
  }
}

}  // namespace

PackedCellWeights packGruWeights(bool resetAfter, int inputSize, int units, const GruWeights& w, BlockUse use) {
  const int I = inputSize, H = units;
  PackedCellWeights p;
  p.kernel = PackedMatrix(Trans::No, I, 3 * H, w.kernel, 3 * H, use);
  // Without resetAfter the candidate's product reads r * h, not h: its
  // columns are a product of their own.
  p.recurrent = PackedMatrix(Trans::No, H, resetAfter ? 3 * H : 2 * H, w.recurrentKernel, 3 * H, use);
  if (!resetAfter) p.candidate = PackedMatrix(Trans::No, H, H, w.recurrentKernel + 2 * H, 3 * H, use);
  return p;
}

void gruForward(const GruShape& s, const GruOptions& o, const GruWeights& w, const float* x,
                const float* h0, const uint8_t* mask, const float* rscale, float* output,
                const GruCache* cache) {
  const int B = s.batch, T = s.steps, I = s.inputSize, H = s.units;
  if (B == 0 || T == 0) return;
  // Training projects every step at once into the cache backward reads;
  // inference projects a chunk of steps at a time (projectionChunk).
  const int chunk = cache ? T : projectionChunk(B, T, 3 * H);
  FloatBuffer xpScratch(cache ? 0 : static_cast<size_t>(B) * chunk * 3 * H);
  FloatBuffer xChunk(cache || chunk == T ? 0 : static_cast<size_t>(B) * chunk * I);
  float* xp = cache ? cache->gates : xpScratch.data();
  float* hn = cache && o.resetAfter ? cache->hnCache : nullptr;
  std::vector<float> zeros(3 * static_cast<size_t>(H), 0.0f);
  const float* ib = w.inputBias ? w.inputBias : zeros.data();
  const float* rb = w.recurrentBias && o.resetAfter ? w.recurrentBias : zeros.data();
  FloatBuffer hp(static_cast<size_t>(B) * 3 * H);
  FloatBuffer rh(o.resetAfter ? 0 : static_cast<size_t>(B) * H);
  FloatBuffer hScaled(rscale ? static_cast<size_t>(B) * H : 0);
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  const bool split = worthSplitting(static_cast<long>(B) * H);
  // Both kernels packed once for all T steps (or earlier, w.packed).
  const PackedCellWeights ownPacking = w.packed ? PackedCellWeights() : packGruWeights(o.resetAfter, I, H, w);
  const PackedCellWeights& packed = w.packed ? *w.packed : ownPacking;
  const PackedMatrix& kernel = packed.kernel;

  for (int t0 = 0; t0 < T; t0 += chunk) {
    const int tc = std::min(chunk, T - t0);
    projectChunk(x, B, T, I, t0, tc, kernel, xChunk.data(), xp);
    for (int t = t0; t < t0 + tc; t++) {
      const XpStep xs{xp + static_cast<long>(t - t0) * 3 * H, static_cast<long>(tc) * 3 * H};
      const float* hPrev = t == 0 ? h0 : output + static_cast<long>(t - 1) * H;
      const int ldh = t == 0 ? H : T * H;
      // What the recurrent matmuls read: h_{t-1}, through recurrent dropout.
      const float* hIn = scaleState(hPrev, ldh, rscale, B, H, hScaled.data());
      const int ldIn = rscale ? H : ldh;
      if (o.resetAfter) {
        packedGemm(B, hIn, ldIn, packed.recurrent, 0.0f, hp.data(), 3 * H);
        auto rows = [&](int b0, int b1) {
          gatesResetAfter(s, o, ib, rb, t, b0, b1, xs, hp.data(), hPrev, ldh, mask, output, hn);
        };
        if (split) pool->parallelFor(B, rows); else rows(0, B);
      } else {
        packedGemm(B, hIn, ldIn, packed.recurrent, 0.0f, hp.data(), 3 * H);
        auto zr = [&](int b0, int b1) {
          gatesZR(s, o, ib, b0, b1, xs, hp.data(), hIn, ldIn, rh.data());
        };
        if (split) pool->parallelFor(B, zr); else zr(0, B);
        packedGemm(B, rh.data(), H, packed.candidate, 0.0f, hp.data() + 2 * H, 3 * H);
        auto cand = [&](int b0, int b1) {
          gatesCandidate(s, o, ib, t, b0, b1, xs, hp.data(), hPrev, ldh, mask, output);
        };
        if (split) pool->parallelFor(B, cand); else cand(0, B);
      }
    }
  }
}

}  // namespace gatedrnn
