// SimpleRNN forward (shapes in simple_rnn.h): the input projection of every
// step in one GEMM straight into output, then per step one GEMM adding
// h_{t-1} U into that step's rows and the activation in place.
#include <algorithm>
#include <vector>

#include "buffer.h"
#include "dispatch.h"
#include "gemm.h"
#include "packed_gemm.h"
#include "sequence.h"
#include "simple_rnn.h"
#include "threadpool.h"

namespace gatedrnn {

namespace {

// Rows [b0, b1) of step t: out holds x W + h U; add the bias, activate, and
// carry h_{t-1} over at skipped steps.
GATEDRNN_VECTOR_CLONES
void rnnActivate(const RnnShape& s, Activation act, const float* bias, int t, int b0, int b1,
                 const float* hPrev, int ldh, const uint8_t* mask, float* out) {
  const int H = s.units, T = s.steps;
  for (int b = b0; b < b1; b++) {
    const long row = static_cast<long>(b) * T + t;
    float* __restrict h = out + row * H;
    if (mask && !mask[row]) {
      const float* p = hPrev + static_cast<long>(b) * ldh;
      std::copy(p, p + H, h);
      continue;
    }
    for (int j = 0; j < H; j++) h[j] += bias[j];
    applyCandidateActivation(act, h, H);
  }
}

}  // namespace

PackedCellWeights packRnnWeights(int inputSize, int units, const RnnWeights& w, BlockUse use) {
  PackedCellWeights p;
  p.kernel = PackedMatrix(Trans::No, inputSize, units, w.kernel, units, use);
  p.recurrent = PackedMatrix(Trans::No, units, units, w.recurrentKernel, units, use);
  return p;
}

void simpleRnnForward(const RnnShape& s, Activation act, const RnnWeights& w, const float* x,
                      const float* h0, const uint8_t* mask, const float* rscale, float* output) {
  const int B = s.batch, T = s.steps, I = s.inputSize, H = s.units;
  if (B == 0 || T == 0) return;
  std::vector<float> zeros(H, 0.0f);
  const float* bias = w.bias ? w.bias : zeros.data();
  FloatBuffer hScaled(rscale ? static_cast<size_t>(B) * H : 0);
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  const bool split = worthSplitting(static_cast<long>(B) * H);

  // Both kernels packed once for all T steps (or earlier, w.packed).
  const PackedCellWeights ownPacking = w.packed ? PackedCellWeights() : packRnnWeights(I, H, w);
  const PackedCellWeights& packed = w.packed ? *w.packed : ownPacking;
  const PackedMatrix& u = packed.recurrent;
  packedGemm(B * T, x, I, packed.kernel, 0.0f, output, H);
  for (int t = 0; t < T; t++) {
    const float* hPrev = t == 0 ? h0 : output + static_cast<long>(t - 1) * H;
    const int ldh = t == 0 ? H : T * H;
    const float* hIn = scaleState(hPrev, ldh, rscale, B, H, hScaled.data());
    // output[:, t] += h_{t-1} U
    packedGemm(B, hIn, rscale ? H : ldh, u, 1.0f, output + static_cast<long>(t) * H, T * H);
    auto rows = [&](int b0, int b1) { rnnActivate(s, act, bias, t, b0, b1, hPrev, ldh, mask, output); };
    if (split) pool->parallelFor(B, rows); else rows(0, B);
  }
}

}  // namespace gatedrnn
