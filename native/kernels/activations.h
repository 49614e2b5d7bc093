// Activation functions written so that a loop over them auto-vectorises: no
// branches, no libm calls (libm's expf/tanhf stop GCC from vectorising), only
// min/max, multiply-add and an integer shift. The array forms at the bottom
// choose the function once, outside the loop, so each loop is branch-free.
//
// Accuracy: expApprox is within 2 ulp of expf on [-87, 88]; sigmoid and tanh
// built on it are within ~1.2e-7 absolute of the float64 functions, which is
// what a float32 GRU needs (the TS backend uses Math.exp/Math.tanh).
#pragma once

#include <cstdint>
#include <cstring>

namespace gatedrnn {

// Candidate activation of the GRU ("activation" in Keras).
enum class Activation { Tanh = 0, Relu = 1, Linear = 2, Sigmoid = 3 };
// Gate activation ("recurrent_activation" in Keras).
//   HardSigmoid       clip(0.2 x + 0.5, 0, 1)   Keras 2, tf.keras, tfjs
//   HardSigmoidKeras3 clip(x / 6 + 0.5, 0, 1)   Keras 3
enum class GateActivation { Sigmoid = 0, HardSigmoid = 1, HardSigmoidKeras3 = 2 };

// Two plain selects: GCC if-converts these (it does not vectorise the
// nested ?: form).
inline float clampf(float x, float lo, float hi) {
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  return x;
}

inline float expApprox(float x) {
  // exp(x) = 2^n * exp(r), n = round(x / ln2), |r| <= ln2 / 2.
  x = clampf(x, -87.0f, 88.0f);
  // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer in
  // float arithmetic (valid because |x / ln2| < 2^22); unlike nearbyint it
  // vectorises on every x86-64 baseline.
  const float shifter = 12582912.0f;
  float n = (x * 1.44269504088896341f + shifter) - shifter;
  // ln2 split in a high part exact in float and a low correction.
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.428606765330187e-06f;
  // Taylor series to degree 6: truncation error < 2e-10 relative on |r| <= 0.35.
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoidf(float x) { return 1.0f / (1.0f + expApprox(-x)); }

inline float tanhApprox(float x) {
  // tanh(x) = 1 - 2 / (exp(2x) + 1); the absolute error stays at float
  // rounding level everywhere, which is what the state update needs.
  return 1.0f - 2.0f / (expApprox(2.0f * x) + 1.0f);
}

inline float hardSigmoid(float x) { return clampf(0.2f * x + 0.5f, 0.0f, 1.0f); }
inline float hardSigmoidKeras3(float x) { return clampf(x * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f); }

// v[0..n) = gate(v[0..n)), in place.
inline void applyGateActivation(GateActivation kind, float* __restrict v, int n) {
  switch (kind) {
    case GateActivation::HardSigmoid:
      for (int i = 0; i < n; i++) v[i] = hardSigmoid(v[i]);
      break;
    case GateActivation::HardSigmoidKeras3:
      for (int i = 0; i < n; i++) v[i] = hardSigmoidKeras3(v[i]);
      break;
    default:
      for (int i = 0; i < n; i++) v[i] = sigmoidf(v[i]);
  }
}

// v[0..n) = activation(v[0..n)), in place.
inline void applyCandidateActivation(Activation kind, float* __restrict v, int n) {
  switch (kind) {
    case Activation::Relu:
      for (int i = 0; i < n; i++) v[i] = v[i] > 0.0f ? v[i] : 0.0f;
      break;
    case Activation::Linear:
      break;
    case Activation::Sigmoid:
      for (int i = 0; i < n; i++) v[i] = sigmoidf(v[i]);
      break;
    default:
      for (int i = 0; i < n; i++) v[i] = tanhApprox(v[i]);
  }
}

// d[i] *= gate'(x_i), given the gate's outputs y = gate(x). The forward pass
// keeps outputs, never pre-activations. For the hard sigmoids y lies strictly
// inside (0, 1) exactly on the linear piece; at the kinks the derivative is
// taken as 0 (as Keras/TF do).
inline void multiplyGateGrad(GateActivation kind, const float* __restrict y, float* __restrict d, int n) {
  switch (kind) {
    case GateActivation::HardSigmoid:
      for (int i = 0; i < n; i++) d[i] *= (y[i] > 0.0f && y[i] < 1.0f) ? 0.2f : 0.0f;
      break;
    case GateActivation::HardSigmoidKeras3:
      for (int i = 0; i < n; i++) d[i] *= (y[i] > 0.0f && y[i] < 1.0f) ? (1.0f / 6.0f) : 0.0f;
      break;
    default:
      for (int i = 0; i < n; i++) d[i] *= y[i] * (1.0f - y[i]);
  }
}

// d[i] *= activation'(x_i), given y = activation(x); relu'(0) = 0.
inline void multiplyCandidateGrad(Activation kind, const float* __restrict y, float* __restrict d, int n) {
  switch (kind) {
    case Activation::Relu:
      for (int i = 0; i < n; i++) d[i] *= y[i] > 0.0f ? 1.0f : 0.0f;
      break;
    case Activation::Linear:
      break;
    case Activation::Sigmoid:
      for (int i = 0; i < n; i++) d[i] *= y[i] * (1.0f - y[i]);
      break;
    default:
      for (int i = 0; i < n; i++) d[i] *= 1.0f - y[i] * y[i];
  }
}

}  // namespace gatedrnn
