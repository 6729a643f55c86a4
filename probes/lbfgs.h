// Limited-memory BFGS for smooth convex objectives in float64, with a backtracking line search (Armijo, or
// approximate Wolfe below the objective's precision).
// Stops when the gradient norm reaches the caller's threshold (`converged`), after max_iter iterations, or
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
  // Called after each iteration with the iteration number, objective and gradient 2-norm.
  std::function<void(int, double, double)> on_iter;
};

struct LbfgsReport {
  int iterations = 0;
  int evaluations = 0;  // objective/gradient evaluations (each one pass over the data)
  bool converged = false;
  double objective = 0, grad_norm = 0;
  int float64_iterations = 0;  // of `iterations`, those run with float64 passes (logistic regression)
  std::string stop_reason;     // "gradient norm below tolerance", "max_iter reached", "line search stalled"
};

// Minimises f from x (updated in place). f(x, grad) returns the objective and writes the gradient.
// `done(x, grad_norm)` says whether the gradient is small enough.
LbfgsReport minimise_lbfgs(const std::function<double(const Eigen::VectorXd&, Eigen::VectorXd&)>& f,
                           const std::function<bool(const Eigen::VectorXd&, double)>& done,
                           Eigen::VectorXd& x, const LbfgsOptions& options);

}  // namespace resid::probes
