// Per-feature standardisation z = (x - mean) / scale, fitted from sufficient statistics (float64 sums over
// blocks), so it works the same in memory and out of core.
#pragma once
#include <Eigen/Core>

#include "probes/design_matrix.h"

namespace resid::probes {

struct Standardiser {
  Eigen::VectorXd mean;   // [d]
  Eigen::VectorXd scale;  // [d] population standard deviation; 1 for constant features (they stay 0)

  static Standardiser fit(const DesignMatrix& x);
  // The identity (mean 0, scale 1) for d features.
  static Standardiser identity(int64_t d);
  void apply(MatrixMap x) const;  // in place, rows of x
};

}  // namespace resid::probes
