#include "core/thread_plan.h"

#include <algorithm>

namespace resid {

ForwardWork forward_work(const Config& c, int64_t rows, int start_pos, int n_pos, int64_t logit_rows,
                         int n_blocks) {
  const double blocks = n_blocks < 0 ? c.n_layers : n_blocks;
  const double d_model = c.d_model, d_head = c.d_head;
  const double layer_weights = d_model * d_head * (2.0 * c.n_heads + 2.0 * c.n_kv_heads) +
                               d_model * double(c.d_mlp) * (c.gated_mlp ? 3 : 2);
  // Each new position attends to the cached ones and, causally, to about half of this call's.
  const double keys_per_row = start_pos + 0.5 * (n_pos + 1);
  const double attention_per_row = 4.0 * c.n_heads * d_head * keys_per_row;  // scores and the weighted sum
  const double unembed = d_model * double(c.d_vocab);
  ForwardWork w;
  w.flops = blocks * (2.0 * layer_weights + attention_per_row) * double(rows) + 2.0 * unembed * logit_rows;
  w.weight_bytes = sizeof(float) * (blocks * layer_weights + (logit_rows > 0 ? unembed : 0.0));
  return w;
}

int threads_for(const ForwardWork& work, int max_threads) {
  const double worth = work.one_core_seconds() / kMinSecondsPerThread;
  return static_cast<int>(std::clamp(worth, 1.0, double(std::max(1, max_threads))));
}

}  // namespace resid
