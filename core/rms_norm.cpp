#include "core/rms_norm.h"

namespace resid {

void rms_scale(const RowMatrix& x, float eps, Eigen::VectorXf& scale) {
  scale.resize(x.rows());
  const float inv_d = 1.0f / static_cast<float>(x.cols());
#pragma omp parallel for schedule(static) if (x.size() > (1 << 16))
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    // Left-to-right, not Eigen's alignment-dependent vectorised reduction: the same row gives the same scale
    // wherever it sits in a batch.
    const float* row = x.data() + r * x.cols();
    float sum = 0.0f;
    for (Eigen::Index j = 0; j < x.cols(); ++j) sum += row[j] * row[j];
    scale[r] = std::sqrt(sum * inv_d + eps);
  }
}

void rms_normalize(const RowMatrix& x, const Eigen::VectorXf& scale, RowMatrix& out) {
  out.resize(x.rows(), x.cols());
#pragma omp parallel for schedule(static) if (x.size() > (1 << 16))
  for (Eigen::Index r = 0; r < x.rows(); ++r) out.row(r) = x.row(r) / scale[r];
}

void apply_norm_weight(RowMatrix& out, const Tensor& w) {
  const auto weight = w.vector().transpose().array();
#pragma omp parallel for schedule(static) if (out.size() > (1 << 16))
  for (Eigen::Index r = 0; r < out.rows(); ++r) out.row(r).array() *= weight;
}

}  // namespace resid
