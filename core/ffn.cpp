#include "core/ffn.h"

#include "core/activations.h"
#include "core/hook_caller.h"
#include "core/project.h"

namespace resid {

RowMatrix ffn(const Config& c, const LayerWeights& w, const RowMatrix& normed, int layer, HookCaller& hooks) {
  RowMatrix post;  // [rows, d_mlp] what the down projection reads
  if (c.gated_mlp) {
    RowMatrix pre = project(normed, w.w_gate.matrix());  // [rows, d_mlp]
    hooks.at(HookSite::MlpPre, layer, pre.data());
    RowMatrix linear = project(normed, w.w_up.matrix());  // [rows, d_mlp]
    hooks.at(HookSite::MlpPreLinear, layer, linear.data());
    apply_activation(c.act_fn, pre.data(), pre.size());
    post = std::move(pre);
    post.array() *= linear.array();
  } else {
    post = project(normed, w.w_up.matrix());  // [rows, d_mlp]
    hooks.at(HookSite::MlpPre, layer, post.data());
    apply_activation(c.act_fn, post.data(), post.size());
  }
  hooks.at(HookSite::MlpPost, layer, post.data());
  RowMatrix out = project(post, w.w_down.matrix());  // [rows, d_model]
  hooks.at(HookSite::MlpOut, layer, out.data());
  return out;
}

}  // namespace resid
