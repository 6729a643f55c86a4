#include "probes/standardiser.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace resid::probes {

Standardiser Standardiser::fit(const DesignMatrix& x) {
  const int64_t d = x.cols();
  if (x.rows() < 1) throw InputError("standardiser: no examples to fit");
  // Sums around a shift (the first row) so that features with a large mean and a small spread do not lose
  // their variance to cancellation.
  Eigen::VectorXd shift, sum = Eigen::VectorXd::Zero(d), sum_sq = Eigen::VectorXd::Zero(d);
  x.for_each_block([&](int64_t, ConstMatrixMap block) {
    if (shift.size() == 0) shift = block.row(0).transpose().cast<double>();
    for (Eigen::Index r0 = 0; r0 < block.rows(); r0 += 256) {
      const Eigen::Index m = std::min<Eigen::Index>(256, block.rows() - r0);
      const Eigen::MatrixXd t = block.middleRows(r0, m).cast<double>().rowwise() - shift.transpose();  // [m, d]
      sum += t.colwise().sum().transpose();
      sum_sq += t.array().square().matrix().colwise().sum().transpose();
    }
  });
  const double n = static_cast<double>(x.rows());
  Standardiser s;
  const Eigen::VectorXd m = sum / n;
  s.mean = shift + m;
  s.scale.resize(d);
  for (int64_t j = 0; j < d; ++j) {
    const double var = std::max(0.0, sum_sq[j] / n - m[j] * m[j]);
    const double sd = std::sqrt(var);
    // Constant features (sd at rounding level of the mean) carry no information; scale 1 keeps them at 0.
    s.scale[j] = sd > 1e-12 * std::max(1.0, std::abs(s.mean[j])) ? sd : 1.0;
  }
  return s;
}

Standardiser Standardiser::identity(int64_t d) {
  return {Eigen::VectorXd::Zero(d), Eigen::VectorXd::Ones(d)};
}

void Standardiser::apply(MatrixMap x) const {
  const Eigen::RowVectorXf m = mean.transpose().cast<float>();
  const Eigen::RowVectorXf inv = scale.cwiseInverse().transpose().cast<float>();
#pragma omp parallel for schedule(static) if (x.size() > (1 << 18))
  for (Eigen::Index r = 0; r < x.rows(); ++r) x.row(r) = (x.row(r) - m).cwiseProduct(inv);
}

}  // namespace resid::probes
