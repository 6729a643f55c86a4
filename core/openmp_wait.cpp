#include "core/openmp_wait.h"

#include <unistd.h>

#include <cstdlib>

namespace resid {

void use_short_openmp_spin(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (setenv("GOMP_SPINCOUNT", kOpenMpSpinCount, 1) != 0) return;  // unset, a restart would loop
  execv("/proc/self/exe", argv);
}

}  // namespace resid
