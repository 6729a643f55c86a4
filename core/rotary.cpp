#include "core/rotary.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

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

void permute_qk_rows(const float* src, float* dst, int64_t n_heads, int64_t d_head, int64_t width,
                     RotaryStyle to) {
  const int64_t half = d_head / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t i = 0; i < half; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t half_unit = h * d_head + j * half + i;
        const int64_t inter_unit = h * d_head + 2 * i + j;
        const int64_t from = to == RotaryStyle::Half ? inter_unit : half_unit;
        const int64_t into = to == RotaryStyle::Half ? half_unit : inter_unit;
        if (width == 1)  // activations: one float, called per row in the forward
          dst[into] = src[from];
        else
          std::copy_n(src + from * width, width, dst + into * width);
      }
    }
  }
}

Tensor permute_qk_rows(const Tensor& w, int n_heads, RotaryStyle to) {
  if (w.shape.size() != 2 || n_heads <= 0 || w.shape[0] % n_heads != 0 || (w.shape[0] / n_heads) % 2 != 0)
    throw InputError("cannot permute q/k rows of a tensor of shape " + shape_string(w.shape) + " for " +
                     std::to_string(n_heads) + " heads of even width");
  std::vector<float> out(static_cast<size_t>(w.numel()));
  permute_qk_rows(w.data, out.data(), n_heads, w.shape[0] / n_heads, w.shape[1], to);
  return Tensor::owned(w.shape, std::move(out));
}

}  // namespace resid
