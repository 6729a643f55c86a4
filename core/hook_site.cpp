#include "core/hook_site.h"

#include <charconv>

#include "core/error.h"

namespace resid {

namespace {
// The one table of hook names. Order = forward order.
const std::vector<HookSiteInfo> kSites = {
    {HookSite::Embed, "hook_embed", false},
    {HookSite::ResidPre, "hook_resid_pre", true},
    {HookSite::Ln1Scale, "ln1.hook_scale", true},
    {HookSite::Ln1Normalized, "ln1.hook_normalized", true},
    {HookSite::AttnQ, "attn.hook_q", true},
    {HookSite::AttnK, "attn.hook_k", true},
    {HookSite::AttnV, "attn.hook_v", true},
    {HookSite::AttnRotQ, "attn.hook_rot_q", true},
    {HookSite::AttnRotK, "attn.hook_rot_k", true},
    {HookSite::AttnScores, "attn.hook_attn_scores", true},
    {HookSite::AttnPattern, "attn.hook_pattern", true},
    {HookSite::AttnZ, "attn.hook_z", true},
    {HookSite::AttnOut, "hook_attn_out", true},
    {HookSite::ResidMid, "hook_resid_mid", true},
    {HookSite::Ln2Scale, "ln2.hook_scale", true},
    {HookSite::Ln2Normalized, "ln2.hook_normalized", true},
    {HookSite::MlpPre, "mlp.hook_pre", true},
    {HookSite::MlpPreLinear, "mlp.hook_pre_linear", true},
    {HookSite::MlpPost, "mlp.hook_post", true},
    {HookSite::MlpOut, "hook_mlp_out", true},
    {HookSite::ResidPost, "hook_resid_post", true},
    {HookSite::LnFinalScale, "ln_final.hook_scale", false},
    {HookSite::LnFinalNormalized, "ln_final.hook_normalized", false},
    {HookSite::UnembedOut, "unembed.hook_out", false},
};
}  // namespace

const std::vector<HookSiteInfo>& all_hook_sites() { return kSites; }

const HookSiteInfo& hook_site_info(HookSite site) { return kSites.at(static_cast<size_t>(site)); }

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
    if (ec != std::errc() || ptr == begin || *ptr != '.' || layer < 0 || layer >= n_layers) return std::nullopt;
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
      if (info.site == HookSite::Embed) points.insert(points.begin(), {info.site, -1});
      else points.push_back({info.site, -1});
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
  switch (site) {
    case HookSite::Ln1Scale: case HookSite::Ln2Scale: case HookSite::LnFinalScale:
      return {batch, pos, 1};
    case HookSite::AttnQ: case HookSite::AttnRotQ: case HookSite::AttnZ:
      return {batch, pos, c.n_heads, c.d_head};
    case HookSite::AttnK: case HookSite::AttnV: case HookSite::AttnRotK:
      return {batch, pos, c.n_kv_heads, c.d_head};
    case HookSite::AttnScores: case HookSite::AttnPattern:
      return {batch, c.n_heads, pos, pos};
    case HookSite::MlpPre: case HookSite::MlpPreLinear: case HookSite::MlpPost:
      return {batch, pos, c.d_mlp};
    case HookSite::UnembedOut:
      return {batch, pos, c.d_vocab};
    default:
      return {batch, pos, c.d_model};
  }
}

}  // namespace resid
