#include "hooks/hook_point.h"

namespace resid {

std::vector<HookPoint> hook_points(const Config& config, int64_t batch, int64_t pos) {
  std::vector<HookPoint> out;
  for (const HookPointId& id : all_hook_points(config))
    out.push_back({id, hook_name(id.site, id.layer), hook_shape(config, id.site, batch, pos)});
  return out;
}

std::string describe_hook_shape(const Config& c, HookSite site) {
  std::string out = "[";
  for (Axis axis : hook_site_info(site).axes) {
    if (out.size() > 1) out += ", ";
    out += axis_name(axis);
    // Config-sized axes show their size; One is its own size.
    if (!axis_is_symbolic(axis) && axis != Axis::One) out += "=" + std::to_string(axis_size(c, axis, 0, 0));
  }
  return out + "]";
}

}  // namespace resid
