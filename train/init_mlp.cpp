#include "train/init_mlp.h"

#include <cmath>

#include "core/error.h"
#include "core/init.h"

namespace resid::train {

namespace {
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): torch.nn.Linear's default for weights (kaiming_uniform_ with a =
// sqrt(5)) and biases alike.
std::vector<float> torch_uniform(int64_t n, int64_t fan_in, Rng& rng) {
  std::vector<float> out(static_cast<size_t>(n));
  const double bound = 1.0 / std::sqrt(double(fan_in));
  for (float& v : out) v = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
  return out;
}
}  // namespace

const std::vector<InitScheme>& init_schemes() {
  static const std::vector<InitScheme> schemes = {
      {"he_normal", "Kaiming normal, std sqrt(2 / fan_in); biases 0", kaiming_normal, nullptr},
      {"he_uniform", "Kaiming uniform, bound sqrt(6 / fan_in); biases 0", kaiming_uniform, nullptr},
      {"xavier_normal", "Glorot normal, std sqrt(2 / (fan_in + fan_out)); biases 0",
       [](int64_t o, int64_t i, Rng& r) { return xavier_normal(o, i, r); }, nullptr},
      {"xavier_uniform", "Glorot uniform, bound sqrt(6 / (fan_in + fan_out)); biases 0",
       [](int64_t o, int64_t i, Rng& r) { return xavier_uniform(o, i, r); }, nullptr},
      {"torch", "torch.nn.Linear's default: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))",
       [](int64_t o, int64_t i, Rng& r) { return torch_uniform(o * i, i, r); },
       [](int64_t o, int64_t i, Rng& r) { return torch_uniform(o, i, r); }},
  };
  return schemes;
}

const InitScheme& init_scheme(const std::string& name) {
  std::string names;
  for (const InitScheme& s : init_schemes()) {
    if (name == s.name) return s;
    names += (names.empty() ? "" : ", ") + std::string(s.name);
  }
  throw ConfigError("unknown init '" + name + "' (expected " + names + ")");
}

MlpParams<float> init_mlp(const std::vector<int>& widths, ActFn act_fn, const std::string& scheme,
                          uint64_t seed) {
  MlpConfig config;
  config.widths = widths;
  config.act_fn = act_fn;
  config.validate();
  const InitScheme& s = init_scheme(scheme);
  Rng rng(seed);
  MlpParams<float> p;
  p.act_fn = act_fn;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    const int fan_in = widths[i], fan_out = widths[i + 1];
    const std::vector<float> w = s.draw(fan_out, fan_in, rng);
    LinearParams<float> layer{Eigen::Map<const Matrix<float>>(w.data(), fan_out, fan_in),
                              RowVector<float>::Zero(fan_out)};
    if (s.draw_bias) {
      const std::vector<float> b = s.draw_bias(fan_out, fan_in, rng);
      layer.bias = Eigen::Map<const RowVector<float>>(b.data(), fan_out);
    }
    p.layers.push_back(std::move(layer));
  }
  return p;
}

}  // namespace resid::train
