#include "hooks/activation_cache.h"

#include "core/error.h"

namespace resid {

void ActivationCache::attach(HookSet& hooks, const std::vector<HookPointId>& points) {
  for (const HookPointId& p : points) {
    hooks.add(p, [this](ActivationView& act) {
      StoredActivation& s = stored_[key(act.point)];
      s.shape = act.shape;
      int64_t n = 1;
      for (int64_t d : act.shape) n *= d;
      s.values.assign(act.data, act.data + n);
      s.lengths = act.lengths ? *act.lengths : std::vector<int>{};
    });
  }
}

const StoredActivation& ActivationCache::at(const HookPointId& point) const {
  const auto it = stored_.find(key(point));
  if (it == stored_.end()) throw InputError("activation cache has no value for " + hook_name(point.site, point.layer));
  return it->second;
}

}  // namespace resid
