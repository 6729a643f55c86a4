// The feed-forward block: down(act(gate x) * up x) for gated kinds (SwiGLU, GeGLU, ReGLU), down(act(up x))
// otherwise. Hooks: mlp.hook_pre (gate pre-activation, or up x), mlp.hook_pre_linear (up x, gated only),
// mlp.hook_post (what the down projection reads).
#pragma once
#include "core/config.h"
#include "core/tensor.h"
#include "core/weights.h"

namespace resid {

class HookCaller;

// normed: [rows, d_model] -> [rows, d_model]
RowMatrix ffn(const Config& config, const LayerWeights& w, const RowMatrix& normed, int layer,
              HookCaller& hooks);

}  // namespace resid
