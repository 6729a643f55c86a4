// Choosing the next token from logits: greedy at temperature 0, otherwise softmax(logits / T) with optional
// top-p (nucleus) truncation, drawn from a seeded generator.
#pragma once
#include <cstdint>
#include <span>

#include "core/init.h"

namespace resid {

class Sampler {
 public:
  // Below this, logits / T overflows float32 for ordinary logits and sampling degenerates into NaN; use 0
  // (greedy) instead.
  static constexpr float kMinTemperature = 1e-3f;

  // Throws InputError unless temperature is 0 or finite and >= kMinTemperature, and top_p is in (0, 1].
  Sampler(float temperature, float top_p, uint64_t seed);
  int sample(std::span<const float> logits);

 private:
  float temperature_;
  float top_p_;
  Rng rng_;
};

int argmax(std::span<const float> values);

}  // namespace resid
