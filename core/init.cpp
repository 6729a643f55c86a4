#include "core/init.h"

#include <cmath>

namespace resid {

uint64_t Rng::next_u64() {  // splitmix64
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::uniform() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * M_PI * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

namespace {
std::vector<float> uniform_values(int64_t n, double bound, Rng& rng) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& v : out) v = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
  return out;
}
std::vector<float> normal_values(int64_t n, double std, Rng& rng) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& v : out) v = static_cast<float>(rng.normal() * std);
  return out;
}
}  // namespace

std::vector<float> xavier_uniform(int64_t fan_out, int64_t fan_in, Rng& rng, double gain) {
  return uniform_values(fan_out * fan_in, gain * std::sqrt(6.0 / double(fan_in + fan_out)), rng);
}
std::vector<float> xavier_normal(int64_t fan_out, int64_t fan_in, Rng& rng, double gain) {
  return normal_values(fan_out * fan_in, gain * std::sqrt(2.0 / double(fan_in + fan_out)), rng);
}
std::vector<float> kaiming_normal(int64_t fan_out, int64_t fan_in, Rng& rng) {
  return normal_values(fan_out * fan_in, std::sqrt(2.0 / double(fan_in)), rng);
}
std::vector<float> kaiming_uniform(int64_t fan_out, int64_t fan_in, Rng& rng) {
  return uniform_values(fan_out * fan_in, std::sqrt(6.0 / double(fan_in)), rng);
}
std::vector<float> truncated_normal(int64_t n, Rng& rng, double std) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& v : out) {
    double z;
    do z = rng.normal();
    while (z < -2.0 || z > 2.0);
    v = static_cast<float>(z * std);
  }
  return out;
}

}  // namespace resid
