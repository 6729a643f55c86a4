// How many threads Eigen's matrix products use while training. Eigen splits any product above ~50k
// multiply-adds across every OpenMP thread; for the small products of a 2-64-64-3 MLP the threads' wake-up
// costs far more than the product (measured: a 3-arm spirals run took 1.1 s on one thread, 69 s on two busy
// cores). So a model whose largest product per step is small trains on one thread, a larger one on all of
// them. The choice is a function of the shapes and the OpenMP thread count only, so a run stays bit-identical
// when repeated with the same seed and thread count.
#pragma once
#include <cstdint>
#include <vector>

namespace resid::train {

// Multiply-adds of one Linear layer's forward product below which training runs its products on one thread.
inline constexpr int64_t kParallelGemmMinWork = int64_t(1) << 28;

// Threads for training `widths` with `batch_rows` rows per product: 1 below kParallelGemmMinWork, else the
// OpenMP maximum.
int gemm_threads_for(const std::vector<int>& widths, int64_t batch_rows);

// Sets Eigen's product thread count for its lifetime and restores the previous setting after.
class GemmThreads {
 public:
  explicit GemmThreads(int threads);
  ~GemmThreads();
  GemmThreads(const GemmThreads&) = delete;
  GemmThreads& operator=(const GemmThreads&) = delete;

 private:
  int previous_;  // 0: Eigen followed OpenMP's thread count
};

}  // namespace resid::train
