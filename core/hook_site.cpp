#include "core/hook_site.h"

#include <charconv>

#include "core/error.h"

namespace resid {

namespace {
using A = Axis;
// The one table of hook names and their axes. Order = forward order.
const std::vector<HookSiteInfo> kSites = {
    {HookSite::Embed, "hook_embed", false, {A::Batch, A::Pos, A::DModel}},
    {HookSite::ResidPre, "hook_resid_pre", true, {A::Batch, A::Pos, A::DModel}},
    {HookSite::Ln1Scale, "ln1.hook_scale", true, {A::Batch, A::Pos, A::One}},
    {HookSite::Ln1Normalized, "ln1.hook_normalized", true, {A::Batch, A::Pos, A::DModel}},
    {HookSite::AttnQ, "attn.hook_q", true, {A::Batch, A::Pos, A::Heads, A::DHead}},
    {HookSite::AttnK, "attn.hook_k", true, {A::Batch, A::Pos, A::KvHeads, A::DHead}},
    {HookSite::AttnV, "attn.hook_v", true, {A::Batch, A::Pos, A::KvHeads, A::DHead}},
    {HookSite::AttnRotQ, "attn.hook_rot_q", true, {A::Batch, A::Pos, A::Heads, A::DHead}},
    {HookSite::AttnRotK, "attn.hook_rot_k", true, {A::Batch, A::Pos, A::KvHeads, A::DHead}},
    {HookSite::AttnScores, "attn.hook_attn_scores", true, {A::Batch, A::Heads, A::QPos, A::KPos}},
    {HookSite::AttnPattern, "attn.hook_pattern", true, {A::Batch, A::Heads, A::QPos, A::KPos}},
    {HookSite::AttnZ, "attn.hook_z", true, {A::Batch, A::Pos, A::Heads, A::DHead}},
    {HookSite::AttnOut, "hook_attn_out", true, {A::Batch, A::Pos, A::DModel}},
    {HookSite::ResidMid, "hook_resid_mid", true, {A::Batch, A::Pos, A::DModel}},
    {HookSite::Ln2Scale, "ln2.hook_scale", true, {A::Batch, A::Pos, A::One}},
    {HookSite::Ln2Normalized, "ln2.hook_normalized", true, {A::Batch, A::Pos, A::DModel}},
    {HookSite::MlpPre, "mlp.hook_pre", true, {A::Batch, A::Pos, A::DMlp}},
    {HookSite::MlpPreLinear, "mlp.hook_pre_linear", true, {A::Batch, A::Pos, A::DMlp}},
    {HookSite::MlpPost, "mlp.hook_post", true, {A::Batch, A::Pos, A::DMlp}},
    {HookSite::MlpOut, "hook_mlp_out", true, {A::Batch, A::Pos, A::DModel}},
    {HookSite::ResidPost, "hook_resid_post", true, {A::Batch, A::Pos, A::DModel}},
    {HookSite::LnFinalScale, "ln_final.hook_scale", false, {A::Batch, A::Pos, A::One}},
    {HookSite::LnFinalNormalized, "ln_final.hook_normalized", false, {A::Batch, A::Pos, A::DModel}},
    {HookSite::UnembedOut, "unembed.hook_out", false, {A::Batch, A::Pos, A::DVocab}},
};
}  // namespace

const char* axis_name(Axis axis) {
  switch (axis) {
    case Axis::Batch: return "batch";
    case Axis::Pos: return "pos";
    case Axis::QPos: return "q_pos";
    case Axis::KPos: return "k_pos";
    case Axis::Heads: return "n_heads";
    case Axis::KvHeads: return "n_kv_heads";
    case Axis::One: return "1";
    case Axis::DModel: return "d_model";
    case Axis::DMlp: return "d_mlp";
    case Axis::DHead: return "d_head";
    case Axis::DVocab: return "d_vocab";
  }
  return "?";
}

bool axis_is_symbolic(Axis axis) {
  return axis == Axis::Batch || axis == Axis::Pos || axis == Axis::QPos || axis == Axis::KPos;
}

int64_t axis_size(const Config& c, Axis axis, int64_t batch, int64_t pos) {
  switch (axis) {
    case Axis::Batch: return batch;
    case Axis::Pos:
    case Axis::QPos:
    case Axis::KPos: return pos;
    case Axis::Heads: return c.n_heads;
    case Axis::KvHeads: return c.n_kv_heads;
    case Axis::One: return 1;
    case Axis::DModel: return c.d_model;
    case Axis::DMlp: return c.d_mlp;
    case Axis::DHead: return c.d_head;
    case Axis::DVocab: return c.d_vocab;
  }
  return 0;
}

const std::vector<HookSiteInfo>& all_hook_sites() {
  return kSites;
}

const HookSiteInfo& hook_site_info(HookSite site) {
  return kSites.at(static_cast<size_t>(site));
}

std::string hook_name(HookSite site, int layer) {
  const HookSiteInfo& info = hook_site_info(site);
  if (!info.per_layer) return info.suffix;
  return "blocks." + std::to_string(layer) + "." + info.suffix;
}

std::optional<HookPointId> parse_hook_name(const std::string& name, int n_layers) {
  int layer = -1;
  std::string_view suffix = name;
  if (suffix.starts_with("blocks.")) {
    suffix.remove_prefix(7);
    const char* begin = suffix.data();
    auto [ptr, ec] = std::from_chars(begin, begin + suffix.size(), layer);
    if (ec != std::errc() || ptr == begin || *ptr != '.' || layer < 0 || layer >= n_layers)
      return std::nullopt;
    suffix.remove_prefix(static_cast<size_t>(ptr - begin) + 1);
  }
  for (const HookSiteInfo& info : kSites) {
    if (info.per_layer == (layer >= 0) && suffix == info.suffix) return HookPointId{info.site, layer};
  }
  return std::nullopt;
}

bool hook_site_exists(const Config& config, HookSite site) {
  return site != HookSite::MlpPreLinear || config.gated_mlp;
}

std::vector<HookPointId> all_hook_points(const Config& config) {
  std::vector<HookPointId> points;
  for (const HookSiteInfo& info : kSites) {
    if (!hook_site_exists(config, info.site)) continue;
    if (!info.per_layer) {
      // ln_final and unembed come after every block; hook_embed before.
      if (info.site == HookSite::Embed)
        points.insert(points.begin(), {info.site, -1});
      else
        points.push_back({info.site, -1});
    }
  }
  // Insert the blocks between hook_embed and ln_final, in forward order.
  std::vector<HookPointId> blocks;
  for (int layer = 0; layer < config.n_layers; ++layer)
    for (const HookSiteInfo& info : kSites)
      if (info.per_layer && hook_site_exists(config, info.site)) blocks.push_back({info.site, layer});
  points.insert(points.begin() + 1, blocks.begin(), blocks.end());
  return points;
}

std::vector<int64_t> hook_shape(const Config& c, HookSite site, int64_t batch, int64_t pos) {
  std::vector<int64_t> shape;
  for (Axis axis : hook_site_info(site).axes) shape.push_back(axis_size(c, axis, batch, pos));
  return shape;
}

int axis_index(HookSite site, Axis axis) {
  const std::vector<Axis>& axes = hook_site_info(site).axes;
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] == axis) return static_cast<int>(i);
  return -1;
}

}  // namespace resid
