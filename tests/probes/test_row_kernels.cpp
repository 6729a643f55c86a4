// The unpacked row kernels (probes/row_kernels.h) against Eigen's product, over shapes that exercise the
// four-row / two-class blocks and every remainder (rows not a multiple of 4, odd class counts, k = 1).
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
    for (Eigen::Index k : {1, 2, 3, 10})
      for (Eigen::Index d : {1, 7, 64, 77}) {
        Mat x(m, d), w(k, d), z(m, k);
        for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<Scalar>(normal(rng));
        for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = static_cast<Scalar>(normal(rng));
        z.setConstant(Scalar(1e30));  // every entry must be written
        score_block(x.data(), m, d, w.data(), k, z.data());
        const Eigen::MatrixXd ref = x.template cast<double>() * w.template cast<double>().transpose();
        // Float32 dot products of length d: |error| <= about d * eps * sum |x_j w_j|; tol * sqrt(d) is
        // generous.
        EXPECT_LE((z.template cast<double>() - ref).cwiseAbs().maxCoeff(), tol * std::sqrt(double(d)))
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
