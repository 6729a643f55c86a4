// Seeded, reproducible weight initialisers. The generator is our own (splitmix64 + Box-Muller), not
// <random>'s distributions, whose output differs between standard libraries: the same seed gives the same
// model everywhere.
#pragma once
#include <cstdint>
#include <vector>

namespace resid {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64();
  double uniform();  // [0, 1)
  double normal();   // standard normal

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)); normal with std = gain * sqrt(2 / (fan_in +
// fan_out)).
std::vector<float> xavier_uniform(int64_t fan_out, int64_t fan_in, Rng& rng, double gain = 1.0);
std::vector<float> xavier_normal(int64_t fan_out, int64_t fan_in, Rng& rng, double gain = 1.0);
// He: std = sqrt(2 / fan_in) (ReLU gain); uniform bound sqrt(6 / fan_in).
std::vector<float> kaiming_normal(int64_t fan_out, int64_t fan_in, Rng& rng);
std::vector<float> kaiming_uniform(int64_t fan_out, int64_t fan_in, Rng& rng);
// Normal(0, std) redrawn until inside [-2 std, 2 std] (PyTorch's trunc_normal_ with a = -2std, b = 2std).
std::vector<float> truncated_normal(int64_t n, Rng& rng, double std = 0.02);

}  // namespace resid
