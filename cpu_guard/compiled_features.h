// Bits naming the instruction sets the CPU guard knows (cpu_guard/cpu_guard.h). Internal to resid::cpu_guard.
#pragma once

namespace resid::detail {

enum CpuFeatureBit : unsigned {
  kSse42 = 1u << 0,
  kPopcnt = 1u << 1,
  kAvx = 1u << 2,
  kAvx2 = 1u << 3,
  kFma = 1u << 4,
  kF16c = 1u << 5,
  kBmi2 = 1u << 6,
  kAvx512f = 1u << 7,
  kAvx512bw = 1u << 8,
  kAvx512dq = 1u << 9,
  kAvx512vl = 1u << 10,
};

extern const unsigned kCompiledCpuFeatures;  // compiled_features.cpp, built with the project's -march

}  // namespace resid::detail
