#include "probes/splits.h"

#include <cmath>
#include <numeric>
#include <sstream>

#include "core/error.h"

namespace resid::probes {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

namespace {
std::vector<int64_t> shuffled(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  uint64_t state = mix64(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    state = mix64(state);
    std::swap(order[i], order[state % static_cast<uint64_t>(i + 1)]);
  }
  return order;
}
}  // namespace

SplitFractions SplitFractions::parse(const std::string& text) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      v.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw InputError("split '" + text + "': '" + item + "' is not a number");
    }
  }
  if (v.size() != 3) throw InputError("split '" + text + "': expected three fractions TRAIN,VALIDATION,TEST");
  for (double x : v)
    if (!(x >= 0)) throw InputError("split '" + text + "': fractions must be non-negative");
  if (!(v[0] > 0) || !(v[2] > 0))
    throw InputError("split '" + text + "': train and test fractions must be positive");
  const double sum = v[0] + v[1] + v[2];
  return {v[0] / sum, v[1] / sum, v[2] / sum};
}

std::vector<Split> split_groups(int64_t n, const SplitFractions& f, uint64_t seed) {
  int64_t n_test = std::llround(f.test * n), n_val = std::llround(f.validation * n);
  if (n >= 3) {
    n_test = std::max<int64_t>(n_test, 1);
    if (f.validation > 0) n_val = std::max<int64_t>(n_val, 1);
  }
  if (n_test + n_val >= n)
    throw InputError("split: " + std::to_string(n) + " sequences are too few to split");
  std::vector<Split> out(n, Split::Train);
  const std::vector<int64_t> order = shuffled(n, seed);
  for (int64_t i = 0; i < n_test; ++i) out[order[i]] = Split::Test;
  for (int64_t i = n_test; i < n_test + n_val; ++i) out[order[i]] = Split::Validation;
  return out;
}

std::vector<int> fold_groups(int64_t n, int k, uint64_t seed) {
  std::vector<int> out(n);
  const std::vector<int64_t> order = shuffled(n, seed ^ 0x5eedf01dULL);
  for (int64_t i = 0; i < n; ++i) out[order[i]] = static_cast<int>(i % k);
  return out;
}

}  // namespace resid::probes
