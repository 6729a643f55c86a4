// The activation zoo. Scalar forms for hand-traced checks; in-place array forms for the forward pass.
// softmax/log_softmax subtract the maximum first, so inputs like [1e9, -1e9] stay finite and exact.
#pragma once
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "core/config.h"

namespace resid {

inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
inline float sigmoid(float x) {
  // Two branches so exp never overflows.
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}
inline float silu(float x) { return x * sigmoid(x); }
inline float gelu_erf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }
inline float gelu_tanh(float x) {
  const float k = 0.79788456080286536f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}
float activate(ActFn fn, float x);

// In place over n contiguous values; vectorised (Eigen arrays) and split over OpenMP threads for large n.
void apply_activation(ActFn fn, float* x, int64_t n);
void apply_sigmoid(float* x, int64_t n);
void apply_tanh(float* x, int64_t n);

// Row-wise over `rows` rows of `cols` contiguous values.
void softmax_rows(float* x, int64_t rows, int64_t cols);
void log_softmax_rows(float* x, int64_t rows, int64_t cols);

std::vector<float> softmax(std::span<const float> x);
std::vector<float> log_softmax(std::span<const float> x);

}  // namespace resid
