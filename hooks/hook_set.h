// A HookVisitor made of functions registered per hook point: readers (caches, capture) and writers (ablation,
// patching, steering) compose by registration order. Points without functions are never offered, so they cost
// nothing.
#pragma once
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "core/hook_visitor.h"

namespace resid {

using HookFn = std::function<void(ActivationView&)>;

class HookSet : public HookVisitor {
 public:
  void add(const HookPointId& point, HookFn fn);
  void add(const std::vector<HookPointId>& points, const HookFn& fn);
  bool empty() const { return fns_.empty(); }

  bool wants(HookPointId point) const override;
  void visit(ActivationView& act) override;
  // Blocks up to the deepest registered point; all of them if anything after the blocks is hooked.
  int blocks_needed(int n_layers) const override;

 private:
  static std::pair<int, int> key(const HookPointId& p) { return {p.layer, static_cast<int>(p.site)}; }
  std::map<std::pair<int, int>, std::vector<HookFn>> fns_;
};

}  // namespace resid
