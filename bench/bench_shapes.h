// The model shapes the benchmarks time, seeded and random-weighted: llama2.c's stories260K, stories15M and
// stories110M (their config.json values; the 15M and 110M with Llama's 32,000-token vocabulary).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/config.h"

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

}  // namespace resid::bench
