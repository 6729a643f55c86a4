#include "core/config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace resid {

std::string act_fn_name(ActFn a) {
  switch (a) {
    case ActFn::ReLU: return "relu";
    case ActFn::GeLU: return "gelu";
    case ActFn::GeLUTanh: return "gelu_tanh";
    case ActFn::SiLU: return "silu";
  }
  return "?";
}

ActFn act_fn_from_name(const std::string& name) {
  if (name == "relu") return ActFn::ReLU;
  if (name == "gelu" || name == "gelu_erf") return ActFn::GeLU;
  if (name == "gelu_tanh" || name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
    return ActFn::GeLUTanh;
  if (name == "silu" || name == "swish") return ActFn::SiLU;
  throw ConfigError("unknown activation function '" + name + "' (expected relu, gelu, gelu_tanh or silu)");
}

std::string rotary_style_name(RotaryStyle s) {
  return s == RotaryStyle::Interleaved ? "interleaved" : "half";
}

namespace {
void require(bool ok, const std::string& message) {
  if (!ok) throw ConfigError(message);
}
std::string kv(const char* name, double v) {
  std::ostringstream s;
  s << name << " = " << v;
  return s.str();
}
}  // namespace

void Config::validate() const {
  require(d_model > 0, kv("d_model", d_model) + " must be positive");
  require(n_layers >= 0, kv("n_layers", n_layers) + " must not be negative");
  require(n_heads > 0, kv("n_heads", n_heads) + " must be positive");
  require(n_kv_heads > 0, kv("n_kv_heads", n_kv_heads) + " must be positive");
  require(d_head > 0, kv("d_head", d_head) + " must be positive");
  require(d_mlp > 0, kv("d_mlp", d_mlp) + " must be positive");
  require(d_vocab > 0, kv("d_vocab", d_vocab) + " must be positive");
  require(n_ctx > 0, kv("n_ctx", n_ctx) + " must be positive");
  // Bounds that keep a hostile header from asking for absurd buffers (rotary tables are n_ctx x d_head).
  require(n_ctx <= (1 << 20), kv("n_ctx", n_ctx) + " exceeds the supported maximum of 1048576");
  require(int64_t(d_model) * n_layers <= (int64_t(1) << 24) && d_model <= (1 << 16) && d_mlp <= (1 << 18) &&
              d_vocab <= (1 << 22) && n_layers <= 4096,
          "dimensions (d_model " + std::to_string(d_model) + ", d_mlp " + std::to_string(d_mlp) +
              ", d_vocab " + std::to_string(d_vocab) + ", n_layers " + std::to_string(n_layers) +
              ") exceed resid's supported sizes");
  require(d_model % n_heads == 0, kv("n_heads", n_heads) + " does not divide " + kv("d_model", d_model));
  require(n_heads % n_kv_heads == 0,
          kv("n_kv_heads", n_kv_heads) + " does not divide " + kv("n_heads", n_heads));
  require(d_head % 2 == 0, kv("d_head", d_head) + " must be even for rotary embeddings");
  require(std::isfinite(eps) && eps >= 0, kv("eps", eps) + " must be a finite non-negative number");
  require(std::isfinite(rotary_base) && rotary_base > 0,
          kv("rotary_base", rotary_base) + " must be positive");
}

std::string Config::ffn_name() const {
  switch (act_fn) {
    case ActFn::SiLU: return gated_mlp ? "SwiGLU" : "SiLU MLP";
    case ActFn::ReLU: return gated_mlp ? "ReGLU" : "ReLU MLP";
    case ActFn::GeLU: return gated_mlp ? "GeGLU" : "GELU MLP";
    case ActFn::GeLUTanh: return gated_mlp ? "GeGLU (tanh)" : "GELU (tanh) MLP";
  }
  return "?";
}

int64_t Config::parameter_count() const {
  const int64_t dm = d_model, dq = int64_t(n_heads) * d_head, dkv = int64_t(n_kv_heads) * d_head;
  const int64_t attn = dm * dq * 2 + dm * dkv * 2;
  const int64_t ffn = int64_t(gated_mlp ? 3 : 2) * dm * d_mlp;
  const int64_t per_layer = attn + ffn + 2 * dm;
  return int64_t(d_vocab) * dm * (tied_embeddings ? 1 : 2) + n_layers * per_layer + dm;
}

nlohmann::json Config::to_json() const {
  return {{"d_model", d_model},
          {"n_layers", n_layers},
          {"n_heads", n_heads},
          {"n_kv_heads", n_kv_heads},
          {"d_head", d_head},
          {"d_mlp", d_mlp},
          {"d_vocab", d_vocab},
          {"n_ctx", n_ctx},
          {"eps", eps},
          {"rotary_base", rotary_base},
          {"act_fn", act_fn_name(act_fn)},
          {"gated_mlp", gated_mlp},
          {"tied_embeddings", tied_embeddings},
          {"rotary_style", rotary_style_name(rotary_style)}};
}

Config Config::from_json(const nlohmann::json& j) {
  Config c;
  try {
    c.d_model = j.at("d_model").get<int>();
    c.n_layers = j.at("n_layers").get<int>();
    c.n_heads = j.at("n_heads").get<int>();
    c.n_kv_heads = j.value("n_kv_heads", c.n_heads);
    c.d_head = j.value("d_head", c.n_heads > 0 ? c.d_model / c.n_heads : 0);
    c.d_mlp = j.at("d_mlp").get<int>();
    c.d_vocab = j.at("d_vocab").get<int>();
    c.n_ctx = j.at("n_ctx").get<int>();
    c.eps = j.value("eps", c.eps);
    c.rotary_base = j.value("rotary_base", c.rotary_base);
    c.act_fn = act_fn_from_name(j.value("act_fn", std::string("silu")));
    c.gated_mlp = j.value("gated_mlp", true);
    c.tied_embeddings = j.value("tied_embeddings", false);
    const std::string style = j.value("rotary_style", std::string("interleaved"));
    if (style != "interleaved" && style != "half")
      throw ConfigError("rotary_style = '" + style + "' (expected interleaved or half)");
    c.rotary_style = style == "half" ? RotaryStyle::Half : RotaryStyle::Interleaved;
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("config: ") + e.what());
  }
  return c;
}

}  // namespace resid
