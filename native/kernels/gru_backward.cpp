// GRU backward (BPTT) over a whole sequence (shapes and formulas in gru.h).
//
// The sweep runs t = T-1 .. 0 carrying dh (B, H). At each step the gate math
// turns dh into the gradients of the gate pre-activations, stored per step:
//   dGx (B, T, 3H)  w.r.t. x W + ib   (z | r | hh blocks)
//   dGh (B, T, 3H)  w.r.t. h U + rb   (resetAfter: hh block is dGx_hh * r)
// and dh for the previous step is dh * z plus one GEMM back through U.
// The weight gradients then come from all timesteps at once:
//   dKernel = x^T dGx,  dRecurrentKernel = Hprev^T dGh,  dx = dGx kernel^T
// with Hprev (B, T, H) the state each step started from.
#include <algorithm>
#include <vector>

#include "buffer.h"
#include "dispatch.h"
#include "gemm.h"
#include "packed_gemm.h"
#include "parallel_gemm.h"
#include "gru.h"
#include "sequence.h"
#include "threadpool.h"

namespace gatedrnn {

namespace {

struct StepViews {
  const float* gates;    // (B, T, 3H) z | r | hh
  const float* hn;       // (B, T, H) resetAfter only
  const float* hPrev;    // h_{t-1}, row stride ldh
  int ldh;
  const float* hIn;      // h_{t-1} as the matmuls read it (recurrent dropout), row stride ldIn
  int ldIn;
  const float* rscale;   // (B, H) or null
  const uint8_t* mask;   // (B, T) or null
  const float* dOutput;  // (B, T, H) or null
  float* dh;             // (B, H) in: dL/dh_t from later steps; out: the direct part of dL/dh_{t-1}
  float* dGx;            // (B, T, 3H)
  float* dGh;            // (B, T, 3H) resetAfter only
};

// resetAfter = true: rows [b0, b1) of step t. One loop per step of the chain
// rule, each vectorised; dx holds the raw products until the activation
// derivatives multiply in.
GATEDRNN_VECTOR_CLONES
void backwardGatesResetAfter(const GruShape& s, const GruOptions& o, const StepViews& v,
                             const float* zerosH, int t, int b0, int b1) {
  const int H = s.units, T = s.steps;
  for (int b = b0; b < b1; b++) {
    const long row = static_cast<long>(b) * T + t;
    const float* __restrict g = v.gates + row * 3 * H;  // z | r | hh
    const float* __restrict hn = v.hn + row * H;
    const float* __restrict h = v.hPrev + static_cast<long>(b) * v.ldh;
    const float* __restrict dOut = v.dOutput ? v.dOutput + row * H : zerosH;
    float* __restrict dh = v.dh + static_cast<long>(b) * H;
    float* __restrict dGxRow = v.dGx + row * 3 * H;
    float* __restrict dGhRow = v.dGh + row * 3 * H;
    if (v.mask && !v.mask[row]) {
      // A skipped step passed h through: so does its gradient.
      for (int j = 0; j < H; j++) dh[j] += dOut[j];
      std::fill(dGxRow, dGxRow + 3 * H, 0.0f);
      std::fill(dGhRow, dGhRow + 3 * H, 0.0f);
      continue;
    }
    // h' = z * h + (1 - z) * hh: dL/dz, dL/dhh, and the direct path to h.
    for (int j = 0; j < H; j++) {
      float dhj = dh[j] + dOut[j];
      dGxRow[j] = dhj * (h[j] - g[2 * H + j]);
      dGxRow[2 * H + j] = dhj * (1.0f - g[j]);
      dh[j] = dhj * g[j];
    }
    multiplyCandidateGrad(o.activation, g + 2 * H, dGxRow + 2 * H, H);
    // hh's pre-activation has r * (h U_h + rb_h): dL/dr.
    for (int j = 0; j < H; j++) dGxRow[H + j] = dGxRow[2 * H + j] * hn[j];
    multiplyGateGrad(o.recurrentActivation, g, dGxRow, 2 * H);
    // The recurrent side sees the candidate's gradient through r.
    for (int j = 0; j < 2 * H; j++) dGhRow[j] = dGxRow[j];
    for (int j = 0; j < H; j++) dGhRow[2 * H + j] = dGxRow[2 * H + j] * g[H + j];
  }
}

// resetAfter = false, first half: z and hh blocks (r needs d(r*h) first).
GATEDRNN_VECTOR_CLONES
void backwardGatesZH(const GruShape& s, const GruOptions& o, const StepViews& v,
                     const float* zerosH, int t, int b0, int b1) {
  const int H = s.units, T = s.steps;
  for (int b = b0; b < b1; b++) {
    const long row = static_cast<long>(b) * T + t;
    const float* __restrict g = v.gates + row * 3 * H;
    const float* __restrict h = v.hPrev + static_cast<long>(b) * v.ldh;
    const float* __restrict dOut = v.dOutput ? v.dOutput + row * H : zerosH;
    float* __restrict dh = v.dh + static_cast<long>(b) * H;
    float* __restrict dG = v.dGx + row * 3 * H;
    if (v.mask && !v.mask[row]) {
      // A skipped step passed h through: so does its gradient.
      for (int j = 0; j < H; j++) dh[j] += dOut[j];
      std::fill(dG, dG + 3 * H, 0.0f);
      continue;
    }
    for (int j = 0; j < H; j++) {
      float dhj = dh[j] + dOut[j];
      dG[j] = dhj * (h[j] - g[2 * H + j]);
      dG[2 * H + j] = dhj * (1.0f - g[j]);
      dh[j] = dhj * g[j];
    }
    multiplyGateGrad(o.recurrentActivation, g, dG, H);
    multiplyCandidateGrad(o.activation, g + 2 * H, dG + 2 * H, H);
  }
}

// resetAfter = false, second half: given drh = dL/d(r * hIn) (B, H), the r
// block, the r path into dh (back through the dropout scale), and
// rh (B, T, H) for dRecurrentKernel.
GATEDRNN_VECTOR_CLONES
void backwardGatesR(const GruShape& s, const GruOptions& o, const StepViews& v, const float* drh,
                    float* rh, int t, int b0, int b1) {
  const int H = s.units, T = s.steps;
  for (int b = b0; b < b1; b++) {
    const long row = static_cast<long>(b) * T + t;
    const float* __restrict g = v.gates + row * 3 * H;
    const float* __restrict h = v.hIn + static_cast<long>(b) * v.ldIn;
    const float* __restrict d = drh + static_cast<long>(b) * H;
    float* __restrict dh = v.dh + static_cast<long>(b) * H;
    float* __restrict dG = v.dGx + row * 3 * H;
    float* __restrict rhRow = rh + row * H;
    for (int j = 0; j < H; j++) {
      dG[H + j] = d[j] * h[j];
      rhRow[j] = g[H + j] * h[j];
    }
    if (v.rscale) {
      const float* __restrict sc = v.rscale + static_cast<long>(b) * H;
      for (int j = 0; j < H; j++) dh[j] += d[j] * g[H + j] * sc[j];
    } else {
      for (int j = 0; j < H; j++) dh[j] += d[j] * g[H + j];
    }
    multiplyGateGrad(o.recurrentActivation, g + H, dG + H, H);
  }
}

}  // namespace

void gruBackward(const GruShape& s, const GruOptions& o, const GruWeights& w, const float* x,
                 const float* h0, const uint8_t* mask, const float* rscale, const float* output,
                 const GruCache& cache,
                 const float* dOutput, const float* dLast, const GruGrads& g) {
  const int B = s.batch, T = s.steps, I = s.inputSize, H = s.units;
  const long BT = static_cast<long>(B) * T;
  if (BT == 0) {
    // No step ran: the state passes through and no weight saw any input.
    if (g.dh0 && dLast) std::copy(dLast, dLast + static_cast<long>(B) * H, g.dh0);
    else if (g.dh0) std::fill(g.dh0, g.dh0 + static_cast<long>(B) * H, 0.0f);
    std::fill(g.dKernel, g.dKernel + static_cast<long>(I) * 3 * H, 0.0f);
    std::fill(g.dRecurrentKernel, g.dRecurrentKernel + static_cast<long>(H) * 3 * H, 0.0f);
    if (g.dInputBias) std::fill(g.dInputBias, g.dInputBias + 3 * H, 0.0f);
    if (g.dRecurrentBias) std::fill(g.dRecurrentBias, g.dRecurrentBias + 3 * H, 0.0f);
    return;
  }
  FloatBuffer dGx(BT * 3 * H);
  FloatBuffer dGh(o.resetAfter ? BT * 3 * H : 0);
  FloatBuffer rh(o.resetAfter ? 0 : BT * H);
  FloatBuffer drh(o.resetAfter ? 0 : static_cast<size_t>(B) * H);
  std::vector<float> zerosH(H, 0.0f);
  std::vector<float> dh(static_cast<size_t>(B) * H, 0.0f);
  if (dLast) std::copy(dLast, dLast + static_cast<size_t>(B) * H, dh.begin());
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  const bool split = worthSplitting(static_cast<long>(B) * H);

  // With recurrent dropout the matmuls' gradient w.r.t. h_{t-1} lands in
  // dRec first and reaches dh through the scale.
  FloatBuffer dRec(rscale ? static_cast<size_t>(B) * H : 0);
  FloatBuffer hScaled(rscale ? static_cast<size_t>(B) * H : 0);
  float* recInto = rscale ? dRec.data() : dh.data();
  const float recBeta = rscale ? 0.0f : 1.0f;
  // The recurrent kernel transposed and packed once for all T steps: U^T
  // whole when resetAfter, else U_h^T and U_zr^T apart.
  const PackedMatrix uAllT = o.resetAfter ? PackedMatrix(Trans::Yes, 3 * H, H, w.recurrentKernel, 3 * H) : PackedMatrix();
  const PackedMatrix uHT = o.resetAfter ? PackedMatrix() : PackedMatrix(Trans::Yes, H, H, w.recurrentKernel + 2 * H, 3 * H);
  const PackedMatrix uZRT = o.resetAfter ? PackedMatrix() : PackedMatrix(Trans::Yes, 2 * H, H, w.recurrentKernel, 3 * H);
  StepViews v{cache.gates, cache.hnCache, nullptr, 0, nullptr, 0, rscale, mask, dOutput, dh.data(), dGx.data(), dGh.data()};
  for (int t = T - 1; t >= 0; t--) {
    v.hPrev = t == 0 ? h0 : output + static_cast<long>(t - 1) * H;
    v.ldh = t == 0 ? H : T * H;
    v.hIn = scaleState(v.hPrev, v.ldh, rscale, B, H, hScaled.data());
    v.ldIn = rscale ? H : v.ldh;
    if (o.resetAfter) {
      auto rows = [&](int b0, int b1) { backwardGatesResetAfter(s, o, v, zerosH.data(), t, b0, b1); };
      if (split) pool->parallelFor(B, rows); else rows(0, B);
      // dh_{t-1} += dGh_t (B, 3H) @ rkernel^T
      packedGemm(B, dGh.data() + static_cast<long>(t) * 3 * H, T * 3 * H, uAllT, recBeta, recInto, H);
      if (rscale) addScaled(dh.data(), dRec.data(), rscale, static_cast<long>(B) * H);
    } else {
      auto zh = [&](int b0, int b1) { backwardGatesZH(s, o, v, zerosH.data(), t, b0, b1); };
      if (split) pool->parallelFor(B, zh); else zh(0, B);
      // drh (B, H) = dGhh_t @ U_h^T
      packedGemm(B, dGx.data() + static_cast<long>(t) * 3 * H + 2 * H, T * 3 * H, uHT, 0.0f, drh.data(), H);
      auto r = [&](int b0, int b1) { backwardGatesR(s, o, v, drh.data(), rh.data(), t, b0, b1); };
      if (split) pool->parallelFor(B, r); else r(0, B);
      // dh_{t-1} += dG_zr_t (B, 2H) @ U_zr^T
      packedGemm(B, dGx.data() + static_cast<long>(t) * 3 * H, T * 3 * H, uZRT, recBeta, recInto, H);
      if (rscale) addScaled(dh.data(), dRec.data(), rscale, static_cast<long>(B) * H);
    }
  }
  if (g.dh0) std::copy(dh.begin(), dh.end(), g.dh0);

  FloatBuffer hPrev(BT * H);
  previousStates(B, T, H, h0, output, hPrev.data());
  if (rscale) scaleStates(hPrev.data(), rscale, B, T, H);
  // Weight gradients summed over batch and time, one GEMM each.
  parallelSgemm(Trans::Yes, Trans::No, I, 3 * H, static_cast<int>(BT), 1.0f, x, I, dGx.data(), 3 * H, 0.0f,
        g.dKernel, 3 * H);
  if (o.resetAfter) {
    parallelSgemm(Trans::Yes, Trans::No, H, 3 * H, static_cast<int>(BT), 1.0f, hPrev.data(), H, dGh.data(),
          3 * H, 0.0f, g.dRecurrentKernel, 3 * H);
  } else {
    parallelSgemm(Trans::Yes, Trans::No, H, 2 * H, static_cast<int>(BT), 1.0f, hPrev.data(), H, dGx.data(),
          3 * H, 0.0f, g.dRecurrentKernel, 3 * H);
    parallelSgemm(Trans::Yes, Trans::No, H, H, static_cast<int>(BT), 1.0f, rh.data(), H, dGx.data() + 2 * H,
          3 * H, 0.0f, g.dRecurrentKernel + 2 * H, 3 * H);
  }
  parallelSgemm(Trans::No, Trans::Yes, static_cast<int>(BT), I, 3 * H, 1.0f, dGx.data(), 3 * H, w.kernel,
        3 * H, 0.0f, g.dx, I);
  if (g.dInputBias) columnSums(dGx.data(), BT, 3 * H, g.dInputBias);
  if (g.dRecurrentBias) {
    if (o.resetAfter) columnSums(dGh.data(), BT, 3 * H, g.dRecurrentBias);
    else std::fill(g.dRecurrentBias, g.dRecurrentBias + 3 * H, 0.0f);
  }
}

}  // namespace gatedrnn
