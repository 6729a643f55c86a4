#include "core/project.h"

#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#ifdef RESID_GEMM_OPENBLAS
#include <cblas.h>

#include <mutex>
#endif

namespace resid {

namespace {
// Below this many weights (1 MB of float) one thread streams W faster than a parallel region starts.
constexpr Eigen::Index kSplitMinWeights = Eigen::Index{1} << 18;
// Each thread's slice of output features starts on a multiple of this: whole cache lines of the output row.
constexpr Eigen::Index kSliceAlign = 16;

// Few rows: each thread computes the outputs of its own slice of W's rows.
RowMatrix split_by_output(const RowMatrix& x, const ConstMatrixMap& w, int threads) {
  RowMatrix out(x.rows(), w.rows());  // [rows, out_features]
  const Eigen::Index per_thread = (w.rows() + threads - 1) / threads;
  const Eigen::Index slice = (per_thread + kSliceAlign - 1) / kSliceAlign * kSliceAlign;
  const int slices = static_cast<int>((w.rows() + slice - 1) / slice);
#pragma omp parallel for num_threads(slices) schedule(static)
  for (int s = 0; s < slices; ++s) {
    const Eigen::Index first = s * slice, n = std::min(slice, w.rows() - first);
    out.middleCols(first, n).noalias() = x * w.middleRows(first, n).transpose();
  }
  return out;
}

#ifdef RESID_GEMM_OPENBLAS
// OpenBLAS's OpenMP build keeps per-thread work buffers indexed by the OpenMP thread number, which two teams
// started from two threads of ours (two forwards at once) would share: one GEMM at a time. A forward's GEMM
// uses every core it is given anyway.
std::mutex openblas_mutex;

// resid links OpenBLAS's OpenMP build, but the loader finds libopenblas.so.0 by name, and Debian's
// alternatives may point that name at the pthread build (a copied binary without the build tree's RUNPATH):
// its own thread pool would then compete with OpenMP's for the cores. Such a library is not used.
bool openblas_is_openmp() {
  static const bool openmp = openblas_get_parallel() == 2;
  return openmp;
}

RowMatrix gemm(const RowMatrix& x, const ConstMatrixMap& w) {
  if (!openblas_is_openmp()) return x * w.transpose();
  RowMatrix out(x.rows(), w.rows());  // [rows, out_features]
  const std::lock_guard<std::mutex> lock(openblas_mutex);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(x.rows()),
              static_cast<blasint>(w.rows()), static_cast<blasint>(x.cols()), 1.0f, x.data(),
              static_cast<blasint>(x.cols()), w.data(), static_cast<blasint>(w.cols()), 0.0f, out.data(),
              static_cast<blasint>(out.cols()));
  return out;
}
#else
RowMatrix gemm(const RowMatrix& x, const ConstMatrixMap& w) {
  return x * w.transpose();
}
#endif
}  // namespace

std::string projection_gemm() {
#ifdef RESID_GEMM_OPENBLAS
  if (!openblas_is_openmp())
    return std::string("eigen (the OpenBLAS loaded is not its OpenMP build: ") + openblas_get_config() + ")";
  return std::string("openblas (") + openblas_get_config() + ")";
#else
  return "eigen";
#endif
}

RowMatrix project(const RowMatrix& x, const ConstMatrixMap& w) {
  if (x.cols() != w.cols())
    throw std::invalid_argument("project: x has " + std::to_string(x.cols()) + " columns, W " +
                                std::to_string(w.cols()));
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (x.rows() <= kSplitProjectionRows) {
    if (threads == 1 || w.size() < kSplitMinWeights) return x * w.transpose();
    return split_by_output(x, w, threads);
  }
  return gemm(x, w);
}

}  // namespace resid
