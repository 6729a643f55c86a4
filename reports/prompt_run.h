// One forward of a prompt with the hooks the logit lens and the attention section read: the residual stream
// before the first block and after every block, and every layer's attention pattern.
#pragma once
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "core/transformer.h"
#include "hooks/run_with_cache.h"

namespace resid {

// Longest prompt the two sections take: attention is n_layers x n_heads x n² cells.
constexpr int kMaxPromptTokens = 64;

struct PromptRun {
  std::vector<int32_t> tokens;      // [n_pos], BOS first
  std::vector<std::string> labels;  // [n_pos] "3 ▁Once": position and piece, unique axis labels
  CachedRun run;  // blocks.0.hook_resid_pre, blocks.*.hook_resid_post, blocks.*.attn.hook_pattern
};

// InputError for an empty prompt or one longer than kMaxPromptTokens or the model's n_ctx.
PromptRun run_prompt(const Transformer& model, const Tokenizer& tokenizer, const std::string& prompt);

}  // namespace resid
