// The forward's handle on an optional HookVisitor: asks before doing any work for a hook point and wraps the
// buffer in an ActivationView with the TransformerLens shape. Internal to core.
#pragma once
#include <vector>

#include "core/config.h"
#include "core/hook_visitor.h"

namespace resid {

class HookCaller {
 public:
  HookCaller(HookVisitor* visitor, const Config& config, int batch, int n_pos, int start_pos,
             const std::vector<int>* lengths)
      : visitor_(visitor),
        config_(config),
        batch_(batch),
        n_pos_(n_pos),
        start_pos_(start_pos),
        lengths_(lengths) {}

  bool active() const { return visitor_ != nullptr; }
  bool wants(HookSite site, int layer) const { return visitor_ && visitor_->wants({site, layer}); }

  // Offers `data` (laid out as hook_shape(site)) to the visitor if it wants this point.
  void at(HookSite site, int layer, float* data) {
    if (!wants(site, layer)) return;
    at_shape(site, layer, data, hook_shape(config_, site, batch_, n_pos_));
  }
  void at_shape(HookSite site, int layer, float* data, std::vector<int64_t> shape) {
    if (!wants(site, layer)) return;
    ActivationView view{{site, layer}, data, std::move(shape), lengths_, start_pos_};
    visitor_->visit(view);
  }

 private:
  HookVisitor* visitor_;
  const Config& config_;
  int batch_, n_pos_, start_pos_;
  const std::vector<int>* lengths_;
};

}  // namespace resid
