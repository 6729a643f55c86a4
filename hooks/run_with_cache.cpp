#include "hooks/run_with_cache.h"

#include "core/error.h"
#include "hooks/hook_set.h"

namespace resid {

CachedRun run_with_cache(const Transformer& model, const TokenBatch& batch,
                         std::span<const HookPointId> points, ForwardOptions options) {
  if (options.hooks)
    throw InputError("run_with_cache records through its own hooks; options.hooks must be unset");
  CachedRun run;
  run.points.assign(points.begin(), points.end());
  HookSet hooks;
  run.cache.attach(hooks, run.points);
  options.hooks = &hooks;
  run.logits = model.forward(batch, options);
  return run;
}

CachedRun run_with_cache(const Transformer& model, const TokenBatch& batch,
                         const std::vector<std::string>& patterns, ForwardOptions options) {
  return run_with_cache(model, batch, HookSelector::select(model.config(), patterns), options);
}

CachedRun run_with_cache(const Transformer& model, const TokenBatch& batch,
                         const HookSelector::Predicate& predicate, ForwardOptions options) {
  return run_with_cache(model, batch, HookSelector::select(model.config(), predicate), options);
}

}  // namespace resid
