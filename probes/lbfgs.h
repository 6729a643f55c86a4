// Limited-memory BFGS for smooth convex objectives in float64, with a backtracking line search (Armijo, or
// approximate Wolfe below the objective's precision).
// Stops when the caller's test of the gradient norm says so (`converged`), after max_iter iterations, or
// when the line search can no longer decrease the objective or (with stall_window) the gradient norm stops
// falling (the gradient is then at the precision of its evaluation).
#pragma once
#include <Eigen/Core>
#include <functional>
#include <string>

namespace resid::probes {

struct LbfgsOptions {
  int max_iter = 1000;
  int history = 10;
  // A step that keeps f within epsilon * |f| and shrinks the gradient is accepted without the Armijo decrease
  // (approximate Wolfe, Hager & Zhang): epsilon is the relative precision of f.
  double epsilon = 1e-12;
  // > 0: stop ("line search stalled") when the gradient norm has not fallen below half its smallest value so
  // far for this many iterations. With a noisy f (float32 passes) the search can otherwise wander for
  // hundreds of iterations at the gradient's noise floor, every step accepted on rounding noise.
  int stall_window = 0;
  int max_backtracks = 40;
  // `done` is told the smallest curvature along the history's steps once it holds this many of them.
  int min_pairs_for_curvature = 3;
  // Called after each iteration with the iteration number, objective and gradient 2-norm.
  std::function<void(int, double, double)> on_iter;
};

struct LbfgsReport {
  int iterations = 0;
  int evaluations = 0;  // objective/gradient evaluations (each one pass over the data)
  bool converged = false;
  double objective = 0, grad_norm = 0;
  int float64_iterations = 0;  // of `iterations`, those run with float64 passes (logistic regression)
  std::string stop_reason;     // "tolerance reached", "max_iter reached", "line search stalled"
};

// Minimises f from x (updated in place). f(x, grad) returns the objective and writes the gradient.
// `done(x, grad_norm, curvature)` says whether x is near enough the minimum, given the gradient's norm and
// the smallest curvature s'y / s's seen along the last `history` steps (0 while fewer than
// min_pairs_for_curvature steps are kept), a measure of how strongly convex f is where the search goes.
LbfgsReport minimise_lbfgs(const std::function<double(const Eigen::VectorXd&, Eigen::VectorXd&)>& f,
                           const std::function<bool(const Eigen::VectorXd&, double, double)>& done,
                           Eigen::VectorXd& x, const LbfgsOptions& options);

}  // namespace resid::probes
