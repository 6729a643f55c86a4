#include "core/rotary.h"

#include <cmath>

namespace resid {

Rotary::Rotary(int d_head, int n_ctx, float base, RotaryStyle style)
    : d_head_(d_head), n_ctx_(n_ctx), style_(style) {
  const int half = d_head / 2;
  cos_.resize(static_cast<size_t>(n_ctx) * half);
  sin_.resize(cos_.size());
  for (int p = 0; p < n_ctx; ++p) {
    for (int i = 0; i < half; ++i) {
      // float arithmetic as in llama2.c's run.c, so parity holds to float rounding.
      const float freq = 1.0f / std::pow(base, static_cast<float>(2 * i) / static_cast<float>(d_head));
      const float angle = static_cast<float>(p) * freq;
      cos_[static_cast<size_t>(p) * half + i] = std::cos(angle);
      sin_[static_cast<size_t>(p) * half + i] = std::sin(angle);
    }
  }
}

void Rotary::apply(RowMatrix& x, int batch, int n_pos, int n_heads, int start_pos) const {
  const int half = d_head_ / 2;
  // Pair (a, b) of coordinate i: adjacent or split into halves.
  const int stride_a = style_ == RotaryStyle::Interleaved ? 2 : 1;
  const int offset_b = style_ == RotaryStyle::Interleaved ? 1 : half;
#pragma omp parallel for schedule(static) if (int64_t(batch) * n_pos * n_heads * d_head_ > (1 << 16))
  for (int row = 0; row < batch * n_pos; ++row) {
    const int pos = start_pos + row % n_pos;
    const float* c = cos_.data() + static_cast<size_t>(pos) * half;
    const float* s = sin_.data() + static_cast<size_t>(pos) * half;
    float* r = x.data() + static_cast<Eigen::Index>(row) * x.cols();
    for (int h = 0; h < n_heads; ++h) {
      float* head = r + static_cast<size_t>(h) * d_head_;
      for (int i = 0; i < half; ++i) {
        float& a = head[i * stride_a];
        float& b = head[i * stride_a + offset_b];
        const float a0 = a, b0 = b;
        a = a0 * c[i] - b0 * s[i];
        b = a0 * s[i] + b0 * c[i];
      }
    }
  }
}

}  // namespace resid
