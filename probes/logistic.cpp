#include "probes/logistic.h"

#include <omp.h>

#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "probes/row_kernels.h"

namespace resid::probes {

namespace {

constexpr Eigen::Index kTile = 1024;  // rows whose float32 gradient is summed before adding it into float64

double log1p_exp(double z) {
  return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

// Loss sum and gradient sums over all rows for parameters (w [k, d], b [k]); k = 1 means binary.
struct Pass {
  double loss = 0;
  Eigen::MatrixXd gw;  // [k, d]
  Eigen::VectorXd gb;  // [k]
};

// d loss / d score for one row with scores z [k] (intercept not yet added), class y; adds the row's loss.
template <typename Scalar>
void row_residual(const Scalar* z, Eigen::Index k, const Eigen::VectorXd& b, int32_t y, Scalar* r,
                  double& loss) {
  if (k == 1) {
    const double s = double(z[0]) + b[0];
    loss += log1p_exp(y == 1 ? -s : s);
    r[0] = static_cast<Scalar>(1.0 / (1.0 + std::exp(-s)) - (y == 1 ? 1.0 : 0.0));
    return;
  }
  double mx = -INFINITY;
  for (Eigen::Index c = 0; c < k; ++c) mx = std::max(mx, double(z[c]) + b[c]);
  double sum = 0;
  for (Eigen::Index c = 0; c < k; ++c) {
    const double e = std::exp(double(z[c]) + b[c] - mx);
    r[c] = static_cast<Scalar>(e);
    sum += e;
  }
  loss += mx + std::log(sum) - (double(z[y]) + b[y]);
  for (Eigen::Index c = 0; c < k; ++c) r[c] = static_cast<Scalar>(double(r[c]) / sum - (c == y ? 1.0 : 0.0));
}

constexpr Eigen::Index kPanel =
    64;  // rows scored, then differentiated, while they sit in L2 (192 KB at d 768)

// m consecutive rows x [m, d] (m <= kPanel): scores z = x W^T, residuals r, then g [k, d] += r^T x and
// gb [k] += the residuals' column sums. The panel is read from memory once, by the scores; the gradient reads
// it again from L2 and meanwhile prefetches the next panel (`next`, or null), so the next scores find their
// rows in cache: a pass then costs about what reading the data costs. (Eigen's GEMMs for these shapes,
// [m, d] x [d, k] with k ~ 10, spent most of their time packing X: a full copy of X per product.)
template <typename Scalar>
void fused_panel(const Scalar* x, Eigen::Index m, const PackedWeights<Scalar>& w, const Eigen::VectorXd& b,
                 const int32_t* y, const Scalar* next, Scalar* z, Scalar* r, Scalar* g, double* gb,
                 double& loss) {
  const Eigen::Index k = w.k, d = w.d;
  score_block(x, m, w, z);
  for (Eigen::Index i = 0; i < m; ++i) {
    row_residual(z + i * k, k, b, y[i], r + i * k, loss);
    for (Eigen::Index c = 0; c < k; ++c) gb[c] += double(r[i * k + c]);
  }
  add_outer_block(x, m, d, r, k, g, next);
}

// Scalar = float: float32 products over a tile, float64 softmax, the tile's gradient added into float64
// accumulators (fast; the objective is then exact to about 1e-7 relative). Scalar = double: the tile is
// widened and everything is float64, for the last iterations once float32 rounding stops the line search.
template <typename Scalar>
Pass data_pass(const DesignMatrix& x, const std::vector<int32_t>& y, const Eigen::MatrixXd& w,
               const Eigen::VectorXd& b) {
  using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Index k = w.rows(), d = w.cols();
  const Mat wd = w.cast<Scalar>();  // [k, d]
  const PackedWeights<Scalar> ws(wd.data(), k, d);
  const int threads = omp_get_max_threads();
  std::vector<Pass> parts(threads);
  for (Pass& p : parts) p.gw = Eigen::MatrixXd::Zero(k, d), p.gb = Eigen::VectorXd::Zero(k);
  x.for_each_block([&](int64_t first, ConstMatrixMap block) {
    const Eigen::Index tiles = (block.rows() + kTile - 1) / kTile;
    // Small blocks stay on one thread: a parallel region costs more than their products.
    const bool parallel = tiles > 1 && block.rows() * d * k > (1 << 20);
#pragma omp parallel if (parallel)
    {
      Pass& p = parts[omp_get_thread_num()];
      Mat g(k, d), widened;                              // [k, d] tile gradient; [m, d] float64 tile
      std::vector<Scalar> z(kPanel * k), r(kPanel * k);  // [kPanel, k]
#pragma omp for schedule(dynamic)
      for (Eigen::Index t = 0; t < tiles; ++t) {
        const Eigen::Index r0 = t * kTile, m = std::min(kTile, block.rows() - r0);
        const Scalar* xt;
        if constexpr (std::is_same_v<Scalar, float>) {
          xt = block.data() + r0 * d;
        } else {
          widened = block.middleRows(r0, m).template cast<Scalar>();
          xt = widened.data();
        }
        g.setZero();
        const int32_t* yt = y.data() + first + r0;
        for (Eigen::Index i = 0; i < m; i += kPanel) {
          const Eigen::Index rows = std::min(kPanel, m - i);
          // Prefetch only a whole next panel of this tile: the next tile may be another thread's.
          const Scalar* next = i + rows + kPanel <= m ? xt + (i + rows) * d : nullptr;
          fused_panel(xt + i * d, rows, ws, b, yt + i, next, z.data(), r.data(), g.data(), p.gb.data(),
                      p.loss);
        }
        p.gw += g.template cast<double>();
      }
    }
  });
  Pass total = std::move(parts[0]);
  for (int i = 1; i < threads; ++i) {
    total.loss += parts[i].loss;
    total.gw += parts[i].gw;
    total.gb += parts[i].gb;
  }
  return total;
}

}  // namespace

LinearModel fit_logistic(const DesignMatrix& x, const std::vector<int32_t>& y, int n_classes,
                         const LogisticOptions& options, LbfgsReport* report) {
  const int64_t n = x.rows(), d = x.cols();
  if (n < 1) throw InputError("logistic regression: no training examples");
  if (static_cast<int64_t>(y.size()) != n)
    throw InputError("logistic regression: " + std::to_string(y.size()) + " labels for " + std::to_string(n) +
                     " examples");
  if (n_classes < 2) throw InputError("logistic regression needs at least 2 classes");
  if (!(options.lambda > 0)) throw InputError("logistic regression: lambda must be positive");
  for (int32_t v : y)
    if (v < 0 || v >= n_classes)
      throw InputError("logistic regression: class id " + std::to_string(v) + " out of range");
  const Eigen::Index k = n_classes == 2 ? 1 : n_classes;
  const Eigen::Index n_w = k * d;
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(n_w + k);  // [W row-major, b]
  if (options.warm_start && options.warm_start->w.rows() == k && options.warm_start->w.cols() == d) {
    for (Eigen::Index c = 0; c < k; ++c) theta.segment(c * d, d) = options.warm_start->w.row(c).transpose();
    theta.tail(k) = options.warm_start->b;
  }
  const double lambda = options.lambda, inv_n = 1.0 / static_cast<double>(n);
  auto unpack = [&](const Eigen::VectorXd& t, Eigen::MatrixXd& w, Eigen::VectorXd& b) {
    w.resize(k, d);
    for (Eigen::Index c = 0; c < k; ++c) w.row(c) = t.segment(c * d, d).transpose();
    b = t.tail(k);
  };
  bool precise = false;
  auto objective = [&](const Eigen::VectorXd& t, Eigen::VectorXd& grad) {
    Eigen::MatrixXd w;
    Eigen::VectorXd b;
    unpack(t, w, b);
    const Pass p = precise ? data_pass<double>(x, y, w, b) : data_pass<float>(x, y, w, b);
    grad.resize(t.size());
    for (Eigen::Index c = 0; c < k; ++c)
      grad.segment(c * d, d) = p.gw.row(c).transpose() * inv_n + lambda * w.row(c).transpose();
    grad.tail(k) = p.gb * inv_n;
    return p.loss * inv_n + 0.5 * lambda * t.head(n_w).squaredNorm();
  };
  auto done = [&](const Eigen::VectorXd& t, double grad_norm) {
    return grad_norm <= options.tol * lambda * std::max(1.0, t.head(n_w).norm());
  };
  LbfgsOptions lo;
  lo.max_iter = options.max_iter;
  lo.on_iter = options.on_iter;
  // float32 logits: f is exact to about 1e-7 relative, so steps are judged by the gradient below 1e-6.
  lo.epsilon = 1e-6;
  lo.stall_window = 10;
  lo.max_backtracks = 8;
  LbfgsReport r = minimise_lbfgs(objective, done, theta, lo);
  if (r.stop_reason == "line search stalled") {
    // Float32 passes cannot resolve the objective any further: finish with float64 passes.
    precise = true;
    lo.epsilon = 1e-12;
    lo.stall_window = 0;
    lo.max_backtracks = 40;
    lo.max_iter = std::max(0, options.max_iter - r.iterations);
    const LbfgsReport fine = minimise_lbfgs(objective, done, theta, lo);
    r.iterations += fine.iterations;
    r.evaluations += fine.evaluations;
    r.converged = fine.converged;
    r.objective = fine.objective, r.grad_norm = fine.grad_norm;
    r.stop_reason = fine.stop_reason;
    r.float64_iterations = fine.iterations;
  }
  if (report) *report = r;
  LinearModel model;
  unpack(theta, model.w, model.b);
  return model;
}

}  // namespace resid::probes
