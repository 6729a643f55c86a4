#include "probes/standardiser.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "probes/row_kernels.h"

namespace resid::probes {

namespace {

constexpr Eigen::Index kRows = 64;  // rows summed in registers before the sums go to memory (192 KB at d 768)

// Adds the sums and sums of squares of x [m, d] - shift for the features [j0, j1) into s and q (float64), V
// float vectors of each row at a time, each widened and accumulated in registers down all m rows, so the
// float64 sums are loaded and stored once per m rows; the row-at-a-time loop spent its time on those loads
// and stores. Going down the columns reads memory out of order, so the rows come from L2: `next` brings the
// next tile there meanwhile (without it the kernel waited on memory and ran slower than the row-at-a-time
// loop).
template <int V>
void add_moments(const float* x, Eigen::Index m, Eigen::Index d, Eigen::Index j0, Eigen::Index j1,
                 const double* shift, double* s, double* q, PrefetchStream& next) {
  using Wide = SimdOf<double, 2 * kVectorBytes>::type;  // one float vector, widened to float64
  constexpr Eigen::Index W = kLanes<float>;
  for (Eigen::Index j = j0; j + V * W <= j1; j += V * W) {
    Wide sv[V] = {}, qv[V] = {}, hv[V];
    for (int v = 0; v < V; ++v) std::memcpy(&hv[v], shift + j + v * W, sizeof(Wide));
    for (Eigen::Index i = 0; i < m; ++i) {
      next.step();
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        const Wide a = __builtin_convertvector(load_vector(x + i * d + j + v * W), Wide) - hv[v];
        sv[v] += a, qv[v] += a * a;
      }
    }
    for (int v = 0; v < V; ++v)
      for (Eigen::Index l = 0; l < W; ++l) s[j + v * W + l] += sv[v][l], q[j + v * W + l] += qv[v][l];
  }
}

// Four vectors of a row at a time (512 bytes at AVX-512: fitting 20,000 x 768 took 3.7 ms against 4.1 ms with
// two), then one at a time, then the tail of d.
constexpr int kMomentVectors = 4;

// The features add_moments covers in groups of kMomentVectors vectors ([0, wide)) and in single vectors
// ([wide, full)); the rest is the scalar tail.
struct MomentSpans {
  static constexpr Eigen::Index kVector = kLanes<float>, kGroup = kMomentVectors * kVector;  // floats
  Eigen::Index wide, full;
  explicit MomentSpans(Eigen::Index d) : wide(d / kGroup * kGroup), full(d / kVector * kVector) {}
  // How many times add_moments steps its prefetch stream per row.
  Eigen::Index steps_per_row() const { return wide / kGroup + (full - wide) / kVector; }
};

void add_moments(const float* x, Eigen::Index m, Eigen::Index d, const double* shift, double* s, double* q,
                 PrefetchStream& next) {
  const auto [wide, full] = MomentSpans(d);
  add_moments<kMomentVectors>(x, m, d, 0, wide, shift, s, q, next);
  add_moments<1>(x, m, d, wide, full, shift, s, q, next);
  for (Eigen::Index j = full; j < d; ++j)  // the tail of d
    for (Eigen::Index i = 0; i < m; ++i) {
      const double v = double(x[i * d + j]) - shift[j];
      s[j] += v, q[j] += v * v;
    }
}

}  // namespace

Standardiser Standardiser::fit(const DesignMatrix& x) {
  const int64_t d = x.cols();
  if (x.rows() < 1) throw InputError("standardiser: no examples to fit");
  // Sums around a shift (the first row) so that features with a large mean and a small spread do not lose
  // their variance to cancellation.
  Eigen::VectorXd shift, sum = Eigen::VectorXd::Zero(d), sum_sq = Eigen::VectorXd::Zero(d);
  x.for_each_block([&](int64_t, ConstMatrixMap block) {
    if (shift.size() == 0) shift = block.row(0).transpose().cast<double>();
    const Eigen::Index tiles = (block.rows() + kRows - 1) / kRows;
    const Eigen::Index moment_steps = MomentSpans(d).steps_per_row();
    // One pass over each row, float64 sums per thread (no float64 copy of the block).
#pragma omp parallel if (tiles > 1 && block.size() > (1 << 18))
    {
      Eigen::VectorXd s = Eigen::VectorXd::Zero(d), q = Eigen::VectorXd::Zero(d);
#pragma omp for schedule(static)
      for (Eigen::Index t = 0; t < tiles; ++t) {
        const Eigen::Index r0 = t * kRows, m = std::min(kRows, block.rows() - r0);
        const Eigen::Index next_rows = std::clamp<Eigen::Index>(block.rows() - r0 - m, 0, kRows);
        PrefetchStream next(block.data() + (r0 + m) * d, next_rows * d * Eigen::Index(sizeof(float)),
                            m * moment_steps);
        add_moments(block.data() + r0 * d, m, d, shift.data(), s.data(), q.data(), next);
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
