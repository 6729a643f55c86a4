// The parameters of a Llama-family model, in PyTorch's (out, in) layout, float32, row-major.
// Loaders fill this; writers read it; the forward never owns storage itself.
#pragma once
#include <vector>

#include "core/config.h"
#include "core/tensor.h"

namespace resid {

struct LayerWeights {
  Tensor attn_norm;  // [d_model]                      ln1.w
  Tensor w_q;        // [n_heads * d_head, d_model]
  Tensor w_k;        // [n_kv_heads * d_head, d_model]
  Tensor w_v;        // [n_kv_heads * d_head, d_model]
  Tensor w_o;        // [d_model, n_heads * d_head]
  Tensor ffn_norm;   // [d_model]                      ln2.w
  Tensor w_gate;     // [d_mlp, d_model]  gated FFNs only (TransformerLens W_gate)
  Tensor w_up;       // [d_mlp, d_model]  (TransformerLens W_in)
  Tensor w_down;     // [d_model, d_mlp]  (TransformerLens W_out)
};

struct TransformerWeights {
  Tensor embed;  // [d_vocab, d_model]
  std::vector<LayerWeights> layers;
  Tensor final_norm;  // [d_model]
  Tensor unembed;     // [d_vocab, d_model]; the same storage as `embed` when config.tied_embeddings
};

// Throws FormatError(source, "...") naming the first weight that does not fit the config: the layer count, a
// missing tensor, or a shape ("model.layers.2.self_attn.k_proj.weight has shape [64, 64], expected [32,
// 64]").
void check_weight_shapes(const Config& config, const TransformerWeights& weights, const std::string& source);

// Names used in messages, the tensor table and resid's own safetensors files (Hugging Face Llama names).
struct WeightRef {
  std::string name;  // e.g. "model.layers.3.self_attn.q_proj.weight"
  const Tensor* tensor;
};
std::vector<WeightRef> named_weights(const Config& config, const TransformerWeights& weights);

// A model with every weight drawn from a seeded initialiser (truncated normal std 0.02, norms = 1).
// Reproducible across runs and machines for the same seed.
TransformerWeights random_weights(const Config& config, uint64_t seed);

}  // namespace resid
