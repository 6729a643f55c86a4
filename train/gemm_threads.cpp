#include "train/gemm_threads.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>

namespace resid::train {

int gemm_threads_for(const std::vector<int>& widths, int64_t batch_rows) {
  int64_t largest = 0;
  for (size_t i = 0; i + 1 < widths.size(); ++i)
    largest = std::max(largest, int64_t(widths[i]) * widths[i + 1]);
  return largest * batch_rows < kParallelGemmMinWork ? 1 : omp_get_max_threads();
}

GemmThreads::GemmThreads(int threads) {
  // Eigen reports its setting resolved (OpenMP's count when unset); equal to OpenMP's, it is taken as unset.
  const int current = Eigen::nbThreads();
  previous_ = current == omp_get_max_threads() ? 0 : current;
  Eigen::setNbThreads(threads);
}

GemmThreads::~GemmThreads() {
  Eigen::setNbThreads(previous_);
}

}  // namespace resid::train
