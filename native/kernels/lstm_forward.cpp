// LSTM forward over a whole sequence (shapes and formulas in lstm.h), the
// same plan as the GRU: one GEMM for the input projection of every step (of
// a chunk of steps at a time in inference), one GEMM per step for the four
// gates' recurrent part, then branch-free gate loops split across batch
// rows. h_{t-1} is read in place from output.
#include <algorithm>
#include <vector>

#include "buffer.h"
#include "dispatch.h"
#include "gemm.h"
#include "packed_gemm.h"
#include "lstm.h"
#include "sequence.h"
#include "threadpool.h"

namespace gatedrnn {

namespace {

// Gates and states for rows [b0, b1) of step t.
//   xp    step t's row of batch row b at xp + b * xpStride (4H floats):
//         in: x W; out: i | f | g | o
//   hp    (B, 4H)     h_{t-1} U
//   cPrev             c_{t-1}, row stride ldc
//   cOut              c_t, row stride ldcOut
//   out   (B, T, H)   h_t
//   act   (B, H)      scratch: act(c_t)
//   mask  (B, T)      nullable; a skipped step carries h and c over
GATEDRNN_VECTOR_CLONES
void lstmGates(const LstmShape& s, const LstmOptions& o, const float* bias, int t, int b0, int b1,
               float* xp, long xpStride, const float* hp, const float* hPrev, int ldh, const float* cPrev, int ldc,
               float* cOut, int ldcOut, const uint8_t* mask, float* out, float* act) {
  const int H = s.units, T = s.steps;
  for (int b = b0; b < b1; b++) {
    const long row = static_cast<long>(b) * T + t;
    float* __restrict g = xp + b * xpStride;
    const float* __restrict p = hp + static_cast<long>(b) * 4 * H;
    const float* __restrict c = cPrev + static_cast<long>(b) * ldc;
    float* __restrict cNew = cOut + static_cast<long>(b) * ldcOut;
    float* __restrict h = out + row * H;
    float* __restrict a = act + static_cast<long>(b) * H;
    if (mask && !mask[row]) {
      const float* hp0 = hPrev + static_cast<long>(b) * ldh;
      std::copy(c, c + H, cNew);
      std::copy(hp0, hp0 + H, h);
      continue;
    }
    for (int j = 0; j < 4 * H; j++) g[j] += p[j] + bias[j];
    // i | f, then o: the recurrent activation; g: the activation.
    applyGateActivation(o.recurrentActivation, g, 2 * H);
    applyCandidateActivation(o.activation, g + 2 * H, H);
    applyGateActivation(o.recurrentActivation, g + 3 * H, H);
    // c' = f * c + i * g
    for (int j = 0; j < H; j++) cNew[j] = g[H + j] * c[j] + g[j] * g[2 * H + j];
    // h' = o * act(c')
    for (int j = 0; j < H; j++) a[j] = cNew[j];
    applyCandidateActivation(o.activation, a, H);
    for (int j = 0; j < H; j++) h[j] = g[3 * H + j] * a[j];
  }
}

}  // namespace

PackedCellWeights packLstmWeights(int inputSize, int units, const LstmWeights& w, BlockUse use) {
  PackedCellWeights p;
  p.kernel = PackedMatrix(Trans::No, inputSize, 4 * units, w.kernel, 4 * units, use);
  p.recurrent = PackedMatrix(Trans::No, units, 4 * units, w.recurrentKernel, 4 * units, use);
  return p;
}

void lstmForward(const LstmShape& s, const LstmOptions& o, const LstmWeights& w, const float* x,
                 const float* h0, const float* c0, const uint8_t* mask, const float* rscale,
                 float* output, float* cLast, const LstmCache* cache) {
  const int B = s.batch, T = s.steps, I = s.inputSize, H = s.units;
  if (B == 0) return;
  if (T == 0) {
    std::copy(c0, c0 + static_cast<long>(B) * H, cLast);
    return;
  }
  // Training projects every step at once into the cache backward reads;
  // inference a chunk of steps at a time (projectionChunk, sequence.h).
  const int chunk = cache ? T : projectionChunk(B, T, 4 * H);
  FloatBuffer xpScratch(cache ? 0 : static_cast<size_t>(B) * chunk * 4 * H);
  FloatBuffer xChunk(cache || chunk == T ? 0 : static_cast<size_t>(B) * chunk * I);
  float* xp = cache ? cache->gates : xpScratch.data();
  // Cell states: every step when training, else two (B, H) buffers in turn.
  FloatBuffer cellScratch(cache ? 0 : static_cast<size_t>(2) * B * H);
  std::vector<float> zeros(4 * static_cast<size_t>(H), 0.0f);
  const float* bias = w.bias ? w.bias : zeros.data();
  FloatBuffer hp(static_cast<size_t>(B) * 4 * H);
  FloatBuffer act(static_cast<size_t>(B) * H);
  FloatBuffer hScaled(rscale ? static_cast<size_t>(B) * H : 0);
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  const bool split = worthSplitting(static_cast<long>(B) * H);
  // Both kernels packed once for all T steps (or earlier, w.packed).
  const PackedCellWeights ownPacking = w.packed ? PackedCellWeights() : packLstmWeights(I, H, w);
  const PackedCellWeights& packed = w.packed ? *w.packed : ownPacking;
  const PackedMatrix &kernel = packed.kernel, &u = packed.recurrent;

  for (int t = 0; t < T; t++) {
    // The chunk of steps t belongs to: (B, tc, 4H), projected at its first step.
    const int tc = std::min(chunk, T - (t - t % chunk));
    if (t % chunk == 0) projectChunk(x, B, T, I, t, tc, kernel, xChunk.data(), xp);
    float* xpStep = xp + static_cast<long>(t % chunk) * 4 * H;
    const float* hPrev = t == 0 ? h0 : output + static_cast<long>(t - 1) * H;
    const int ldh = t == 0 ? H : T * H;
    const float* cPrev;
    int ldc;
    float* cOut;
    int ldcOut;
    if (cache) {
      cPrev = t == 0 ? c0 : cache->cells + static_cast<long>(t - 1) * H;
      ldc = t == 0 ? H : T * H;
      cOut = cache->cells + static_cast<long>(t) * H;
      ldcOut = T * H;
    } else {
      cPrev = t == 0 ? c0 : cellScratch.data() + static_cast<long>((t - 1) % 2) * B * H;
      ldc = H;
      cOut = cellScratch.data() + static_cast<long>(t % 2) * B * H;
      ldcOut = H;
    }
    // The recurrent matmul reads h_{t-1} through recurrent dropout.
    const float* hIn = scaleState(hPrev, ldh, rscale, B, H, hScaled.data());
    packedGemm(B, hIn, rscale ? H : ldh, u, 0.0f, hp.data(), 4 * H);
    auto rows = [&](int b0, int b1) {
      lstmGates(s, o, bias, t, b0, b1, xpStep, static_cast<long>(tc) * 4 * H, hp.data(), hPrev, ldh, cPrev, ldc, cOut,
                ldcOut, mask, output, act.data());
    };
    if (split) pool->parallelFor(B, rows); else rows(0, B);
  }
  // The last cell state.
  for (int b = 0; b < B; b++) {
    const float* c = cache ? cache->cells + (static_cast<long>(b) * T + T - 1) * H
                           : cellScratch.data() + static_cast<long>((T - 1) % 2) * B * H + static_cast<long>(b) * H;
    std::copy(c, c + H, cLast + static_cast<long>(b) * H);
  }
}

}  // namespace gatedrnn
