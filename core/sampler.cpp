#include "core/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "core/activations.h"
#include "core/error.h"
#include "core/number_text.h"

namespace resid {

Sampler::Sampler(float temperature, float top_p, uint64_t seed)
    : temperature_(temperature), top_p_(top_p), rng_(seed) {
  if (!(temperature == 0.0f || (std::isfinite(temperature) && temperature >= kMinTemperature)))
    throw InputError("temperature " + number_text(temperature) +
                     " must be 0 (greedy) or a finite value >= " + number_text(kMinTemperature));
  if (!(top_p > 0.0f && top_p <= 1.0f))
    throw InputError("top-p " + number_text(top_p) + " must be in (0, 1]");
}

int argmax(std::span<const float> values) {
  return static_cast<int>(std::max_element(values.begin(), values.end()) - values.begin());
}

int Sampler::sample(std::span<const float> logits) {
  for (float v : logits)
    if (std::isnan(v)) throw InputError("the model produced NaN logits; cannot sample");
  if (temperature_ <= 0.0f) return argmax(logits);
  std::vector<float> scaled(logits.begin(), logits.end());
  for (float& v : scaled) v /= temperature_;
  std::vector<float> probs = softmax(scaled);
  std::vector<int> order(probs.size());
  std::iota(order.begin(), order.end(), 0);
  size_t keep = probs.size();
  if (top_p_ > 0.0f && top_p_ < 1.0f) {
    std::sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
    double cumulative = 0;
    for (keep = 0; keep < order.size();) {
      cumulative += probs[order[keep++]];
      if (cumulative >= top_p_) break;
    }
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += probs[order[i]];
  const double r = rng_.uniform() * total;
  double cumulative = 0;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += probs[order[i]];
    if (r < cumulative) return order[i];
  }
  return order[keep - 1];
}

}  // namespace resid
