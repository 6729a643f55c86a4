#include "core/activations.h"

#include <Eigen/Core>
#include <algorithm>
#include <limits>
#include <vector>

namespace resid {

float activate(ActFn fn, float x) {
  switch (fn) {
    case ActFn::ReLU: return relu(x);
    case ActFn::GeLU: return gelu_erf(x);
    case ActFn::GeLUTanh: return gelu_tanh(x);
    case ActFn::SiLU: return silu(x);
  }
  return x;
}

namespace {
using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
constexpr int64_t kChunk = 1 << 14;  // elements per OpenMP work item; small arrays stay on one thread
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

template <typename Fn>
void chunked(float* x, int64_t n, Fn fn) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk;
    ArrayMap a(x + begin, std::min(kChunk, n - begin));
    fn(a);
  }
}

// Vectorised exp_with_exact_limits. Eigen's packet exp clamps its argument (to about +-88.38 on AVX2,
// differently on other widths), so the limits are set here, the same on every instruction set.
template <typename Array>
auto exp_exact(const Array& a) {
  return (a < kExpUnderflow).select(0.0f, (a > kExpOverflow).select(kInf, a.exp()));
}

// A left-to-right sum. Eigen's vectorised sum starts at the first aligned address, so its rounding would
// depend on where a buffer happens to sit in memory; this keeps every forward pass bit-for-bit reproducible.
float ordered_sum(const float* x, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

// What a softmax row needs to know before the general path: its maximum, and the cases that path cannot take.
struct RowScan {
  float max = -kInf;
  bool has_nan = false;
  int64_t n_pos_inf = 0;  // entries equal to +inf
};
RowScan scan_row(const float* row, int64_t cols) {
  RowScan s;
  for (int64_t j = 0; j < cols; ++j) {
    const float v = row[j];
    if (std::isnan(v)) s.has_nan = true;
    if (v == kInf) ++s.n_pos_inf;
    s.max = std::max(s.max, v);
  }
  return s;
}
}  // namespace

void apply_activation(ActFn fn, float* x, int64_t n) {
  switch (fn) {
    case ActFn::ReLU:
      chunked(x, n, [](ArrayMap& a) { a = (a < 0.0f).select(0.0f, a); });  // NaN < 0 is false: NaN stays
      return;
    case ActFn::SiLU:
      // x * sigmoid(x) = x / (1 + exp(-x)); exp(-x) = +inf for very negative x gives -0, the limit. Only x =
      // -inf (-inf / inf) needs its limit set by hand.
      chunked(x, n, [](ArrayMap& a) { a = (a == -kInf).select(0.0f, a / (1.0f + exp_exact(-a))); });
      return;
    case ActFn::GeLU:
      chunked(x, n, [](ArrayMap& a) { a = a.unaryExpr([](float v) { return gelu_erf(v); }); });
      return;
    case ActFn::GeLUTanh:
      chunked(x, n, [](ArrayMap& a) {
        a = (a == -kInf)
                .select(0.0f, 0.5f * a * (1.0f + (0.79788456080286536f * (a + 0.044715f * a.cube())).tanh()));
      });
      return;
  }
}

void apply_sigmoid(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = sigmoid(x[i]);
}

void apply_tanh(float* x, int64_t n) {
  chunked(x, n, [](ArrayMap& a) { a = a.tanh(); });
}

void softmax_rows(float* x, int64_t rows, int64_t cols) {
  // exp runs on an aligned copy padded to whole SIMD packets: Eigen computes unaligned head/tail elements
  // with the scalar exp, whose rounding differs from the vectorised one, so results would depend on the row's
  // address.
  constexpr int64_t kPacket = 16;
  const int64_t padded = (cols + kPacket - 1) / kPacket * kPacket;
  thread_local std::vector<float, Eigen::aligned_allocator<float>> scratch;
  if (static_cast<int64_t>(scratch.size()) < padded) scratch.resize(padded);
  Eigen::Map<Eigen::ArrayXf, Eigen::Aligned64> tmp(scratch.data(), padded);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    const RowScan s = scan_row(row, cols);
    if (s.has_nan) {
      std::fill(row, row + cols, kNaN);
      continue;
    }
    if (s.max == -kInf) {  // fully masked row: no distribution, all zeros
      std::fill(row, row + cols, 0.0f);
      continue;
    }
    if (s.max == kInf) {  // the limit: the +inf entries share the mass
      const float share = 1.0f / static_cast<float>(s.n_pos_inf);
      for (int64_t j = 0; j < cols; ++j) row[j] = row[j] == kInf ? share : 0.0f;
      continue;
    }
    std::copy(row, row + cols, scratch.begin());
    std::fill(scratch.begin() + cols, scratch.begin() + padded, -kInf);
    tmp = exp_exact(tmp - s.max);
    const float sum = ordered_sum(scratch.data(), cols);
    for (int64_t j = 0; j < cols; ++j) row[j] = scratch[j] / sum;
  }
}

void log_softmax_rows(float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    const RowScan s = scan_row(row, cols);
    if (s.has_nan) {
      std::fill(row, row + cols, kNaN);
      continue;
    }
    if (s.max == -kInf) {  // log of softmax's all-zero row
      std::fill(row, row + cols, -kInf);
      continue;
    }
    if (s.max == kInf) {
      const float log_share = -std::log(static_cast<float>(s.n_pos_inf));
      for (int64_t j = 0; j < cols; ++j) row[j] = row[j] == kInf ? log_share : -kInf;
      continue;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < cols; ++j) sum += exp_with_exact_limits(row[j] - s.max);
    const float log_sum = std::log(sum);
    for (int64_t j = 0; j < cols; ++j) row[j] = row[j] - s.max - log_sum;
  }
}

std::vector<float> softmax(std::span<const float> x) {
  std::vector<float> out(x.begin(), x.end());
  softmax_rows(out.data(), 1, static_cast<int64_t>(out.size()));
  return out;
}

std::vector<float> log_softmax(std::span<const float> x) {
  std::vector<float> out(x.begin(), x.end());
  log_softmax_rows(out.data(), 1, static_cast<int64_t>(out.size()));
  return out;
}

}  // namespace resid
