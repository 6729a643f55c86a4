// The standardiser's mean and scale against a float64 two-pass reference, on features with offsets far
// larger than their spreads (which one-pass sums of squares cancel unless shifted), widths that reach each of
// the kernel's paths (groups of four float vectors, single vectors, the scalar tail) at any register width, a
// constant feature, a matrix large enough for the per-thread sums, and one handed out in uneven blocks as a
// streamed capture is.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "probes/design_matrix.h"
#include "probes/standardiser.h"
#include "random_features.h"

using namespace resid;
using namespace resid::probes;

namespace {

// 4,001 x 77 is above the 2^18 elements from which the sums run on several threads.
constexpr int64_t kN = 4001, kD = 77;

RowMatrix offset_features(int64_t d = kD) {
  return resid::testing::random_features(kN, d, 11, [](int64_t, int64_t j, double z) {
    return j == 5 ? 42.5 : 100.0 * (j % 7) + z * (0.05 + 0.3 * (j % 4));  // feature 5 is constant
  });
}

// Hands out rows in blocks of 1, 2, 3, ... rows (the last one shorter), like a capture read chunk by chunk.
class UnevenBlocks : public DesignMatrix {
 public:
  explicit UnevenBlocks(const RowMatrix& x) : x_(x) {}
  int64_t rows() const override { return x_.rows(); }
  int64_t cols() const override { return x_.cols(); }
  void for_each_block(const std::function<void(int64_t, ConstMatrixMap)>& fn) const override {
    for (int64_t first = 0, size = 1; first < x_.rows(); first += size, ++size) {
      const int64_t m = std::min(size, x_.rows() - first);
      fn(first, ConstMatrixMap(x_.data() + first * x_.cols(), m, x_.cols()));
    }
  }

 private:
  const RowMatrix& x_;
};

}  // namespace

TEST(Standardiser, MeanAndScaleEqualATwoPassFloat64Reference) {
  // Widths that reach every path of the sums (groups of four vectors, single vectors, the tail of d): 7 (the
  // tail alone), 64, 100 (64 + 2 x 16 + 4 at AVX-512) and kD (77 = 64 + 8 + 5 at AVX2).
  for (const int64_t d : {int64_t{7}, int64_t{64}, int64_t{100}, kD}) {
    const RowMatrix x = offset_features(d);
    const Standardiser whole = Standardiser::fit(InMemoryDesign(x));
    const Standardiser blocks = Standardiser::fit(UnevenBlocks(x));
    for (int64_t j = 0; j < d; ++j) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < kN; ++i) mean += x(i, j);
      mean /= kN;
      for (int64_t i = 0; i < kN; ++i) var += (x(i, j) - mean) * (x(i, j) - mean);
      const double sd = std::sqrt(var / kN);
      // Float64 sums of about 4,000 shifted values: both results are good to ~1e-13 relative; 1e-10 leaves
      // room for the different summation orders (per-thread tiles, blocks) and nothing more.
      for (const Standardiser* s : {&whole, &blocks}) {
        EXPECT_NEAR(s->mean[j], mean, 1e-10 * std::max(std::abs(mean), sd)) << "d " << d << ", feature " << j;
        if (j == 5)
          EXPECT_EQ(s->scale[j], 1.0) << "a constant feature keeps scale 1";
        else
          EXPECT_NEAR(s->scale[j], sd, 1e-10 * sd) << "d " << d << ", feature " << j;
      }
    }
  }
}

TEST(Standardiser, AppliedFeaturesHaveMeanZeroAndUnitSpread) {
  RowMatrix x = offset_features();
  const Standardiser s = Standardiser::fit(InMemoryDesign(x));
  s.apply(MatrixMap(x.data(), x.rows(), x.cols()));
  for (int64_t j = 0; j < kD; ++j) {
    double mean = 0, sq = 0;
    for (int64_t i = 0; i < kN; ++i) mean += x(i, j), sq += double(x(i, j)) * x(i, j);
    mean /= kN;
    const double sd = std::sqrt(sq / kN - mean * mean);
    // Float32 (x - mean) / scale: the mean rounded to float32 (at most 600 x 2^-24 = 4e-5, under 1e-3 of the
    // smallest spread, 0.05) shifts a feature's mean, and float32 rounding the rest; 1e-2 bounds both.
    EXPECT_NEAR(mean, 0.0, 1e-2) << "feature " << j;
    EXPECT_NEAR(sd, j == 5 ? 0.0 : 1.0, 1e-2) << "feature " << j;
  }
}
