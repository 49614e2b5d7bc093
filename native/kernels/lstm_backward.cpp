// LSTM backward (BPTT) over a whole sequence (shapes and formulas in lstm.h).
//
// The sweep runs t = T-1 .. 0 carrying dh and dc (B, H). At each step the
// gate loops turn them into dG (B, T, 4H), the gradients of the four gates'
// pre-activations; h_{t-1} reaches the loss only through the gates (or, at a
// skipped step, directly), so dh_{t-1} += dG_t U^T is one GEMM. The weight gradients then come from all
// timesteps at once: dKernel = x^T dG, dRecurrentKernel = Hprev^T dG,
// dx = dG kernel^T, dBias = column sums of dG.
#include <algorithm>
#include <vector>

#include "buffer.h"
#include "dispatch.h"
#include "gemm.h"
#include "packed_gemm.h"
#include "parallel_gemm.h"
#include "lstm.h"
#include "sequence.h"
#include "threadpool.h"

namespace gatedrnn {

namespace {

struct StepViews {
  const float* gates;    // (B, T, 4H) i | f | g | o
  const float* cells;    // (B, T, H) c_t
  const float* cPrev;    // c_{t-1}, row stride ldc
  int ldc;
  const uint8_t* mask;   // (B, T) or null
  const float* dOutput;  // (B, T, H) or null
  float* dh;             // (B, H) in: dL/dh_t; out: its part that skips the gates (0, or all of it for a skipped step)
  float* dc;             // (B, H) in: dL/dc_t; out: dL/dc_{t-1}
  float* dG;             // (B, T, 4H)
  float* act;            // (B, H) scratch: act(c_t)
  float* dhc;            // (B, H) scratch: dL/dh * o * act'(c)
};

// Rows [b0, b1) of step t; one loop per step of the chain rule.
GATEDRNN_VECTOR_CLONES
void lstmBackwardGates(const LstmShape& s, const LstmOptions& o, const StepViews& v, const float* zerosH,
                       int t, int b0, int b1) {
  const int H = s.units, T = s.steps;
  for (int b = b0; b < b1; b++) {
    const long row = static_cast<long>(b) * T + t;
    const float* __restrict g = v.gates + row * 4 * H;
    const float* __restrict c = v.cells + row * H;
    const float* __restrict cp = v.cPrev + static_cast<long>(b) * v.ldc;
    const float* __restrict dOut = v.dOutput ? v.dOutput + row * H : zerosH;
    float* __restrict dh = v.dh + static_cast<long>(b) * H;
    float* __restrict dc = v.dc + static_cast<long>(b) * H;
    float* __restrict dG = v.dG + row * 4 * H;
    float* __restrict a = v.act + static_cast<long>(b) * H;
    float* __restrict dhc = v.dhc + static_cast<long>(b) * H;
    if (v.mask && !v.mask[row]) {
      // A skipped step passed h and c through: so do their gradients.
      for (int j = 0; j < H; j++) dh[j] += dOut[j];
      std::fill(dG, dG + 4 * H, 0.0f);
      continue;
    }
    // act(c_t), recomputed rather than stored.
    for (int j = 0; j < H; j++) a[j] = c[j];
    applyCandidateActivation(o.activation, a, H);
    // h = o * act(c): dL/do, and dL/dh * o on its way to dL/dc.
    // h_{t-1} reaches h_t only through the gates: its direct part is 0.
    for (int j = 0; j < H; j++) {
      float dhj = dh[j] + dOut[j];
      dG[3 * H + j] = dhj * a[j];
      dhc[j] = dhj * g[3 * H + j];
      dh[j] = 0.0f;
    }
    multiplyCandidateGrad(o.activation, a, dhc, H);
    // c = f * c_prev + i * g: dL/di, dL/df, dL/dg, and dL/dc_prev.
    for (int j = 0; j < H; j++) {
      float dcj = dc[j] + dhc[j];
      dG[j] = dcj * g[2 * H + j];
      dG[H + j] = dcj * cp[j];
      dG[2 * H + j] = dcj * g[j];
      dc[j] = dcj * g[H + j];
    }
    multiplyGateGrad(o.recurrentActivation, g, dG, 2 * H);
    multiplyCandidateGrad(o.activation, g + 2 * H, dG + 2 * H, H);
    multiplyGateGrad(o.recurrentActivation, g + 3 * H, dG + 3 * H, H);
  }
}

}  // namespace

void lstmBackward(const LstmShape& s, const LstmOptions& o, const LstmWeights& w, const float* x,
                  const float* h0, const float* c0, const uint8_t* mask, const float* rscale,
                  const float* output, const LstmCache& cache,
                  const float* dOutput, const float* dhLast, const float* dcLast, const LstmGrads& g) {
  const int B = s.batch, T = s.steps, I = s.inputSize, H = s.units;
  const long BT = static_cast<long>(B) * T;
  const long BH = static_cast<long>(B) * H;
  std::vector<float> dh(BH, 0.0f), dc(BH, 0.0f), zerosH(H, 0.0f);
  if (dhLast) std::copy(dhLast, dhLast + BH, dh.begin());
  if (dcLast) std::copy(dcLast, dcLast + BH, dc.begin());
  if (BT == 0) {
    // No step ran: the states pass through and no weight saw any input.
    std::copy(dh.begin(), dh.end(), g.dh0);
    std::copy(dc.begin(), dc.end(), g.dc0);
    std::fill(g.dKernel, g.dKernel + static_cast<long>(I) * 4 * H, 0.0f);
    std::fill(g.dRecurrentKernel, g.dRecurrentKernel + static_cast<long>(H) * 4 * H, 0.0f);
    if (g.dBias) std::fill(g.dBias, g.dBias + 4 * H, 0.0f);
    return;
  }
  FloatBuffer dG(BT * 4 * H);
  FloatBuffer act(BH), dhc(BH);
  // With recurrent dropout the matmul's gradient lands in dRec and reaches
  // dh through the scale.
  FloatBuffer dRec(rscale ? BH : 0);
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  const bool split = worthSplitting(BH);

  const PackedMatrix uT(Trans::Yes, 4 * H, H, w.recurrentKernel, 4 * H);  // packed once for all T steps
  StepViews v{cache.gates, cache.cells, nullptr, 0, mask, dOutput, dh.data(), dc.data(), dG.data(), act.data(), dhc.data()};
  for (int t = T - 1; t >= 0; t--) {
    v.cPrev = t == 0 ? c0 : cache.cells + static_cast<long>(t - 1) * H;
    v.ldc = t == 0 ? H : T * H;
    auto rows = [&](int b0, int b1) { lstmBackwardGates(s, o, v, zerosH.data(), t, b0, b1); };
    if (split) pool->parallelFor(B, rows); else rows(0, B);
    // dh_{t-1} += dG_t (B, 4H) @ rkernel^T
    packedGemm(B, dG.data() + static_cast<long>(t) * 4 * H, T * 4 * H, uT, rscale ? 0.0f : 1.0f,
               rscale ? dRec.data() : dh.data(), H);
    if (rscale) addScaled(dh.data(), dRec.data(), rscale, BH);
  }
  std::copy(dh.begin(), dh.end(), g.dh0);
  std::copy(dc.begin(), dc.end(), g.dc0);

  FloatBuffer hPrev(BT * H);
  previousStates(B, T, H, h0, output, hPrev.data());
  if (rscale) scaleStates(hPrev.data(), rscale, B, T, H);
  parallelSgemm(Trans::Yes, Trans::No, I, 4 * H, static_cast<int>(BT), 1.0f, x, I, dG.data(), 4 * H, 0.0f, g.dKernel, 4 * H);
  parallelSgemm(Trans::Yes, Trans::No, H, 4 * H, static_cast<int>(BT), 1.0f, hPrev.data(), H, dG.data(), 4 * H, 0.0f,
        g.dRecurrentKernel, 4 * H);
  parallelSgemm(Trans::No, Trans::Yes, static_cast<int>(BT), I, 4 * H, 1.0f, dG.data(), 4 * H, w.kernel, 4 * H, 0.0f, g.dx, I);
  if (g.dBias) columnSums(dG.data(), BT, 4 * H, g.dBias);
}

}  // namespace gatedrnn
