#include "hooks/hook_set.h"

#include <algorithm>

namespace resid {

void HookSet::add(const HookPointId& point, HookFn fn) {
  fns_[key(point)].push_back(std::move(fn));
}

void HookSet::add(const std::vector<HookPointId>& points, const HookFn& fn) {
  for (const HookPointId& p : points) add(p, fn);
}

bool HookSet::wants(HookPointId point) const {
  return fns_.count(key(point)) > 0;
}

void HookSet::visit(ActivationView& act) {
  const auto it = fns_.find(key(act.point));
  if (it == fns_.end()) return;
  for (const HookFn& fn : it->second) fn(act);
}

int HookSet::blocks_needed(int n_layers) const {
  int needed = 0;
  for (const auto& [k, fns] : fns_) {
    const auto [layer, site] = k;
    const bool after_blocks = layer < 0 && static_cast<HookSite>(site) != HookSite::Embed;
    needed = std::max(needed, after_blocks ? n_layers : layer + 1);
  }
  return std::min(needed, n_layers);
}

}  // namespace resid
