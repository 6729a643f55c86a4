// Every place the forward pass writes an activation, named exactly as TransformerLens names it.
// The names come from one table (hook_site.cpp); nothing else spells them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace resid {

// One enumerator per row of the hook-site table in hook_site.cpp, in forward order. The table holds each
// site's name and named axes (hook_site_info; `resid hooks` prints them); the notes below say only what they
// compute.
enum class HookSite : uint8_t {
  Embed,
  ResidPre,
  Ln1Scale,
  Ln1Normalized,  // x / scale, before the norm's weight
  AttnQ,
  AttnK,
  AttnV,
  AttnRotQ,
  AttnRotK,
  AttnScores,  // scaled, -inf where masked
  AttnPattern,
  AttnZ,
  AttnOut,
  ResidMid,
  Ln2Scale,
  Ln2Normalized,
  MlpPre,        // the gate's pre-activation (W_in x for a plain FFN)
  MlpPreLinear,  // the up projection (gated FFNs only)
  MlpPost,
  MlpOut,
  ResidPost,
  LnFinalScale,
  LnFinalNormalized,
  UnembedOut,  // the logits
  Count
};

// The named axes of an activation. Symbolic ones (batch, pos, q_pos, k_pos) take their size from the run; the
// others from the config. An attention map's q_pos is its position axis.
enum class Axis : uint8_t { Batch, Pos, QPos, KPos, Heads, KvHeads, One, DModel, DMlp, DHead, DVocab };

// "batch", "pos", "n_heads", "d_model", ... ("1" for One); the names `resid hooks` prints.
const char* axis_name(Axis axis);
// The axis' size in a config for a [batch, pos] input (q_pos and k_pos are both pos).
int64_t axis_size(const Config& config, Axis axis, int64_t batch, int64_t pos);
// Batch, Pos, QPos and KPos: sized by the run, not the config.
bool axis_is_symbolic(Axis axis);

struct HookSiteInfo {
  HookSite site;
  const char* suffix;      // "hook_resid_post", "attn.hook_q", ...
  bool per_layer;          // named blocks.{L}.<suffix> when true
  std::vector<Axis> axes;  // outermost first; the shape, position and head axes all follow from these
};

const HookSiteInfo& hook_site_info(HookSite site);
const std::vector<HookSiteInfo>& all_hook_sites();

// "blocks.3.hook_resid_post"; layer is ignored for sites that are not per layer.
std::string hook_name(HookSite site, int layer);

struct HookPointId {
  HookSite site;
  int layer;  // -1 for sites outside the blocks
  bool operator==(const HookPointId&) const = default;
};

// Parses a full hook name; std::nullopt if it names no hook of a model with n_layers layers.
std::optional<HookPointId> parse_hook_name(const std::string& name, int n_layers);

// Every hook point of a model with this config, in forward order.
std::vector<HookPointId> all_hook_points(const Config& config);
// The shape of a hook's activation for a [batch, pos] input: its axes' sizes.
std::vector<int64_t> hook_shape(const Config& config, HookSite site, int64_t batch, int64_t pos);
// Where `axis` sits in the site's shape; -1 when the site has no such axis. (ActivationView answers the same
// for a live activation, with position_axis() and head_axis().)
int axis_index(HookSite site, Axis axis);
// Whether the site exists for this config (MlpPreLinear only for gated FFNs).
bool hook_site_exists(const Config& config, HookSite site);

}  // namespace resid
