// L2-regularised logistic regression (binary: sigmoid, one weight row; multiclass: softmax, one row per
// class) minimising   mean_i loss_i + (lambda / 2) ||W||^2   (the intercept is not penalised) by L-BFGS with
// full-batch gradients accumulated in float64 over blocks of the design matrix, so a matrix streamed from
// disk chunk by chunk reaches the same optimum as one held in memory. scikit-learn's LogisticRegression(C) is
// the same problem with C = 1 / (n lambda).
#pragma once
#include <cstdint>
#include <vector>

#include "probes/lbfgs.h"
#include "probes/linear_model.h"

namespace resid::probes {

struct LogisticOptions {
  double lambda = 1e-3;
  int max_iter = 1000;
  // Converged when ||grad||_2 <= tol * mu * max(1, ||W||_2), so that by mu-strong convexity the coefficients
  // lie within about tol (relative) of the optimum; mu = max(lambda, a tenth of the smallest curvature L-BFGS
  // has seen along its recent steps). mu = lambda alone would be a proof, but ~100x stricter than tol.
  double tol = 1e-4;
  const LinearModel* warm_start = nullptr;  // start from this model (same shape) instead of zero
  std::function<void(int, double, double)> on_iter;
};

// y: class ids in [0, n_classes), one per row of x. n_classes >= 2.
LinearModel fit_logistic(const DesignMatrix& x, const std::vector<int32_t>& y, int n_classes,
                         const LogisticOptions& options, LbfgsReport* report = nullptr);

}  // namespace resid::probes
