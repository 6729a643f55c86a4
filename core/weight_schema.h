// The weight roles of a Llama-family model, one row each: the single place that says which tensors a model
// has, their shapes, which hold rotary q/k heads and where each lives in TransformerWeights. Loaders,
// writers, the shape check and random_weights all iterate this table; a checkpoint format adds only its names
// and byte layout. Adding a weight role = one row in weight_schema.cpp (plus its name in each format's name
// function).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/weights.h"

namespace resid {

enum class WeightRole { Embed, AttnNorm, Wq, Wk, Wv, Wo, FfnNorm, Gate, Up, Down, FinalNorm, Unembed };

struct WeightRow {
  WeightRole role;
  const char* name;  // the member's name in the code, e.g. "w_q"
  bool per_layer;
  std::vector<int64_t> (*shape)(const Config&);  // PyTorch (out, in) order
  // q/k: how many heads of d_head rows hold rotary pairs (their rows follow the config's RotaryStyle);
  // nullptr for every other role.
  int (*rotary_heads)(const Config&);
  // Whether the model stores this tensor: gate only for gated FFNs, the unembedding only when untied.
  bool (*stored)(const Config&);
  Tensor TransformerWeights::*global;  // the member it fills when !per_layer
  Tensor LayerWeights::*layer;         // the member it fills when per_layer
  const char* hf_name;  // Hugging Face name, resid's canonical one; per-layer rows: after "model.layers.<l>."
};

// Every role, in Hugging Face order: embed, the per-layer rows, final norm, unembed.
std::span<const WeightRow> weight_schema();
const WeightRow& weight_row(WeightRole role);

// One stored tensor: a row and, for per-layer rows, its layer (-1 for global rows).
struct WeightSlot {
  const WeightRow* row;
  int layer;
};

enum class WeightOrder {
  Interleaved,   // schema order with the per-layer rows repeated for each layer in place (Hugging Face)
  GlobalsFirst,  // the global rows, then each layer's rows (llama.cpp's GGUF converters)
};
// The tensors `config` stores, in `order`.
std::vector<WeightSlot> weight_slots(const Config& config, WeightOrder order = WeightOrder::Interleaved);

// The tensor a slot names; `weights.layers` must hold n_layers entries.
Tensor& weight_tensor(TransformerWeights& weights, const WeightSlot& slot);
const Tensor& weight_tensor(const TransformerWeights& weights, const WeightSlot& slot);

// "model.embed_tokens.weight", "model.layers.3.self_attn.q_proj.weight", ...
std::string weight_name(const WeightSlot& slot);
// The slot's rotary head count (0 when its rows are not rotary heads).
int rotary_heads(const WeightSlot& slot, const Config& config);

}  // namespace resid
