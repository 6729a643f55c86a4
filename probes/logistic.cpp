#include "probes/logistic.h"

#include <omp.h>

#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "probes/row_kernels.h"
#include "probes/vector_exp.h"

namespace resid::probes {

namespace {

// The fraction of the observed curvature trusted as strong convexity in the stopping test.
constexpr double kCurvatureMargin = 0.1;

constexpr Eigen::Index kTile = 1024;  // rows whose float32 gradient is summed before adding it into float64

// Loss sum and gradient sums over all rows for parameters (w [k, d], b [k]); k = 1 means binary.
struct Pass {
  double loss = 0;
  Eigen::MatrixXd gw;  // [k, d]
  Eigen::VectorXd gb;  // [k]
};

// Rows scored, then differentiated, while they sit in L2 (96 KB at d 768). Measured with the next panel
// prefetched into L2: 32 rows ran the bench's 10-class fit in 0.345-0.364 s, 64 rows in 0.384-0.414 s (16
// rows as fast as 32, 8 slower).
constexpr Eigen::Index kPanel = 32;
// Binary panels are 8 rows (24 KB at d 768): there each vector of x feeds a single multiply-add in each
// kernel, so the gradient's second read of the panel is bound by where the panel sits, and 8 rows stay in L1
// where 32 did not. Bench sweep (12 binary hooks of 20,000 x 768, 2 at once, 1 thread each) on a Zen 5
// guest, min / median of 6 interleaved runs: 0.354 / 0.380 s with 32-row panels and 4 x 1 score tiles,
// 0.298 / 0.313 s with 4-row panels and the in-order score_one_class, 0.282 / 0.302 s with 8-row panels.
constexpr Eigen::Index kBinaryPanel = 8;
static_assert(kBinaryPanel <= kPanel, "the per-panel buffers hold kPanel rows");

// d loss / d score for the m <= kPanel rows of a panel with scores z [m, k] (intercept not yet added) and
// classes y: writes the residuals r [m, k], adds their column sums to gb [k] and the rows' losses to `loss`.
// k = 1 is binary. The exps go through vector_exp over the whole panel at once (`e` [m, k] float64 scratch);
// the softmax and the loss are float64 whatever Scalar is.
template <typename Scalar>
void panel_residuals(const Scalar* z, Eigen::Index m, Eigen::Index k, const Eigen::VectorXd& b,
                     const int32_t* y, Scalar* r, double* e, double* gb, double& loss) {
  if (k == 1) {
    for (Eigen::Index i = 0; i < m; ++i) e[i] = -std::abs(double(z[i]) + b[0]);
#pragma omp simd
    for (Eigen::Index i = 0; i < m; ++i) e[i] = vector_exp(e[i]);  // exp(-|s|), in (0, 1]
    for (Eigen::Index i = 0; i < m; ++i) {
      const double s = double(z[i]) + b[0], t = y[i] == 1 ? -s : s;
      loss += std::max(t, 0.0) + std::log1p(e[i]);  // log(1 + exp(t)), stable for either sign of t
      const double sigmoid = s >= 0 ? 1.0 / (1.0 + e[i]) : e[i] / (1.0 + e[i]);
      r[i] = static_cast<Scalar>(sigmoid - (y[i] == 1 ? 1.0 : 0.0));
      gb[0] += double(r[i]);
    }
    return;
  }
  double top[kPanel];  // each row's largest score
  for (Eigen::Index i = 0; i < m; ++i) {
    double mx = -INFINITY;
    for (Eigen::Index c = 0; c < k; ++c) mx = std::max(mx, double(z[i * k + c]) + b[c]);
    for (Eigen::Index c = 0; c < k; ++c) e[i * k + c] = double(z[i * k + c]) + b[c] - mx;  // <= 0
    top[i] = mx;
  }
#pragma omp simd
  for (Eigen::Index j = 0; j < m * k; ++j) e[j] = vector_exp(e[j]);
  for (Eigen::Index i = 0; i < m; ++i) {
    const double* ei = e + i * k;
    double sum = 0;
    for (Eigen::Index c = 0; c < k; ++c) sum += ei[c];
    loss += top[i] + std::log(sum) - (double(z[i * k + y[i]]) + b[y[i]]);
    for (Eigen::Index c = 0; c < k; ++c) {
      r[i * k + c] = static_cast<Scalar>(ei[c] / sum - (c == y[i] ? 1.0 : 0.0));
      gb[c] += double(r[i * k + c]);
    }
  }
}

// m consecutive rows x [m, d] (m <= kPanel): scores z = x W^T, residuals r, then g [k, d] += r^T x and
// gb [k] += the residuals' column sums. The panel is read from memory once, by the scores; the gradient reads
// it again from L2. Both prefetch half of the next panel (`next` [next_rows, d], or null), so the next scores
// find their rows in cache and the memory's reads overlap the arithmetic. (Eigen's GEMMs for these shapes,
// [m, d] x [d, k] with k ~ 10, spent most of their time packing X: a full copy of X per product.)
template <typename Scalar>
void fused_panel(const Scalar* x, Eigen::Index m, const PackedWeights<Scalar>& w, const Eigen::VectorXd& b,
                 const int32_t* y, const Scalar* next, Eigen::Index next_rows, Scalar* z, Scalar* r,
                 double* e, Scalar* g, double* gb, double& loss) {
  const Eigen::Index k = w.k, d = w.d;
  const Eigen::Index bytes = next ? next_rows * d * Eigen::Index(sizeof(Scalar)) : 0,
                     half = bytes / 2 / 64 * 64;
  PrefetchStream during_scores(next, half, score_block_steps(m, w));
  PrefetchStream during_gradient(reinterpret_cast<const char*>(next) + half, bytes - half,
                                 add_outer_block_steps<Scalar>(m, d, k));
  score_block(x, m, w, z, during_scores);
  panel_residuals(z, m, k, b, y, r, e, gb, loss);
  add_outer_block(x, m, d, r, k, g, during_gradient);
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
  const Eigen::Index panel = k == 1 ? kBinaryPanel : kPanel;
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
      std::vector<Scalar> z(kPanel * k), r(kPanel * k);  // [kPanel, k] scores, residuals
      std::vector<double> e(kPanel * k);                 // [kPanel, k] exps
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
        for (Eigen::Index i = 0; i < m; i += panel) {
          const Eigen::Index rows = std::min(panel, m - i);
          // Prefetch only within this tile: the next tile may be another thread's.
          const Eigen::Index next_rows = std::min(panel, m - i - rows);
          const Scalar* next = next_rows > 0 ? xt + (i + rows) * d : nullptr;
          fused_panel(xt + i * d, rows, ws, b, yt + i, next, next_rows, z.data(), r.data(), e.data(),
                      g.data(), p.gb.data(), p.loss);
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
  // ||W - W*|| <= ||grad|| / mu when f is mu-strongly convex. mu >= lambda is a proof, but the data term's
  // curvature usually dwarfs lambda and the proof then asks for ~100x more accuracy than tol. So mu is taken
  // as the larger of lambda and a tenth of the smallest curvature L-BFGS has seen along its last steps: an
  // estimate, off by up to 5x on ill-conditioned problems (tests/probes: ToleranceBoundsTheDistance...),
  // hence the tenfold margin.
  auto done = [&](const Eigen::VectorXd& t, double grad_norm, double curvature) {
    const double mu = std::max(lambda, kCurvatureMargin * curvature);
    return grad_norm <= options.tol * mu * std::max(1.0, t.head(n_w).norm());
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
