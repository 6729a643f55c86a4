#include "reports/prompt_run.h"

#include <algorithm>

#include "core/error.h"

namespace resid {

PromptRun run_prompt(const Transformer& model, const Tokenizer& tokenizer, const std::string& prompt) {
  if (prompt.empty()) throw InputError("the prompt is empty");
  PromptRun p;
  for (int id : tokenizer.encode(prompt, /*add_bos=*/true)) p.tokens.push_back(id);
  const int n = static_cast<int>(p.tokens.size());
  const int limit = std::min(kMaxPromptTokens, model.config().n_ctx);
  if (n > limit)
    throw InputError("the prompt is " + std::to_string(n) +
                     " tokens; the logit lens and attention sections take at "
                     "most " +
                     std::to_string(limit));
  for (int i = 0; i < n; ++i) p.labels.push_back(std::to_string(i) + " " + tokenizer.piece(p.tokens[i]));
  ForwardOptions o;
  o.logits = LogitsAt::None;
  p.run = run_with_cache(model, TokenBatch::single(p.tokens),
                         std::vector<std::string>{"blocks.0.hook_resid_pre", "blocks.*.hook_resid_post",
                                                  "blocks.*.attn.hook_pattern"},
                         o);
  return p;
}

}  // namespace resid
