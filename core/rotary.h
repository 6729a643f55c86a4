// Rotary position embeddings. Each pair of q/k coordinates (a, b) at position p is rotated by p * theta_i,
// theta_i = base^(-2i / d_head). Which coordinates pair up depends on the checkpoint's convention
// (RotaryStyle): adjacent (2i, 2i+1) for llama2.c/GGUF, halves (i, i + d_head/2) for Hugging Face.
#pragma once
#include <cstdint>
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

// The q/k layout change between the two RotaryStyles, for weight rows and activation coordinates alike: `src`
// holds n_heads blocks of d_head units, each unit `width` floats (a weight row: width = its columns; one
// activation coordinate: width = 1). Within a head, with half = d_head / 2, i in [0, half) and j in {0, 1}:
//   Half unit  j * half + i   ==   Interleaved unit  2 * i + j
// so the pair rotated together, (x[2i], x[2i+1]) interleaved, is (x[i], x[i + half]) in Half. `to` names the
// layout of `dst`, which must not overlap `src`. (transformers' convert_llama_weights_to_hf.py applies the
// permutation to Half; llama.cpp's convert_hf_to_gguf.py the one back to Interleaved.)
void permute_qk_rows(const float* src, float* dst, int64_t n_heads, int64_t d_head, int64_t width,
                     RotaryStyle to);
// A [n_heads * d_head, cols] q/k weight with its rows permuted into `to`'s layout. Throws InputError if the
// rows do not split into n_heads heads of even width.
Tensor permute_qk_rows(const Tensor& w, int n_heads, RotaryStyle to);

}  // namespace resid
