// What every benchmark measures with: wall seconds since a time point, and the median of samples.
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

namespace resid::bench {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The upper middle sample when their number is even.
inline double median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace resid::bench
