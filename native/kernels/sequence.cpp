#include "sequence.h"

#include <algorithm>
#include <vector>

namespace gatedrnn {

void columnSums(const float* m, long rows, int cols, float* out) {
  std::vector<double> acc(cols, 0.0);
  for (long i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) acc[j] += m[i * cols + j];
  for (int j = 0; j < cols; j++) out[j] = static_cast<float>(acc[j]);
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

}  // namespace gatedrnn
