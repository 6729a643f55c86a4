// Autoregressive generation with a KV cache: the prompt is one batched forward, then one token per step.
#pragma once
#include <functional>
#include <vector>

#include "core/sampler.h"
#include "core/transformer.h"

namespace resid {

struct GenerateOptions {
  int steps = 256;  // positions run through the model, prompt included (llama2.c's meaning), capped at n_ctx
  int stop_token_a = 1;  // llama2.c stops when the model emits BOS ...
  int stop_token_b = 2;  // ... or EOS
};

// Calls on_token(prev, next) for each generated token; returns all ids (prompt + generated).
std::vector<int32_t> generate(const Transformer& model, const std::vector<int32_t>& prompt, Sampler& sampler,
                              const GenerateOptions& options,
                              const std::function<void(int32_t prev, int32_t next)>& on_token = {});

}  // namespace resid
