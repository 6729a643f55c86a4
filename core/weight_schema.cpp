#include "core/weight_schema.h"

#include <algorithm>
#include <stdexcept>

namespace resid {

namespace {

using Shape = std::vector<int64_t>;

int64_t dq(const Config& c) {
  return int64_t{c.n_heads} * c.d_head;
}
int64_t dkv(const Config& c) {
  return int64_t{c.n_kv_heads} * c.d_head;
}

Shape vocab_by_model(const Config& c) {
  return {c.d_vocab, c.d_model};
}
Shape model_vector(const Config& c) {
  return {c.d_model};
}
Shape q_shape(const Config& c) {
  return {dq(c), c.d_model};
}
Shape kv_shape(const Config& c) {
  return {dkv(c), c.d_model};
}
Shape o_shape(const Config& c) {
  return {c.d_model, dq(c)};
}
Shape mlp_in_shape(const Config& c) {
  return {c.d_mlp, c.d_model};
}
Shape mlp_out_shape(const Config& c) {
  return {c.d_model, c.d_mlp};
}

int query_heads(const Config& c) {
  return c.n_heads;
}
int kv_heads(const Config& c) {
  return c.n_kv_heads;
}

bool always(const Config&) {
  return true;
}
bool if_gated(const Config& c) {
  return c.gated_mlp;
}
bool if_untied(const Config& c) {
  return !c.tied_embeddings;
}

using W = TransformerWeights;
using L = LayerWeights;
using R = WeightRole;

// One row per role. The order is Hugging Face's, which is also the order random_weights draws in.
const WeightRow kSchema[] = {
    {R::Embed, "embed", false, vocab_by_model, nullptr, always, &W::embed, nullptr,
     "model.embed_tokens.weight"},
    {R::AttnNorm, "attn_norm", true, model_vector, nullptr, always, nullptr, &L::attn_norm,
     "input_layernorm.weight"},
    {R::Wq, "w_q", true, q_shape, query_heads, always, nullptr, &L::w_q, "self_attn.q_proj.weight"},
    {R::Wk, "w_k", true, kv_shape, kv_heads, always, nullptr, &L::w_k, "self_attn.k_proj.weight"},
    {R::Wv, "w_v", true, kv_shape, nullptr, always, nullptr, &L::w_v, "self_attn.v_proj.weight"},
    {R::Wo, "w_o", true, o_shape, nullptr, always, nullptr, &L::w_o, "self_attn.o_proj.weight"},
    {R::FfnNorm, "ffn_norm", true, model_vector, nullptr, always, nullptr, &L::ffn_norm,
     "post_attention_layernorm.weight"},
    {R::Gate, "w_gate", true, mlp_in_shape, nullptr, if_gated, nullptr, &L::w_gate, "mlp.gate_proj.weight"},
    {R::Up, "w_up", true, mlp_in_shape, nullptr, always, nullptr, &L::w_up, "mlp.up_proj.weight"},
    {R::Down, "w_down", true, mlp_out_shape, nullptr, always, nullptr, &L::w_down, "mlp.down_proj.weight"},
    {R::FinalNorm, "final_norm", false, model_vector, nullptr, always, &W::final_norm, nullptr,
     "model.norm.weight"},
    {R::Unembed, "unembed", false, vocab_by_model, nullptr, if_untied, &W::unembed, nullptr,
     "lm_head.weight"},
};

}  // namespace

std::span<const WeightRow> weight_schema() {
  return kSchema;
}

const WeightRow& weight_row(WeightRole role) {
  for (const WeightRow& row : kSchema)
    if (row.role == role) return row;
  throw std::logic_error("weight_row: a WeightRole without a schema row");
}

std::vector<WeightSlot> weight_slots(const Config& c, WeightOrder order) {
  std::vector<WeightSlot> out;
  auto add_globals = [&](auto first, auto last) {
    for (auto it = first; it != last; ++it)
      if (!it->per_layer && it->stored(c)) out.push_back({&*it, -1});
  };
  auto add_layers = [&] {
    for (int l = 0; l < c.n_layers; ++l)
      for (const WeightRow& row : kSchema)
        if (row.per_layer && row.stored(c)) out.push_back({&row, l});
  };
  const WeightRow* begin = std::begin(kSchema);
  const WeightRow* end = std::end(kSchema);
  if (order == WeightOrder::GlobalsFirst) {
    add_globals(begin, end);
    add_layers();
  } else {
    // The per-layer rows form one block in the table: globals before it, layers, globals after it.
    const WeightRow* block = std::find_if(begin, end, [](const WeightRow& r) { return r.per_layer; });
    add_globals(begin, block);
    add_layers();
    add_globals(block, end);
  }
  return out;
}

Tensor& weight_tensor(TransformerWeights& w, const WeightSlot& s) {
  return s.row->per_layer ? w.layers[s.layer].*(s.row->layer) : w.*(s.row->global);
}

const Tensor& weight_tensor(const TransformerWeights& w, const WeightSlot& s) {
  return s.row->per_layer ? w.layers[s.layer].*(s.row->layer) : w.*(s.row->global);
}

std::string weight_name(const WeightSlot& s) {
  if (!s.row->per_layer) return s.row->hf_name;
  return "model.layers." + std::to_string(s.layer) + "." + s.row->hf_name;
}

int rotary_heads(const WeightSlot& s, const Config& c) {
  return s.row->rotary_heads ? s.row->rotary_heads(c) : 0;
}

}  // namespace resid
