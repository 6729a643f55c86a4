#include "probes/linear_model.h"

#include <cmath>

#include "probes/row_kernels.h"

namespace resid::probes {

Eigen::MatrixXd LinearModel::scores(const DesignMatrix& x) const {
  Eigen::MatrixXd out(x.rows(), w.rows());
  const RowMatrix wf = w.cast<float>();  // [k, d]
  const PackedWeights<float> packed(wf.data(), wf.rows(), wf.cols());
  x.for_each_block([&](int64_t first, ConstMatrixMap block) {
    const Eigen::Index tiles = (block.rows() + 1023) / 1024;
#pragma omp parallel for schedule(dynamic) if (tiles > 1)
    for (Eigen::Index t = 0; t < tiles; ++t) {
      const Eigen::Index r0 = t * 1024, m = std::min<Eigen::Index>(1024, block.rows() - r0);
      RowMatrix z(m, wf.rows());  // [m, k]
      score_block(block.data() + r0 * block.cols(), m, packed, z.data());
      out.middleRows(first + r0, m) = z.cast<double>().rowwise() + b.transpose();
    }
  });
  return out;
}

std::vector<int32_t> predict_classes(const Eigen::MatrixXd& scores) {
  std::vector<int32_t> out(scores.rows());
  for (Eigen::Index r = 0; r < scores.rows(); ++r) {
    if (scores.cols() == 1) {
      out[r] = scores(r, 0) > 0 ? 1 : 0;
    } else {
      Eigen::Index best;
      scores.row(r).maxCoeff(&best);
      out[r] = static_cast<int32_t>(best);
    }
  }
  return out;
}

Eigen::MatrixXd class_probabilities(const Eigen::MatrixXd& scores) {
  if (scores.cols() == 1) {
    Eigen::MatrixXd p(scores.rows(), 2);
    for (Eigen::Index r = 0; r < scores.rows(); ++r) {
      p(r, 1) = 1.0 / (1.0 + std::exp(-scores(r, 0)));
      p(r, 0) = 1.0 - p(r, 1);
    }
    return p;
  }
  Eigen::MatrixXd p = scores;
  for (Eigen::Index r = 0; r < p.rows(); ++r) {
    p.row(r).array() -= p.row(r).maxCoeff();
    p.row(r) = p.row(r).array().exp().matrix();
    p.row(r) /= p.row(r).sum();
  }
  return p;
}

}  // namespace resid::probes
