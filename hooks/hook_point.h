// A hook point of a concrete model: its id, TransformerLens name and activation shape.
#pragma once
#include <string>
#include <vector>

#include "core/config.h"
#include "core/hook_site.h"

namespace resid {

struct HookPoint {
  HookPointId id;
  std::string name;
  std::vector<int64_t> shape;  // for a [batch, pos] input, symbolic dims shown as -1 by describe_shape
};

// Every hook point of a Llama-family model, in forward order.
std::vector<HookPoint> hook_points(const Config& config, int64_t batch = 1, int64_t pos = 1);

// "[batch, pos, n_heads=8, d_head=8]" — the site's axes (core/hook_site.cpp's table) with their names, for
// `resid hooks`.
std::string describe_hook_shape(const Config& config, HookSite site);

}  // namespace resid
