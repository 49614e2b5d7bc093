// Scalar activation functions written so that a loop over them
// auto-vectorises: no branches, no libm calls (libm's expf/tanhf stop GCC
// from vectorising), only min/max, multiply-add and an integer shift.
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

inline float clampf(float x, float lo, float hi) {
  return x < lo ? lo : (x > hi ? hi : x);
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

inline float gateActivation(GateActivation kind, float x) {
  switch (kind) {
    case GateActivation::HardSigmoid: return clampf(0.2f * x + 0.5f, 0.0f, 1.0f);
    case GateActivation::HardSigmoidKeras3: return clampf(x * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f);
    default: return sigmoidf(x);
  }
}

// Derivative expressed through the output y = f(x): the forward pass keeps
// only gate values, never pre-activations. For the hard sigmoids y lies
// strictly inside (0, 1) exactly on the linear piece; at the kinks the
// derivative is taken as 0 (as Keras/TF do).
inline float gateActivationGrad(GateActivation kind, float y) {
  switch (kind) {
    case GateActivation::HardSigmoid: return (y > 0.0f && y < 1.0f) ? 0.2f : 0.0f;
    case GateActivation::HardSigmoidKeras3: return (y > 0.0f && y < 1.0f) ? (1.0f / 6.0f) : 0.0f;
    default: return y * (1.0f - y);
  }
}

inline float candidateActivation(Activation kind, float x) {
  switch (kind) {
    case Activation::Relu: return x > 0.0f ? x : 0.0f;
    case Activation::Linear: return x;
    case Activation::Sigmoid: return sigmoidf(x);
    default: return tanhApprox(x);
  }
}

// Derivative through the output y; relu'(0) = 0.
inline float candidateActivationGrad(Activation kind, float y) {
  switch (kind) {
    case Activation::Relu: return y > 0.0f ? 1.0f : 0.0f;
    case Activation::Linear: return 1.0f;
    case Activation::Sigmoid: return y * (1.0f - y);
    default: return 1.0f - y * y;
  }
}

}  // namespace gatedrnn
