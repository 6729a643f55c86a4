// One forward with the selected hook points recorded: TransformerLens' run_with_cache, the setup (cache, hook
// set, attach, options, forward) that callers would otherwise write out each time.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "core/transformer.h"
#include "hooks/activation_cache.h"
#include "hooks/hook_selector.h"

namespace resid {

struct CachedRun {
  RowMatrix logits;                 // as options.logits asks
  std::vector<HookPointId> points;  // the selected hook points, in forward order
  ActivationCache cache;            // their activations, by name ("blocks.0.hook_resid_post") or point
};

// The points as a span, so that a braced list of names picks the patterns overload. `options.hooks` must be
// unset: the run records through its own HookSet (InputError otherwise).
CachedRun run_with_cache(const Transformer& model, const TokenBatch& batch,
                         std::span<const HookPointId> points, ForwardOptions options = {});
// Patterns as HookSelector::select takes them ("blocks.*.hook_resid_post", "hook_embed", ...).
CachedRun run_with_cache(const Transformer& model, const TokenBatch& batch,
                         const std::vector<std::string>& patterns, ForwardOptions options = {});
CachedRun run_with_cache(const Transformer& model, const TokenBatch& batch,
                         const HookSelector::Predicate& predicate, ForwardOptions options = {});

}  // namespace resid
