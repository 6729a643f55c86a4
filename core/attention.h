// Causal scaled-dot-product attention with grouped KV heads, over a right-padded batch.
// Query head h reads KV head h / (n_heads / n_kv_heads). Query rows past a sequence's length are padding:
// they attend nowhere and produce zeros.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace resid {

struct AttentionShape {
  int batch, n_pos;  // query rows: [batch * n_pos]
  int n_keys;        // key positions visible to the last query: start_pos + n_pos
  int start_pos;     // absolute position of query row 0 (KV-cache offset)
  int n_heads, n_kv_heads, d_head;
};

// Where keys/values of sequence b live: `n_keys` rows of `kv_dim` floats, row stride `row_stride`.
struct KvSource {
  const float* keys;
  const float* values;
  int64_t batch_stride;  // floats between sequences
  int64_t row_stride;    // floats between positions
};

// Called between phases so hooks can read or modify scores (after masking, before softmax) and the pattern.
// `buffer` is [batch, n_heads, n_pos, n_keys]. When no hook wants them, pass nullptr and no such buffer
// exists.
struct AttentionHooks {
  virtual ~AttentionHooks() = default;
  virtual bool wants_scores() const = 0;
  virtual bool wants_pattern() const = 0;
  virtual void on_scores(float* buffer) = 0;
  virtual void on_pattern(float* buffer) = 0;
};

// q: [batch * n_pos, n_heads * d_head] (rotated); z (out): same shape.
void attention(const AttentionShape& shape, const RowMatrix& q, const KvSource& kv,
               const std::vector<int>& lengths, RowMatrix& z, AttentionHooks* hooks);

}  // namespace resid
