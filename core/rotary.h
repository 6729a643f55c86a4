// Rotary position embeddings. Each pair of q/k coordinates (a, b) at position p is rotated by p * theta_i,
// theta_i = base^(-2i / d_head). Which coordinates pair up depends on the checkpoint's convention (RotaryStyle):
// adjacent (2i, 2i+1) for llama2.c/GGUF, halves (i, i + d_head/2) for Hugging Face.
#pragma once
#include <vector>

#include "core/config.h"
#include "core/tensor.h"

namespace resid {

class Rotary {
 public:
  Rotary(int d_head, int n_ctx, float base, RotaryStyle style);
  // Rotates x: [batch * n_pos, n_heads * d_head] in place; row (b, i) is at position start_pos + i.
  void apply(RowMatrix& x, int batch, int n_pos, int n_heads, int start_pos) const;

 private:
  int d_head_;
  int n_ctx_;
  RotaryStyle style_;
  std::vector<float> cos_, sin_;  // [n_ctx, d_head / 2]
};

}  // namespace resid
