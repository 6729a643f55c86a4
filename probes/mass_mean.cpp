#include "probes/mass_mean.h"

#include "core/error.h"

namespace resid::probes {

Eigen::MatrixXd class_means(const DesignMatrix& x, const std::vector<int32_t>& y, int n_classes) {
  Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(n_classes, x.cols());
  Eigen::VectorXd counts = Eigen::VectorXd::Zero(n_classes);
  x.for_each_block([&](int64_t first, ConstMatrixMap block) {
    for (Eigen::Index r = 0; r < block.rows(); ++r) {
      const int32_t c = y[first + r];
      sums.row(c) += block.row(r).cast<double>();
      counts[c] += 1;
    }
  });
  for (int c = 0; c < n_classes; ++c) {
    if (counts[c] == 0)
      throw InputError("mass-mean probe: class " + std::to_string(c) + " has no training example");
    sums.row(c) /= counts[c];
  }
  return sums;
}

LinearModel fit_mass_mean(const DesignMatrix& x, const std::vector<int32_t>& y, int n_classes) {
  const Eigen::MatrixXd mu = class_means(x, y, n_classes);
  LinearModel m;
  if (n_classes == 2) {
    m.w = (mu.row(1) - mu.row(0));
    m.b = Eigen::VectorXd::Constant(1, -(mu.row(1).squaredNorm() - mu.row(0).squaredNorm()) / 2);
  } else {
    m.w = mu;
    m.b = -0.5 * mu.rowwise().squaredNorm();
  }
  return m;
}

}  // namespace resid::probes
