// The unpacked row kernels (probes/row_kernels.h) against Eigen's product, over shapes that exercise the
// row and class blocks and every remainder (rows not a multiple of the block, odd class counts, k = 1 and its
// row-at-a-time kernel).
#include <gtest/gtest.h>

#include <random>

#include "core/tensor.h"
#include "probes/row_kernels.h"

using namespace resid;
using namespace resid::probes;

namespace {

template <typename Scalar>
void check_shapes(double tol) {
  using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  for (Eigen::Index m : {1, 3, 4, 5, 8, 11})
    for (Eigen::Index k : {1, 2, 3, 5, 6, 7, 10, 12, 13, 25})
      // d 300: the one-class kernel's groups of 8 vectors, then single vectors, then the tail.
      for (Eigen::Index d : {1, 7, 64, 77, 300}) {
        Mat x(m, d), w(k, d), z(m, k);
        for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<Scalar>(normal(rng));
        for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = static_cast<Scalar>(normal(rng));
        z.setConstant(Scalar(1e30));  // every entry must be written
        score_block(x.data(), m, PackedWeights<Scalar>(w.data(), k, d), z.data());
        const Eigen::MatrixXd ref = x.template cast<double>() * w.template cast<double>().transpose();
        // Float32 dot products of length d: |error| <= about d * eps * sum |x_j w_j|; tol * sqrt(d) is
        // generous.
        EXPECT_LE((z.template cast<double>() - ref).cwiseAbs().maxCoeff(), tol * std::sqrt(double(d)))
            << "m " << m << " k " << k << " d " << d;
      }
}

// g += r^T x, starting from a nonzero g, over class counts around every class block (6 on AVX2, 12 on
// AVX-512) and widths around two vectors (16 or 32 floats, 8 or 16 doubles).
template <typename Scalar>
void check_outer(double tol) {
  using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::mt19937 rng(11);
  std::normal_distribution<double> normal;
  for (Eigen::Index m : {1, 4, 9, 64})
    for (Eigen::Index k : {1, 2, 5, 6, 7, 10, 12, 13, 25})
      for (Eigen::Index d : {1, 7, 16, 33, 64, 77}) {
        Mat x(m, d), r(m, k), g(k, d);
        for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<Scalar>(normal(rng));
        for (Eigen::Index i = 0; i < r.size(); ++i) r.data()[i] = static_cast<Scalar>(normal(rng));
        for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = static_cast<Scalar>(normal(rng));
        const Eigen::MatrixXd ref =
            g.template cast<double>() + r.template cast<double>().transpose() * x.template cast<double>();
        // The stream only prefetches: pointing it at x itself must not change the result.
        PrefetchStream prefetch(x.data(), x.size() * Eigen::Index(sizeof(Scalar)), 3);
        add_outer_block(x.data(), m, d, r.data(), k, g.data(), prefetch);
        // Sums of m products (plus the start value): tol * sqrt(m) is generous for m <= 64.
        EXPECT_LE((g.template cast<double>() - ref).cwiseAbs().maxCoeff(), tol * std::sqrt(double(m + 1)))
            << "m " << m << " k " << k << " d " << d;
      }
}

}  // namespace

TEST(ProbeRowKernels, FloatScoresMatchProduct) {
  check_shapes<float>(1e-5);
}
TEST(ProbeRowKernels, DoubleScoresMatchProduct) {
  check_shapes<double>(1e-12);
}
TEST(ProbeRowKernels, FloatGradientMatchesProduct) {
  check_outer<float>(1e-5);
}
TEST(ProbeRowKernels, DoubleGradientMatchesProduct) {
  check_outer<double>(1e-12);
}
