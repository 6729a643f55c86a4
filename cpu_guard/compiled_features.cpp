// Compiled with the project's -march: each macro says the compiler may emit that instruction set anywhere.
// Only constant data lives here, so loading this file executes nothing the CPU might lack.
#include "cpu_guard/compiled_features.h"

namespace resid::detail {

extern const unsigned kCompiledCpuFeatures = 0u
#if defined(__SSE4_2__)
                                             | kSse42
#endif
#if defined(__POPCNT__)
                                             | kPopcnt
#endif
#if defined(__AVX__)
                                             | kAvx
#endif
#if defined(__AVX2__)
                                             | kAvx2
#endif
#if defined(__FMA__)
                                             | kFma
#endif
#if defined(__F16C__)
                                             | kF16c
#endif
#if defined(__BMI2__)
                                             | kBmi2
#endif
#if defined(__AVX512F__)
                                             | kAvx512f
#endif
#if defined(__AVX512BW__)
                                             | kAvx512bw
#endif
#if defined(__AVX512DQ__)
                                             | kAvx512dq
#endif
#if defined(__AVX512VL__)
                                             | kAvx512vl
#endif
    ;

}  // namespace resid::detail
