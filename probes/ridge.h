// Ridge regression from sufficient statistics, minimising
//   (1 / 2n) sum_i ||y_i - W x_i - b||^2 + (lambda / 2) ||W||^2      (intercept not penalised)
// i.e. W^T = (Xc^T Xc / n + lambda I)^-1 Xc^T Yc / n with centred Xc, Yc. The statistics (X^T X, X^T Y, sums)
// are accumulated in float64 over blocks, so in-memory and streamed data give the same fit. One symmetric
// eigendecomposition Xc^T Xc / n = V S V^T serves every lambda: W^T = V (S + lambda)^-1 V^T Xc^T Yc / n.
// scikit-learn's Ridge(alpha) is the same problem with alpha = n lambda.
#pragma once
#include <Eigen/Core>
#include <vector>

#include "probes/linear_model.h"

namespace resid::probes {

struct RidgeStats {
  double n = 0;
  Eigen::VectorXd x_sum;  // [d]
  Eigen::MatrixXd xtx;    // [d, d]
  Eigen::MatrixXd xty;    // [d, t]
  Eigen::VectorXd y_sum;  // [t]
  Eigen::VectorXd y_sq;   // [t] sum of squares per target

  RidgeStats(int64_t d = 0, int64_t t = 0);
  RidgeStats& operator+=(const RidgeStats& o);
  RidgeStats& operator-=(const RidgeStats& o);
};

// One pass over x: row r is added to stats[group[r]] (group -1: skipped). y: [rows, t] targets.
std::vector<RidgeStats> ridge_stats(const DesignMatrix& x, const Eigen::MatrixXd& y,
                                    const std::vector<int>& group, int n_groups);

class RidgePath {
 public:
  explicit RidgePath(const RidgeStats& train);  // the one eigendecomposition
  LinearModel solve(double lambda) const;

 private:
  Eigen::VectorXd x_mean_, y_mean_, eigenvalues_;
  Eigen::MatrixXd eigenvectors_;  // [d, d]
  Eigen::MatrixXd projected_;     // V^T Xc^T Yc / n, [d, t]
};

// The statistics of the features scaled by f (x_j -> f_j x_j); the targets' statistics are unchanged.
RidgeStats scale_features(const RidgeStats& s, const Eigen::VectorXd& f);

// Mean over targets of the mean squared error of `m` on the rows summarised by `held`, from the statistics
// alone (no pass over the data).
double stats_mse(const RidgeStats& held, const LinearModel& m);

}  // namespace resid::probes
