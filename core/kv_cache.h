// Keys and values of the positions already processed, for incremental decoding.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace resid {

class KvCache {
 public:
  KvCache(int n_layers, int batch, int n_ctx, int kv_dim)
      : batch_(batch), n_ctx_(n_ctx), kv_dim_(kv_dim), keys_(n_layers), values_(n_layers) {
    for (int l = 0; l < n_layers; ++l) {
      keys_[l].resize(static_cast<size_t>(batch) * n_ctx * kv_dim);
      values_[l].resize(static_cast<size_t>(batch) * n_ctx * kv_dim);
    }
  }
  int length() const { return length_; }
  int capacity() const { return n_ctx_; }
  int batch() const { return batch_; }
  // [n_ctx, kv_dim] slab of sequence b in layer l (rotated keys; values as projected).
  float* keys(int layer, int b) { return keys_[layer].data() + static_cast<size_t>(b) * n_ctx_ * kv_dim_; }
  float* values(int layer, int b) {
    return values_[layer].data() + static_cast<size_t>(b) * n_ctx_ * kv_dim_;
  }
  void advance(int n) { length_ += n; }
  void clear() { length_ = 0; }

 private:
  int batch_, n_ctx_, kv_dim_;
  int length_ = 0;
  std::vector<std::vector<float>> keys_, values_;
};

}  // namespace resid
