// An in-memory record of hook activations (TransformerLens' run_with_cache), for small runs and for patching:
// run the clean prompt with a cache, then patch its values into the corrupted run. Large captures go to HDF5
// through capture/ instead.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/hook_site.h"
#include "hooks/hook_set.h"

namespace resid {

struct StoredActivation {
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::vector<int> lengths;  // of the run it came from
};

class ActivationCache {
 public:
  // Records every point in `points` during the next forward(s) run with `hooks` (later runs overwrite).
  void attach(HookSet& hooks, const std::vector<HookPointId>& points);
  bool has(const HookPointId& point) const { return stored_.count(key(point)) > 0; }
  // Throws InputError naming the hook when it was not recorded.
  const StoredActivation& at(const HookPointId& point) const;
  // By TransformerLens name ("blocks.0.hook_resid_post"); InputError when no such hook was recorded.
  const StoredActivation& at(const std::string& name) const;
  size_t size() const { return stored_.size(); }

 private:
  static std::pair<int, int> key(const HookPointId& p) { return {p.layer, static_cast<int>(p.site)}; }
  std::map<std::pair<int, int>, StoredActivation> stored_;
};

}  // namespace resid
