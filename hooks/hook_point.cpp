#include "hooks/hook_point.h"

namespace resid {

std::vector<HookPoint> hook_points(const Config& config, int64_t batch, int64_t pos) {
  std::vector<HookPoint> out;
  for (const HookPointId& id : all_hook_points(config))
    out.push_back({id, hook_name(id.site, id.layer), hook_shape(config, id.site, batch, pos)});
  return out;
}

int position_axis(HookSite site) {
  return (site == HookSite::AttnScores || site == HookSite::AttnPattern) ? 2 : 1;
}

int head_axis(HookSite site) {
  switch (site) {
    case HookSite::AttnQ: case HookSite::AttnK: case HookSite::AttnV: case HookSite::AttnRotQ:
    case HookSite::AttnRotK: case HookSite::AttnZ:
      return 2;
    case HookSite::AttnScores: case HookSite::AttnPattern:
      return 1;
    default:
      return -1;
  }
}

std::string describe_hook_shape(const Config& c, HookSite site) {
  auto dim = [](const char* name, int v) { return std::string(name) + "=" + std::to_string(v); };
  switch (site) {
    case HookSite::Ln1Scale: case HookSite::Ln2Scale: case HookSite::LnFinalScale:
      return "[batch, pos, 1]";
    case HookSite::AttnQ: case HookSite::AttnRotQ: case HookSite::AttnZ:
      return "[batch, pos, " + dim("n_heads", c.n_heads) + ", " + dim("d_head", c.d_head) + "]";
    case HookSite::AttnK: case HookSite::AttnV: case HookSite::AttnRotK:
      return "[batch, pos, " + dim("n_kv_heads", c.n_kv_heads) + ", " + dim("d_head", c.d_head) + "]";
    case HookSite::AttnScores: case HookSite::AttnPattern:
      return "[batch, " + dim("n_heads", c.n_heads) + ", q_pos, k_pos]";
    case HookSite::MlpPre: case HookSite::MlpPreLinear: case HookSite::MlpPost:
      return "[batch, pos, " + dim("d_mlp", c.d_mlp) + "]";
    case HookSite::UnembedOut:
      return "[batch, pos, " + dim("d_vocab", c.d_vocab) + "]";
    default:
      return "[batch, pos, " + dim("d_model", c.d_model) + "]";
  }
}

}  // namespace resid
