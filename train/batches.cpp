#include "train/batches.h"

#include <cstddef>
#include <utility>

#include "core/init.h"

namespace resid::train {

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch) + 0x243f6a8885a308d3ull);
  for (int64_t i = n - 1; i > 0; --i) {
    // A multiply-shift draw in [0, i]: no modulo bias worth speaking of for any n that fits in memory.
    const int64_t j =
        static_cast<int64_t>((static_cast<unsigned __int128>(rng.next_u64()) * uint64_t(i + 1)) >> 64);
    std::swap(order[i], order[j]);
  }
  return order;
}

int64_t batch_count(int64_t n, int batch_size) {
  return (n + batch_size - 1) / batch_size;
}

}  // namespace resid::train
