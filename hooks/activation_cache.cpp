#include "hooks/activation_cache.h"

#include <limits>

#include "core/error.h"

namespace resid {

void ActivationCache::attach(HookSet& hooks, const std::vector<HookPointId>& points) {
  for (const HookPointId& p : points) {
    hooks.add(p, [this](ActivationView& act) {
      StoredActivation& s = stored_[key(act.point)];
      s.shape = act.shape;
      s.values.assign(act.data, act.data + act.numel());
      s.lengths = act.lengths ? *act.lengths : std::vector<int>{};
    });
  }
}

const StoredActivation& ActivationCache::at(const HookPointId& point) const {
  const auto it = stored_.find(key(point));
  if (it == stored_.end())
    throw InputError("activation cache has no value for " + hook_name(point.site, point.layer));
  return it->second;
}

const StoredActivation& ActivationCache::at(const std::string& name) const {
  // Any layer number parses; a layer that was never recorded is reported below like any other missing hook.
  const std::optional<HookPointId> point = parse_hook_name(name, std::numeric_limits<int>::max());
  if (!point) throw InputError("activation cache: '" + name + "' is not a hook name");
  return at(*point);
}

}  // namespace resid
