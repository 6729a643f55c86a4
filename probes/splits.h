// Seeded splits by capture row: all examples of one sequence (its tokens) land in the same set, so no
// sequence straddles train and test. Deterministic for a given seed (own shuffle, no std:: distributions).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace resid::probes {

enum class Split : uint8_t { Train = 0, Validation = 1, Test = 2 };

struct SplitFractions {
  double train = 0.7, validation = 0.15, test = 0.15;
  static SplitFractions parse(const std::string& text);  // "0.7,0.15,0.15"
};

// One entry per group (capture row): which set it belongs to. Counts are rounded so that every non-zero
// fraction gets at least one group when there are enough groups.
std::vector<Split> split_groups(int64_t n_groups, const SplitFractions& f, uint64_t seed);
// Fold (0..k-1) of each group, balanced sizes, seeded.
std::vector<int> fold_groups(int64_t n_groups, int k, uint64_t seed);

// A 64-bit mix (splitmix64) used for seeded, order-independent random draws.
uint64_t mix64(uint64_t x);

}  // namespace resid::probes
