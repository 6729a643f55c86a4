// A fresh MLP from core/init.h's seeded initialisers: weights (and biases) by a named scheme. The same seed
// gives the same model on every machine.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/init.h"
#include "train/mlp_params.h"

namespace resid::train {

// One row per scheme (core/init.h): its name and what it draws.
struct InitScheme {
  const char* name;  // "he_normal", "he_uniform", "xavier_normal", "xavier_uniform", "torch"
  const char* description;
  std::vector<float> (*draw)(int64_t fan_out, int64_t fan_in, Rng& rng);
  // The biases [fan_out], drawn after the layer's weights; null: zeros.
  std::vector<float> (*draw_bias)(int64_t fan_out, int64_t fan_in, Rng& rng);
};
const std::vector<InitScheme>& init_schemes();
const InitScheme& init_scheme(const std::string& name);  // ConfigError naming the choices
inline constexpr const char* kDefaultInit = "he_normal";

// widths: d_in, hidden..., d_out (MlpConfig::validate's rules). Layer i draws (weights, then biases) from the
// generator after layer i - 1, all from Rng(seed).
MlpParams<float> init_mlp(const std::vector<int>& widths, ActFn act_fn, const std::string& scheme,
                          uint64_t seed);

}  // namespace resid::train
