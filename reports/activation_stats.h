// Activation statistics by layer from a capture: mean, standard deviation and RMS norm of the residual stream
// (hook_embed, blocks.L.hook_resid_pre/mid/post) and of each sublayer's output (blocks.L.hook_attn_out,
// hook_mlp_out), over every real position of the committed rows. The "healthy activations" check: a residual
// stream whose norm explodes or collapses with depth shows here. A plain MLP's capture (model config family
// "mlp") has no residual stream: its statistics are of hook_embed (the input), blocks.L.mlp.hook_pre/post and
// unembed.hook_out (the logits, placed after the last hidden layer).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "capture/activation_reader.h"
#include "reports/report.h"

namespace resid {

struct HookStats {
  std::string hook;                                // "blocks.3.hook_resid_post"
  std::string site;                                // "resid_post", "attn_out", ...
  int layer = -1;                                  // -1 for hook_embed; an MLP's logits: hidden layers
  int64_t vectors = 0;                             // activation vectors counted (real positions)
  double mean = 0, std = 0, rms = 0, max_abs = 0;  // rms: mean over vectors of sqrt(mean_j x_j^2)
};

// One entry per matching hook of the capture, in capture order. InputError naming the file when it holds none
// of the hooks above, or no committed rows.
std::vector<HookStats> activation_stats(const ActivationReader& capture);

Section activation_stats_section(const ActivationReader& capture);

// The capture's provenance rows (path, model, dataset, rows), shared by the sections that read a capture.
std::vector<std::pair<std::string, std::string>> capture_sources(const ActivationReader& capture);

}  // namespace resid
