// A Llama-family decoder: embed, n_layers blocks of
//   x = x + attn(ln1(x));  x = x + ffn(ln2(x))
// then ln_final and the unembedding. The forward runs over [batch, pos] at once with matrix products over all
// tokens (Eigen GEMMs, OpenMP threads); sequences of unequal length are right-padded and described by
// `lengths`.
#pragma once
#include <memory>
#include <vector>

#include "core/config.h"
#include "core/hook_visitor.h"
#include "core/kv_cache.h"
#include "core/rotary.h"
#include "core/weights.h"

namespace resid {

// Token ids [batch, n_pos], right-padded; lengths[b] <= n_pos real tokens in row b.
struct TokenBatch {
  int batch = 0;
  int n_pos = 0;
  std::vector<int32_t> tokens;  // [batch, n_pos]
  std::vector<int> lengths;     // [batch]

  static TokenBatch single(const std::vector<int32_t>& ids);
  // Right-pads with `pad_id` to the longest sequence.
  static TokenBatch pad(const std::vector<std::vector<int32_t>>& sequences, int32_t pad_id = 0);
};

enum class LogitsAt {
  All,   // [batch, n_pos, d_vocab]
  Last,  // [batch, d_vocab] at each sequence's last real token
  None,  // skip ln_final and the unembedding (e.g. only hooks are wanted)
};

struct ForwardOptions {
  LogitsAt logits = LogitsAt::All;
  HookVisitor* hooks = nullptr;
  // When given, keys/values of this call are appended at positions [cache->length(), +n_pos) and attention
  // reads every cached position: incremental decoding. Batch rows must all have length n_pos then.
  KvCache* cache = nullptr;
  // 0: as many as the forward's size is worth (core/thread_plan.h), at most omp_get_max_threads(); N: exactly
  // N.
  int threads = 0;
};

class Transformer {
 public:
  // Validates the config and every weight shape (throws ConfigError / FormatError naming `source`).
  Transformer(Config config, TransformerWeights weights, const std::string& source = "model");

  const Config& config() const { return config_; }
  const TransformerWeights& weights() const { return weights_; }

  // Returns logits as described by options.logits: rows = batch * n_pos (All) or batch (Last), cols =
  // d_vocab. Throws InputError for token ids outside [0, d_vocab), lengths outside [1, n_pos] or n_pos >
  // n_ctx.
  RowMatrix forward(const TokenBatch& batch, const ForwardOptions& options = {}) const;

  KvCache make_cache(int batch) const;

 private:
  Config config_;
  TransformerWeights weights_;
  std::shared_ptr<const Rotary> rotary_;  // cos/sin tables for every position up to n_ctx
};

}  // namespace resid
