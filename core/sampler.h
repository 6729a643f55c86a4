// Choosing the next token from logits: greedy at temperature 0, otherwise softmax(logits / T) with optional
// top-p (nucleus) truncation, drawn from a seeded generator.
#pragma once
#include <cstdint>
#include <span>

#include "core/init.h"

namespace resid {

class Sampler {
 public:
  Sampler(float temperature, float top_p, uint64_t seed) : temperature_(temperature), top_p_(top_p), rng_(seed) {}
  int sample(std::span<const float> logits);

 private:
  float temperature_;
  float top_p_;
  Rng rng_;
};

int argmax(std::span<const float> values);

}  // namespace resid
