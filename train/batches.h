// Mini-batches: each epoch visits every example once, in an order shuffled from (seed, epoch) alone, so an
// epoch's order does not depend on what happened before it.
#pragma once
#include <cstdint>
#include <vector>

namespace resid::train {

// A permutation of 0..n-1 (Fisher-Yates over core/init.h's generator).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch);

// The batches of `order`, batch_size each, the last one smaller when batch_size does not divide n.
int64_t batch_count(int64_t n, int batch_size);

}  // namespace resid::train
