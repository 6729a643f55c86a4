#include "core/hook_visitor.h"

#include <algorithm>

#include "core/error.h"

namespace resid {

int64_t ActivationView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int ActivationView::axis_index(Axis axis) const {
  const std::vector<Axis>& axes = hook_site_info(point.site).axes;
  const bool without_pos = shape.size() + 1 == axes.size();  // the MLP family's [batch, features]
  int index = 0;
  for (Axis a : axes) {
    if (without_pos && a == Axis::Pos) continue;
    if (a == axis) return index;
    ++index;
  }
  return -1;
}

int64_t ActivationView::axis_size(Axis axis) const {
  const int i = axis_index(axis);
  if (i < 0) throw InputError(hook_name(point.site, point.layer) + " has no " + axis_name(axis) + " axis");
  return shape[i];
}

int ActivationView::position_axis() const {
  return std::max(axis_index(Axis::Pos), axis_index(Axis::QPos));
}

int ActivationView::head_axis() const {
  return std::max(axis_index(Axis::Heads), axis_index(Axis::KvHeads));
}

}  // namespace resid
