// The hyper-parameters of a Llama-family residual-stream model, named as TransformerLens names them.
// One Config per model, validated once at load (Config::validate) so the forward never re-checks.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace resid {

enum class ActFn { ReLU, GeLU, GeLUTanh, SiLU };

// How q/k coordinates are paired for rotation. llama2.c/GGUF rotate adjacent pairs (x[2i], x[2i+1]);
// Hugging Face checkpoints store q/k rows permuted for "rotate_half" (x[i], x[i + d_head/2]).
enum class RotaryStyle { Interleaved, Half };

std::string act_fn_name(ActFn a);
ActFn act_fn_from_name(const std::string& name);  // "relu", "gelu", "gelu_new"/"gelu_tanh", "silu"/"swish"
std::string rotary_style_name(RotaryStyle s);

struct Config {
  int d_model = 0;  // residual stream width
  int n_layers = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads (grouped-query attention); divides n_heads
  int d_head = 0;      // per-head width; d_model / n_heads unless the checkpoint says otherwise
  int d_mlp = 0;       // FFN hidden width
  int d_vocab = 0;
  int n_ctx = 0;      // maximum sequence length
  float eps = 1e-5f;  // RMSNorm epsilon
  float rotary_base = 10000.0f;
  ActFn act_fn = ActFn::SiLU;
  bool gated_mlp =
      true;  // down(act(gate x) * up x) when true (SwiGLU, GeGLU, ReGLU), down(act(up x)) when not
  bool tied_embeddings = false;  // unembed shares the embedding matrix
  RotaryStyle rotary_style = RotaryStyle::Interleaved;

  // Throws ConfigError with one line naming the first inconsistency, e.g.
  // "n_heads = 7 does not divide d_model = 64".
  void validate() const;

  // "SwiGLU", "GeGLU", "ReGLU", "ReLU", "GELU", ...
  std::string ffn_name() const;
  int64_t parameter_count() const;

  nlohmann::json to_json() const;
  // Accepts what to_json writes; missing keys keep defaults, d_head defaults to d_model / n_heads.
  static Config from_json(const nlohmann::json& j);
};

}  // namespace resid
