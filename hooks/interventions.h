// Hook functions that change what the model computes: zero- and mean-ablation, activation patching and
// steering. Each can be limited to positions, heads and neurons (features on the last axis). Compose them by
// adding several to one HookSet.
#pragma once
#include <vector>

#include "hooks/activation_cache.h"
#include "hooks/hook_set.h"

namespace resid {

// Which parts of an activation an intervention touches; empty lists mean "all".
struct Selection {
  std::vector<int> positions;  // along the position axis (q_pos for attention); negative counts from each
                               // sequence's last real token (-1 = last)
  std::vector<int> heads;      // for activations with a head axis (hook_q/k/v/z, scores, pattern)
  std::vector<int> neurons;    // indices on the last axis (d_mlp neurons, d_model dims, d_head dims)
};

HookFn zero_ablation(Selection selection = {});

// Replaces selected values by `mean`, given over the last axis ([d]) and broadcast over everything else, or
// over the trailing shape without batch ([pos, ..., d]) for per-position means.
HookFn mean_ablation(std::vector<float> mean, Selection selection = {});

// Replaces selected values by the same hook's values from another run (same shape; a batch-1 source is
// broadcast over the batch).
HookFn patch_from(const StoredActivation& source, Selection selection = {});

// Adds scale * vector (length = last axis, e.g. d_model) at the selected positions.
HookFn steering(std::vector<float> vector, float scale, Selection selection = {});

// The mean over every real (unpadded) position and batch row of a recorded activation, per last-axis feature.
std::vector<float> feature_mean(const StoredActivation& activation);

}  // namespace resid
