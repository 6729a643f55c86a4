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
    const Eigen::Index tiles = (block.rows() + 255) / 256;
    // One pass over each row, float64 sums per thread (no float64 copy of the block).
#pragma omp parallel if (tiles > 1 && block.size() > (1 << 18))
    {
      Eigen::VectorXd s = Eigen::VectorXd::Zero(d), q = Eigen::VectorXd::Zero(d);
      double *sp = s.data(), *qp = q.data();
      const double* shp = shift.data();
#pragma omp for schedule(static)
      for (Eigen::Index t = 0; t < tiles; ++t) {
        const Eigen::Index r1 = std::min<Eigen::Index>(block.rows(), (t + 1) * 256);
        for (Eigen::Index r = t * 256; r < r1; ++r) {
          const float* row = block.data() + r * d;
#pragma omp simd
          for (int64_t j = 0; j < d; ++j) {
            const double v = double(row[j]) - shp[j];
            sp[j] += v;
            qp[j] += v * v;
          }
        }
      }
#pragma omp critical
      {
        sum += s;
        sum_sq += q;
      }
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
