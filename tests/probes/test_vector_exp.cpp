// probes/vector_exp.h against glibc's exp: every normal result within 2 ulp, subnormal results within 1e-323
// absolute, and the edges (0 below the range, inf above, NaN through, exp(0) = 1 exactly).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "probes/vector_exp.h"

using resid::probes::vector_exp;

namespace {

double ulps(double got, double want) {
  return std::abs(got - want) / (std::nextafter(want, INFINITY) - want);
}

}  // namespace

TEST(VectorExp, WithinTwoUlpOfLibm) {
  std::mt19937_64 rng(5);
  std::vector<double> xs;
  std::uniform_real_distribution<double> wide(-708.0, 709.7), narrow(-40.0, 1.0), tiny(-1e-8, 1e-8);
  for (int i = 0; i < 200000; ++i)
    xs.push_back(wide(rng)), xs.push_back(narrow(rng)), xs.push_back(tiny(rng));
  // Around the reduction's rounding boundaries, n ln2 +- ln2/2.
  for (int n = -1000; n <= 1000; ++n)
    for (double off : {-0.3465735902799726, 0.3465735902799726, 0.0})
      xs.push_back(n * 0.6931471805599453 + off);
  std::vector<double> out(xs.size());
#pragma omp simd
  for (size_t i = 0; i < xs.size(); ++i) out[i] = vector_exp(xs[i]);
  double worst = 0, worst_x = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double want = std::exp(xs[i]);
    if (want < std::numeric_limits<double>::min() || std::isinf(want)) continue;
    const double u = ulps(out[i], want);
    if (u > worst) worst = u, worst_x = xs[i];
  }
  EXPECT_LE(worst, 2.0) << "at x = " << worst_x;
  RecordProperty("worst_ulps", std::to_string(worst));
}

TEST(VectorExp, SubnormalsAndEdges) {
  for (double x = -745.0; x < -708.0; x += 0.37)
    EXPECT_NEAR(vector_exp(x), std::exp(x), 1e-323) << "x = " << x;
  EXPECT_EQ(vector_exp(0.0), 1.0);
  EXPECT_EQ(vector_exp(-746.0), 0.0);
  EXPECT_EQ(vector_exp(-INFINITY), 0.0);
  EXPECT_EQ(vector_exp(-1e300), 0.0);
  EXPECT_TRUE(std::isinf(vector_exp(710.0)));
  EXPECT_TRUE(std::isinf(vector_exp(INFINITY)));
  EXPECT_TRUE(std::isnan(vector_exp(NAN)));
}
