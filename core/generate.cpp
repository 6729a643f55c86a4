#include "core/generate.h"

#include <algorithm>

#include "core/error.h"

namespace resid {

std::vector<int32_t> generate(const Transformer& model, const std::vector<int32_t>& prompt, Sampler& sampler,
                              const GenerateOptions& options,
                              const std::function<void(int32_t, int32_t)>& on_token) {
  if (prompt.empty()) throw InputError("generate: empty prompt (it needs at least BOS)");
  const int n_ctx = model.config().n_ctx;
  const int steps = std::min(options.steps, n_ctx);
  if (static_cast<int>(prompt.size()) > steps)
    throw InputError("prompt of " + std::to_string(prompt.size()) + " tokens is longer than " +
                     (options.steps < n_ctx ? "steps = " : "the model's n_ctx = ") + std::to_string(steps));
  std::vector<int32_t> ids = prompt;
  KvCache cache = model.make_cache(1);
  ForwardOptions fwd;
  fwd.logits = LogitsAt::Last;
  fwd.cache = &cache;
  RowMatrix logits = model.forward(TokenBatch::single(prompt), fwd);  // [1, d_vocab]
  while (true) {
    const int32_t next = sampler.sample({logits.data(), static_cast<size_t>(logits.cols())});
    if (next == options.stop_token_a || next == options.stop_token_b) break;
    if (on_token) on_token(ids.back(), next);
    ids.push_back(next);
    // Like llama2.c, the token sampled at the last position is kept but never fed back.
    if (static_cast<int>(ids.size()) > steps) break;
    logits = model.forward(TokenBatch::single({next}), fwd);
  }
  return ids;
}

}  // namespace resid
