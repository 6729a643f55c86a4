// Every place the forward pass writes an activation, named exactly as TransformerLens names it.
// The names come from one table (hook_site.cpp); nothing else spells them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace resid {

enum class HookSite : uint8_t {
  Embed,               // hook_embed                       [batch, pos, d_model]
  ResidPre,            // blocks.L.hook_resid_pre          [batch, pos, d_model]
  Ln1Scale,            // blocks.L.ln1.hook_scale          [batch, pos, 1]
  Ln1Normalized,       // blocks.L.ln1.hook_normalized     [batch, pos, d_model]  x / scale (before the weight)
  AttnQ,               // blocks.L.attn.hook_q             [batch, pos, n_heads, d_head]
  AttnK,               // blocks.L.attn.hook_k             [batch, pos, n_kv_heads, d_head]
  AttnV,               // blocks.L.attn.hook_v             [batch, pos, n_kv_heads, d_head]
  AttnRotQ,            // blocks.L.attn.hook_rot_q         [batch, pos, n_heads, d_head]
  AttnRotK,            // blocks.L.attn.hook_rot_k         [batch, pos, n_kv_heads, d_head]
  AttnScores,          // blocks.L.attn.hook_attn_scores   [batch, n_heads, q_pos, k_pos]  scaled, -inf where masked
  AttnPattern,         // blocks.L.attn.hook_pattern       [batch, n_heads, q_pos, k_pos]
  AttnZ,               // blocks.L.attn.hook_z             [batch, pos, n_heads, d_head]
  AttnOut,             // blocks.L.hook_attn_out           [batch, pos, d_model]
  ResidMid,            // blocks.L.hook_resid_mid          [batch, pos, d_model]
  Ln2Scale,            // blocks.L.ln2.hook_scale          [batch, pos, 1]
  Ln2Normalized,       // blocks.L.ln2.hook_normalized     [batch, pos, d_model]
  MlpPre,              // blocks.L.mlp.hook_pre            [batch, pos, d_mlp]  gate pre-activation (or W_in x)
  MlpPreLinear,        // blocks.L.mlp.hook_pre_linear     [batch, pos, d_mlp]  up projection (gated FFNs only)
  MlpPost,             // blocks.L.mlp.hook_post           [batch, pos, d_mlp]
  MlpOut,              // blocks.L.hook_mlp_out            [batch, pos, d_model]
  ResidPost,           // blocks.L.hook_resid_post         [batch, pos, d_model]
  LnFinalScale,        // ln_final.hook_scale              [batch, pos, 1]
  LnFinalNormalized,   // ln_final.hook_normalized         [batch, pos, d_model]
  UnembedOut,          // unembed.hook_out                 [batch, pos, d_vocab]  the logits
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
  const char* suffix;       // "hook_resid_post", "attn.hook_q", ...
  bool per_layer;           // named blocks.{L}.<suffix> when true
  std::vector<Axis> axes;   // outermost first; the shape, position and head axes all follow from these
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
