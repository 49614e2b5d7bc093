// SimpleRNN backward (BPTT): dG (B, T, H) = dL/d(pre-activation) per step,
// dh_{t-1} = dG_t U^T (times the recurrent-dropout scale), and the weight
// gradients from all steps at once, as in the GRU and LSTM.
#include <algorithm>
#include <vector>

#include "buffer.h"
#include "dispatch.h"
#include "gemm.h"
#include "packed_gemm.h"
#include "parallel_gemm.h"
#include "sequence.h"
#include "simple_rnn.h"
#include "threadpool.h"

namespace gatedrnn {

namespace {

// Rows [b0, b1) of step t: dG from dh and dOutput through the activation;
// dh keeps only what skips the matmul (all of it at a skipped step).
GATEDRNN_VECTOR_CLONES
void rnnBackwardRows(const RnnShape& s, Activation act, int t, int b0, int b1, const float* output,
                     const uint8_t* mask, const float* dOutput, const float* zerosH, float* dh, float* dG) {
  const int H = s.units, T = s.steps;
  for (int b = b0; b < b1; b++) {
    const long row = static_cast<long>(b) * T + t;
    const float* __restrict dOut = dOutput ? dOutput + row * H : zerosH;
    float* __restrict d = dh + static_cast<long>(b) * H;
    float* __restrict g = dG + row * H;
    if (mask && !mask[row]) {
      for (int j = 0; j < H; j++) d[j] += dOut[j];
      std::fill(g, g + H, 0.0f);
      continue;
    }
    for (int j = 0; j < H; j++) {
      g[j] = d[j] + dOut[j];
      d[j] = 0.0f;
    }
    multiplyCandidateGrad(act, output + row * H, g, H);
  }
}

}  // namespace

void simpleRnnBackward(const RnnShape& s, Activation act, const RnnWeights& w, const float* x,
                       const float* h0, const uint8_t* mask, const float* rscale, const float* output,
                       const float* dOutput, const float* dLast, const RnnGrads& g) {
  const int B = s.batch, T = s.steps, I = s.inputSize, H = s.units;
  const long BT = static_cast<long>(B) * T, BH = static_cast<long>(B) * H;
  std::vector<float> dh(BH, 0.0f), zerosH(H, 0.0f);
  if (dLast) std::copy(dLast, dLast + BH, dh.begin());
  FloatBuffer dG(BT * H), dRec(rscale ? BH : 0);
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  const bool split = worthSplitting(BH);
  const PackedMatrix uT(Trans::Yes, H, H, w.recurrentKernel, H);  // packed once for all T steps
  for (int t = T - 1; t >= 0; t--) {
    auto rows = [&](int b0, int b1) {
      rnnBackwardRows(s, act, t, b0, b1, output, mask, dOutput, zerosH.data(), dh.data(), dG.data());
    };
    if (split) pool->parallelFor(B, rows); else rows(0, B);
    // dh_{t-1} += dG_t @ rkernel^T
    packedGemm(B, dG.data() + static_cast<long>(t) * H, T * H, uT, rscale ? 0.0f : 1.0f,
               rscale ? dRec.data() : dh.data(), H);
    if (rscale) addScaled(dh.data(), dRec.data(), rscale, BH);
  }
  std::copy(dh.begin(), dh.end(), g.dh0);
  if (BT == 0) {
    std::fill(g.dKernel, g.dKernel + static_cast<long>(I) * H, 0.0f);
    std::fill(g.dRecurrentKernel, g.dRecurrentKernel + static_cast<long>(H) * H, 0.0f);
    if (g.dBias) std::fill(g.dBias, g.dBias + H, 0.0f);
    return;
  }
  FloatBuffer hPrev(BT * H);
  previousStates(B, T, H, h0, output, hPrev.data());
  if (rscale) scaleStates(hPrev.data(), rscale, B, T, H);
  parallelSgemm(Trans::Yes, Trans::No, I, H, static_cast<int>(BT), 1.0f, x, I, dG.data(), H, 0.0f, g.dKernel, H);
  parallelSgemm(Trans::Yes, Trans::No, H, H, static_cast<int>(BT), 1.0f, hPrev.data(), H, dG.data(), H, 0.0f,
        g.dRecurrentKernel, H);
  parallelSgemm(Trans::No, Trans::Yes, static_cast<int>(BT), I, H, 1.0f, dG.data(), H, w.kernel, H, 0.0f, g.dx, I);
  if (g.dBias) columnSums(dG.data(), BT, H, g.dBias);
}

}  // namespace gatedrnn
