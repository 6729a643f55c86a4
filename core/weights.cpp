#include "core/weights.h"

#include "core/error.h"
#include "core/init.h"

namespace resid {

std::vector<WeightRef> named_weights(const Config& c, const TransformerWeights& w) {
  std::vector<WeightRef> out;
  out.push_back({"model.embed_tokens.weight", &w.embed});
  for (int l = 0; l < static_cast<int>(w.layers.size()); ++l) {
    const LayerWeights& lw = w.layers[l];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", &lw.attn_norm});
    out.push_back({p + "self_attn.q_proj.weight", &lw.w_q});
    out.push_back({p + "self_attn.k_proj.weight", &lw.w_k});
    out.push_back({p + "self_attn.v_proj.weight", &lw.w_v});
    out.push_back({p + "self_attn.o_proj.weight", &lw.w_o});
    out.push_back({p + "post_attention_layernorm.weight", &lw.ffn_norm});
    if (c.gated_mlp) out.push_back({p + "mlp.gate_proj.weight", &lw.w_gate});
    out.push_back({p + "mlp.up_proj.weight", &lw.w_up});
    out.push_back({p + "mlp.down_proj.weight", &lw.w_down});
  }
  out.push_back({"model.norm.weight", &w.final_norm});
  if (!c.tied_embeddings) out.push_back({"lm_head.weight", &w.unembed});
  return out;
}

namespace {
std::vector<int64_t> expected_shape(const Config& c, const std::string& name) {
  const int64_t dm = c.d_model, dq = int64_t(c.n_heads) * c.d_head, dkv = int64_t(c.n_kv_heads) * c.d_head;
  auto ends = [&](const char* suffix) { return name.ends_with(suffix); };
  if (ends("embed_tokens.weight") || ends("lm_head.weight")) return {c.d_vocab, dm};
  if (ends("layernorm.weight") || ends("model.norm.weight")) return {dm};
  if (ends("q_proj.weight")) return {dq, dm};
  if (ends("k_proj.weight") || ends("v_proj.weight")) return {dkv, dm};
  if (ends("o_proj.weight")) return {dm, dq};
  if (ends("gate_proj.weight") || ends("up_proj.weight")) return {c.d_mlp, dm};
  if (ends("down_proj.weight")) return {dm, c.d_mlp};
  return {};
}
}  // namespace

void check_weight_shapes(const Config& c, const TransformerWeights& w, const std::string& source) {
  if (static_cast<int>(w.layers.size()) != c.n_layers)
    throw FormatError(source, std::to_string(w.layers.size()) + " layers of weights, config says n_layers = " +
                                  std::to_string(c.n_layers));
  for (const WeightRef& ref : named_weights(c, w)) {
    const std::vector<int64_t> want = expected_shape(c, ref.name);
    if (ref.tensor->empty()) throw FormatError(source, "missing tensor " + ref.name);
    if (ref.tensor->shape != want)
      throw FormatError(source, ref.name + " has shape " + shape_string(ref.tensor->shape) + ", expected " +
                                    shape_string(want));
  }
  if (c.tied_embeddings && w.unembed.data != w.embed.data)
    throw FormatError(source, "config says tied embeddings but the unembedding is a separate tensor");
  if (!c.tied_embeddings && w.unembed.empty()) throw FormatError(source, "missing tensor lm_head.weight");
}

TransformerWeights random_weights(const Config& c, uint64_t seed) {
  c.validate();
  Rng rng(seed);
  const int64_t dm = c.d_model, dq = int64_t(c.n_heads) * c.d_head, dkv = int64_t(c.n_kv_heads) * c.d_head;
  auto matrix = [&](int64_t rows, int64_t cols) { return Tensor::owned({rows, cols}, truncated_normal(rows * cols, rng)); };
  // Norm weights near 1 but not exactly, so a loader that drops them is caught.
  auto norm = [&]() {
    std::vector<float> v = truncated_normal(dm, rng, 0.1);
    for (float& x : v) x += 1.0f;
    return Tensor::owned({dm}, std::move(v));
  };
  TransformerWeights w;
  w.embed = matrix(c.d_vocab, dm);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights lw;
    lw.attn_norm = norm();
    lw.w_q = matrix(dq, dm);
    lw.w_k = matrix(dkv, dm);
    lw.w_v = matrix(dkv, dm);
    lw.w_o = matrix(dm, dq);
    lw.ffn_norm = norm();
    if (c.gated_mlp) lw.w_gate = matrix(c.d_mlp, dm);
    lw.w_up = matrix(c.d_mlp, dm);
    lw.w_down = matrix(dm, c.d_mlp);
    w.layers.push_back(std::move(lw));
  }
  w.final_norm = norm();
  w.unembed = c.tied_embeddings ? w.embed : matrix(c.d_vocab, dm);
  return w;
}

}  // namespace resid
