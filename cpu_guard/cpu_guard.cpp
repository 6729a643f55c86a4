// Compiled for baseline x86-64 (see CMakeLists.txt), so nothing here needs the instruction sets it checks
// for.
#include "cpu_guard/cpu_guard.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "cpu_guard/compiled_features.h"

namespace resid {
namespace {

struct Feature {
  unsigned bit;
  const char* name;
};
constexpr Feature kFeatures[] = {
    {detail::kSse42, "sse4.2"},      {detail::kPopcnt, "popcnt"},     {detail::kAvx, "avx"},
    {detail::kAvx2, "avx2"},         {detail::kFma, "fma"},           {detail::kF16c, "f16c"},
    {detail::kBmi2, "bmi2"},         {detail::kAvx512f, "avx512f"},   {detail::kAvx512bw, "avx512bw"},
    {detail::kAvx512dq, "avx512dq"}, {detail::kAvx512vl, "avx512vl"},
};

unsigned supported_features() {
  unsigned s = 0;
#if defined(__x86_64__) || defined(__i386__)
  // Needed when called from a constructor that may run before libgcc's own (GCC manual, __builtin_cpu_init).
  __builtin_cpu_init();
  // __builtin_cpu_supports takes only string literals, hence one line per feature.
  if (__builtin_cpu_supports("sse4.2")) s |= detail::kSse42;
  if (__builtin_cpu_supports("popcnt")) s |= detail::kPopcnt;
  if (__builtin_cpu_supports("avx")) s |= detail::kAvx;
  if (__builtin_cpu_supports("avx2")) s |= detail::kAvx2;
  if (__builtin_cpu_supports("fma")) s |= detail::kFma;
  if (__builtin_cpu_supports("f16c")) s |= detail::kF16c;
  if (__builtin_cpu_supports("bmi2")) s |= detail::kBmi2;
  if (__builtin_cpu_supports("avx512f")) s |= detail::kAvx512f;
  if (__builtin_cpu_supports("avx512bw")) s |= detail::kAvx512bw;
  if (__builtin_cpu_supports("avx512dq")) s |= detail::kAvx512dq;
  if (__builtin_cpu_supports("avx512vl")) s |= detail::kAvx512vl;
#else
  s = ~0u;  // not x86: the macros above are never set, nothing to check
#endif
  return s;
}

// Features named in RESID_CPU_GUARD_PRETEND_MISSING, for tests.
unsigned pretend_missing() {
  const char* env = std::getenv("RESID_CPU_GUARD_PRETEND_MISSING");
  if (!env) return 0;
  unsigned bits = 0;
  for (const Feature& f : kFeatures) {
    const size_t n = std::strlen(f.name);
    for (const char* p = std::strstr(env, f.name); p; p = std::strstr(p + 1, f.name)) {
      const bool starts = p == env || p[-1] == ' ' || p[-1] == ',';
      const bool ends = p[n] == '\0' || p[n] == ' ' || p[n] == ',';
      if (starts && ends) bits |= f.bit;
    }
  }
  return bits;
}

std::string names(unsigned bits) {
  std::string out;
  for (const Feature& f : kFeatures)
    if (bits & f.bit) out += (out.empty() ? "" : " ") + std::string(f.name);
  return out;
}

unsigned missing_bits() {
  return detail::kCompiledCpuFeatures & ~(supported_features() & ~pretend_missing());
}

// Runs before every other static constructor (priority 101 is the first one user code may take), since those
// are compiled with the project's -march too.
__attribute__((constructor(101))) void check_cpu_before_anything_else() {
  const unsigned missing = missing_bits();
  if (!missing) return;
  // write(2) rather than stdio: nothing else is initialised yet.
  const std::string line = "resid: this binary was compiled for instruction sets this CPU lacks (" +
                           names(missing) +
                           "), e.g. built with -march=native on another machine; rebuild it here "
                           "(bash scripts/setup.sh) or configure with -DRESID_MARCH=x86-64-v2\n";
  [[maybe_unused]] ssize_t written = ::write(2, line.data(), line.size());
  _exit(2);
}

}  // namespace

std::string missing_cpu_features() {
  return names(missing_bits());
}
std::string compiled_cpu_features() {
  return names(detail::kCompiledCpuFeatures);
}

}  // namespace resid
