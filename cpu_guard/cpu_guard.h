// Which instruction sets this build was compiled to use, and which of them the running CPU lacks.
// Linking resid::cpu_guard also installs a check that runs before main(): a binary built with -march=native
// on one machine and run on an older CPU prints one line saying to rebuild and exits with code 2, instead of
// dying with SIGILL somewhere in a GEMM.
#pragma once
#include <string>

namespace resid {

// Space-separated names ("avx2 fma avx512f ...") of the compiled-in instruction sets the CPU does not report.
// Empty when the binary can run here. RESID_CPU_GUARD_PRETEND_MISSING="avx2 ..." makes the named features
// count as missing (for testing the guard on a CPU that has them).
std::string missing_cpu_features();
// The compiled-in instruction sets, space-separated.
std::string compiled_cpu_features();

}  // namespace resid
