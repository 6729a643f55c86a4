// The forward pass's side of hooks: at every hook point it asks the visitor whether anyone wants the
// activation, and if so hands over a mutable view. Reading, ablating, patching and steering all live in
// hooks/; core only knows this interface, so dependencies point one way.
#pragma once
#include <cstdint>
#include <vector>

#include "core/hook_site.h"

namespace resid {

struct ActivationView {
  HookPointId point;
  float* data;                      // row-major, contiguous; writes change what the forward uses next
  std::vector<int64_t> shape;       // see hook_shape(): [batch, pos, ...] or [batch, n_heads, q_pos, k_pos]
  const std::vector<int>* lengths;  // real (unpadded) length of each sequence in the batch
  int64_t start_pos;  // position of index 0 along `pos` (non-zero when continuing from a KV cache)

  int64_t numel() const;
  // Where a named axis (of the site's row in the hook-site table) sits in `shape`; -1 when absent. The MLP
  // family's views are [batch, features]: the site's axes without pos.
  int axis_index(Axis axis) const;
  // shape[axis_index(axis)]; InputError naming the hook when the activation has no such axis.
  int64_t axis_size(Axis axis) const;
  // The axis positions are selected on (pos, or an attention map's q_pos) and the head axis (heads or
  // kv_heads); -1 when absent.
  int position_axis() const;
  int head_axis() const;
};

class HookVisitor {
 public:
  virtual ~HookVisitor() = default;
  // Cheap test asked before any work: a hook point nobody wants costs nothing (no copy, no extra buffer).
  virtual bool wants(HookPointId point) const = 0;
  // Called in forward order; may modify act.data in place.
  virtual void visit(ActivationView& act) = 0;
  // How many blocks the forward must run for this visitor. With ForwardOptions::logits == None the forward
  // stops after that many blocks: a hook nobody downstream reads costs no layers.
  virtual int blocks_needed(int n_layers) const { return n_layers; }
};

}  // namespace resid
