// The model shapes the benchmarks time, seeded and random-weighted: llama2.c's stories260K, stories15M and
// stories110M (their config.json values; the 15M and 110M with Llama's 32,000-token vocabulary), and the
// random token batches they run.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/init.h"
#include "core/transformer.h"

namespace resid::bench {

// "260K", "15M" or "110M"; anything else is a usage error: one line, exit code 2 (as bench_args.h does).
inline Config stories_shape(const std::string& name) {
  Config c;
  c.d_vocab = 32000, c.n_ctx = 1024;
  if (name == "260K") {
    c.d_vocab = 512, c.n_ctx = 512;
    c.d_model = 64, c.n_layers = 5, c.n_heads = 8, c.n_kv_heads = 4, c.d_mlp = 172;
  } else if (name == "15M") {
    c.d_model = 288, c.n_layers = 6, c.n_heads = 6, c.n_kv_heads = 6, c.d_mlp = 768;
  } else if (name == "110M") {
    c.d_model = 768, c.n_layers = 12, c.n_heads = 12, c.n_kv_heads = 12, c.d_mlp = 2048;
  } else {
    std::fprintf(stderr, "unknown shape '%s' (expected 260K, 15M or 110M)\n", name.c_str());
    std::exit(2);
  }
  c.d_head = c.d_model / c.n_heads;
  return c;
}

// `batch` sequences of `n_pos` token ids drawn uniformly from the vocabulary (seeded: the same tokens every
// run).
inline TokenBatch random_token_batch(const Config& c, int batch, int n_pos, uint64_t seed = 2) {
  Rng rng(seed);
  std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(batch), std::vector<int32_t>(n_pos));
  for (auto& s : seqs)
    for (auto& id : s) id = static_cast<int32_t>(rng.next_u64() % c.d_vocab);
  return TokenBatch::pad(seqs);
}

}  // namespace resid::bench
