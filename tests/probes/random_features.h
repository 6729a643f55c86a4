// Seeded example matrices for the probe tests: x(i, j) = value(i, j, z) with z a fresh standard normal draw,
// so each test states only how its features are scaled and offset.
#pragma once
#include <cstdint>
#include <random>

#include "core/tensor.h"

namespace resid::testing {

template <typename Value>
RowMatrix random_features(int64_t n, int64_t d, uint64_t seed, Value value) {
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));
  std::normal_distribution<double> normal;
  RowMatrix x(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) x(i, j) = static_cast<float>(value(i, j, normal(rng)));
  return x;
}

}  // namespace resid::testing
