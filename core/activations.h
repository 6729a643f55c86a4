// The activation zoo. Scalar forms for hand-traced checks; in-place array forms for the forward pass.
//
// Limits are exact on every SIMD width (docs/numerics.md): Eigen's vectorised exp clamps its argument to
// about [-88.4, 88.4], so exp(-1e9) would be 2.9e-39 instead of 0 on some CPUs and exactly 0 on others. Every
// exp here goes through exp_with_exact_limits instead: 0 below log(FLT_MIN), +inf above log(FLT_MAX). So
//   softmax({1e9, -1e9}) == {1, 0}, silu(-inf) == 0, gelu(-inf) == 0, sigmoid(+-inf) == 1 / 0, tanh(+-inf) ==
//   +-1.
// NaN propagates: an activation of NaN is NaN, and a softmax / log-softmax row holding a NaN is all NaN, so a
// NaN in the residual stream is never hidden behind a plausible number.
#pragma once
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "core/config.h"

namespace resid {

// log(FLT_MIN) and log(FLT_MAX): outside them exp is subnormal (flushed to 0 here) or overflows to +inf.
inline constexpr float kExpUnderflow = -87.3365447f;
inline constexpr float kExpOverflow = 88.7228391f;

inline float exp_with_exact_limits(float x) {
  if (x < kExpUnderflow) return 0.0f;
  if (x > kExpOverflow) return INFINITY;
  return std::exp(x);  // NaN stays NaN
}

inline float relu(float x) {
  return x < 0.0f ? 0.0f : x;
}  // NaN < 0 is false: NaN stays NaN
inline float sigmoid(float x) {
  // Two branches so exp never overflows.
  if (x >= 0.0f) return 1.0f / (1.0f + exp_with_exact_limits(-x));
  const float e = exp_with_exact_limits(x);
  return e / (1.0f + e);  // NaN reaches here too and stays NaN
}
inline float silu(float x) {
  return x == -INFINITY ? 0.0f : x * sigmoid(x);
}
inline float gelu_erf(float x) {
  if (x == -INFINITY) return 0.0f;  // -inf * (1 + erf(-inf)) would be -inf * 0 = NaN
  return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
}
inline float gelu_tanh(float x) {
  if (x == -INFINITY) return 0.0f;
  const float k = 0.79788456080286536f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}
float activate(ActFn fn, float x);

// In place over n contiguous values; vectorised (Eigen arrays) and split over OpenMP threads for large n.
void apply_activation(ActFn fn, float* x, int64_t n);
void apply_sigmoid(float* x, int64_t n);
void apply_tanh(float* x, int64_t n);

// Row-wise over `rows` rows of `cols` contiguous values. A row of only -inf (fully masked) gives all zeros
// from softmax and all -inf from log-softmax; +inf entries share the whole mass equally.
void softmax_rows(float* x, int64_t rows, int64_t cols);
void log_softmax_rows(float* x, int64_t rows, int64_t cols);

std::vector<float> softmax(std::span<const float> x);
std::vector<float> log_softmax(std::span<const float> x);

}  // namespace resid
