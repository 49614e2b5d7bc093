#include "sequence.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "dispatch.h"
#include "threadpool.h"

namespace gatedrnn {

namespace {

// Columns [j0, j1) of columnSums; acc has j1 - j0 entries.
GATEDRNN_VECTOR_CLONES
void columnSumsBlock(const float* m, long rows, int cols, int j0, int j1, double* __restrict acc) {
  const int n = j1 - j0;
  for (int j = 0; j < n; j++) acc[j] = 0.0;
  for (long i = 0; i < rows; i++) {
    const float* __restrict row = m + i * cols + j0;
    for (int j = 0; j < n; j++) acc[j] += row[j];
  }
}

}  // namespace

void columnSums(const float* m, long rows, int cols, float* out) {
  // Blocks of whole cache lines of columns, one per thread: the training
  // step's bias gradients read all of dG (B*T rows) once.
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  const int blocks = (cols + 15) / 16;
  auto sums = [&](int b0, int b1) {
    const int j0 = b0 * 16, j1 = std::min(cols, b1 * 16);
    std::vector<double> acc(j1 - j0);
    columnSumsBlock(m, rows, cols, j0, j1, acc.data());
    for (int j = j0; j < j1; j++) out[j] = static_cast<float>(acc[j - j0]);
  };
  if (worthSplitting(rows * cols / 16)) pool->parallelFor(blocks, sums); else sums(0, blocks);
}

void previousStates(int batch, int steps, int units, const float* h0, const float* output, float* hPrev) {
  const long T = steps, H = units;
  for (long b = 0; b < batch; b++) {
    std::copy(h0 + b * H, h0 + (b + 1) * H, hPrev + b * T * H);
    // Steps 1..T-1 start from the outputs of steps 0..T-2: one block copy.
    if (T > 1) std::copy(output + b * T * H, output + (b * T + T - 1) * H, hPrev + (b * T + 1) * H);
  }
}

const float* scaleState(const float* h, int ldh, const float* scale, int batch, int units, float* out) {
  if (!scale) return h;
  for (long b = 0; b < batch; b++)
    for (long j = 0; j < units; j++) out[b * units + j] = h[b * ldh + j] * scale[b * units + j];
  return out;
}

void addScaled(float* dh, const float* grad, const float* scale, long n) {
  for (long i = 0; i < n; i++) dh[i] += grad[i] * scale[i];
}

void scaleStates(float* hPrev, const float* scale, int batch, int steps, int units) {
  for (long b = 0; b < batch; b++)
    for (long t = 0; t < steps; t++)
      for (long j = 0; j < units; j++) hPrev[(b * steps + t) * units + j] *= scale[b * units + j];
}

int projectionChunk(int batch, int steps, int width) {
  const long perStep = static_cast<long>(batch) * width * sizeof(float);
  long chunk = (2L << 20) / perStep;
  chunk = std::max(chunk, (256L + batch - 1) / batch);
  return static_cast<int>(std::max(1L, std::min<long>(chunk, steps)));
}

void projectChunk(const float* x, int batch, int steps, int inputSize, int t0, int tc,
                  const PackedMatrix& kernel, float* xBuf, float* xp) {
  const long T = steps, I = inputSize;
  // x's rows of one sequence are contiguous: a whole-sequence chunk needs no
  // gathering.
  const float* rows = x;
  if (tc < steps) {
    for (long b = 0; b < batch; b++)
      std::copy(x + (b * T + t0) * I, x + (b * T + t0 + tc) * I, xBuf + b * tc * I);
    rows = xBuf;
  }
  packedGemm(batch * tc, rows, inputSize, kernel, 0.0f, xp, kernel.cols());
}

}  // namespace gatedrnn
