#include "probes/ridge.h"

#include <omp.h>

#include <Eigen/Eigenvalues>

#include "core/error.h"

namespace resid::probes {

RidgeStats::RidgeStats(int64_t d, int64_t t)
    : x_sum(Eigen::VectorXd::Zero(d)),
      xtx(Eigen::MatrixXd::Zero(d, d)),
      xty(Eigen::MatrixXd::Zero(d, t)),
      y_sum(Eigen::VectorXd::Zero(t)),
      y_sq(Eigen::VectorXd::Zero(t)) {}

RidgeStats& RidgeStats::operator+=(const RidgeStats& o) {
  n += o.n, x_sum += o.x_sum, xtx += o.xtx, xty += o.xty, y_sum += o.y_sum, y_sq += o.y_sq;
  return *this;
}
RidgeStats& RidgeStats::operator-=(const RidgeStats& o) {
  n -= o.n, x_sum -= o.x_sum, xtx -= o.xtx, xty -= o.xty, y_sum -= o.y_sum, y_sq -= o.y_sq;
  return *this;
}

std::vector<RidgeStats> ridge_stats(const DesignMatrix& x, const Eigen::MatrixXd& y,
                                    const std::vector<int>& group, int n_groups) {
  const int64_t d = x.cols(), t = y.cols();
  if (y.rows() != x.rows() || static_cast<int64_t>(group.size()) != x.rows())
    throw InputError("ridge: targets or groups do not match the examples");
  const int threads = omp_get_max_threads();
  // Per thread and group; the Gram matrix is accumulated as float GEMMs over tiles of 512 rows added into
  // float64 (the tiles keep float rounding at the level of 512 terms).
  std::vector<std::vector<RidgeStats>> parts(threads, std::vector<RidgeStats>(n_groups, RidgeStats(d, t)));
  constexpr Eigen::Index kTile = 512;
  x.for_each_block([&](int64_t first, ConstMatrixMap block) {
    const Eigen::Index tiles = (block.rows() + kTile - 1) / kTile;
#pragma omp parallel for schedule(dynamic) if (tiles > 1)
    for (Eigen::Index ti = 0; ti < tiles; ++ti) {
      auto& mine = parts[omp_get_thread_num()];
      const Eigen::Index r0 = ti * kTile, m = std::min(kTile, block.rows() - r0);
      for (int g = 0; g < n_groups; ++g) {
        std::vector<Eigen::Index> rows;
        for (Eigen::Index i = 0; i < m; ++i)
          if (group[first + r0 + i] == g) rows.push_back(r0 + i);
        if (rows.empty()) continue;
        RowMatrix xt(static_cast<Eigen::Index>(rows.size()), d);  // [rows, d]
        Eigen::MatrixXd yt(static_cast<Eigen::Index>(rows.size()), t);
        for (size_t i = 0; i < rows.size(); ++i) {
          xt.row(i) = block.row(rows[i]);
          yt.row(i) = y.row(first + rows[i]);
        }
        RidgeStats& s = mine[g];
        Eigen::MatrixXf gram = Eigen::MatrixXf::Zero(d, d);
        gram.selfadjointView<Eigen::Lower>().rankUpdate(xt.transpose());
        s.xtx.triangularView<Eigen::Lower>() += gram.cast<double>();
        const Eigen::MatrixXd xd = xt.cast<double>();
        s.xty += xd.transpose() * yt;
        s.x_sum += xd.colwise().sum().transpose();
        s.y_sum += yt.colwise().sum().transpose();
        s.y_sq += yt.array().square().matrix().colwise().sum().transpose();
        s.n += static_cast<double>(rows.size());
      }
    }
  });
  std::vector<RidgeStats> out = std::move(parts[0]);
  for (int i = 1; i < threads; ++i)
    for (int g = 0; g < n_groups; ++g) out[g] += parts[i][g];
  for (RidgeStats& s : out) s.xtx = s.xtx.selfadjointView<Eigen::Lower>();
  return out;
}

RidgePath::RidgePath(const RidgeStats& s) {
  if (s.n < 1) throw InputError("ridge: no training examples");
  x_mean_ = s.x_sum / s.n;
  y_mean_ = s.y_sum / s.n;
  const Eigen::MatrixXd cov = s.xtx / s.n - x_mean_ * x_mean_.transpose();    // Xc^T Xc / n
  const Eigen::MatrixXd cross = s.xty / s.n - x_mean_ * y_mean_.transpose();  // Xc^T Yc / n
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  eigenvalues_ = eig.eigenvalues().cwiseMax(0.0);  // rounding can leave tiny negatives
  eigenvectors_ = eig.eigenvectors();
  projected_ = eigenvectors_.transpose() * cross;
}

LinearModel RidgePath::solve(double lambda) const {
  if (!(lambda > 0)) throw InputError("ridge: lambda must be positive");
  const Eigen::VectorXd inv = (eigenvalues_.array() + lambda).inverse().matrix();
  const Eigen::MatrixXd wt = eigenvectors_ * (inv.asDiagonal() * projected_);  // [d, t]
  LinearModel m;
  m.w = wt.transpose();
  m.b = y_mean_ - m.w * x_mean_;
  return m;
}

RidgeStats scale_features(const RidgeStats& s, const Eigen::VectorXd& f) {
  RidgeStats out = s;
  out.x_sum = f.cwiseProduct(s.x_sum);
  out.xtx = f.asDiagonal() * s.xtx * f.asDiagonal();
  out.xty = f.asDiagonal() * s.xty;
  return out;
}

double stats_mse(const RidgeStats& s, const LinearModel& m) {
  if (s.n < 1) return 0;
  double total = 0;
  for (Eigen::Index j = 0; j < m.w.rows(); ++j) {
    const Eigen::VectorXd w = m.w.row(j).transpose();
    const double b = m.b[j];
    const double sse = s.y_sq[j] - 2 * w.dot(s.xty.col(j)) - 2 * b * s.y_sum[j] + w.dot(s.xtx * w) +
                       2 * b * w.dot(s.x_sum) + s.n * b * b;
    total += std::max(0.0, sse) / s.n;
  }
  return total / static_cast<double>(m.w.rows());
}

}  // namespace resid::probes
