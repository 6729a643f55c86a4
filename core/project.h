// The projection every Linear layer does: out = x · Wᵀ, with W in the checkpoint's layout [out_features,
// in_features].
//
// Why not just `x * w.transpose()`: with a few rows (a KV-cached decode step has one) Eigen computes a
// matrix-vector product, and it runs that on one thread however many it is given. A decode step of a 110M
// model streams 438 MB of weights (340 MB of blocks, 98 MB of unembedding) through such products, so it is
// bound by one core's memory bandwidth. Split by output features across the OpenMP threads, each thread
// streams its own rows of W: the same dot products, on every core. Many rows go to the build's GEMM
// (RESID_GEMM: OpenBLAS or Eigen's own), which threads itself on the same OpenMP threads.
#pragma once
#include <string>

#include "core/tensor.h"

namespace resid {

// Rows at or below which project() splits W across threads (when W is big enough to pay for waking them).
inline constexpr Eigen::Index kSplitProjectionRows = 8;

// [rows, out_features]. x.cols() must equal W's in_features (a shape bug, so std::invalid_argument).
RowMatrix project(const RowMatrix& x, const ConstMatrixMap& w);

// What this build's projections run on: "eigen", or "openblas (" + OpenBLAS's build and the kernels it chose
// for this CPU + ")". The benchmarks print it.
std::string projection_gemm();

}  // namespace resid
