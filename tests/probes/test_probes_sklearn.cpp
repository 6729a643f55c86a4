// Agreement with scikit-learn on the same standardised data (skips without /usr/bin/python3 + sklearn,
// Debian package python3-sklearn): held-out accuracy within 0.5 percentage points for a binary and a 10-class
// problem, logistic coefficients at the same C within 1e-3 relative, Ridge coefficients within 1e-4 relative.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "probes/logistic.h"
#include "probes/metrics.h"
#include "probes/npy.h"
#include "probes/ridge.h"
#include "probes/standardiser.h"
#include "test_support.h"

namespace resid {
namespace {

using namespace probes;

bool have_sklearn() {
  return std::system("/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1") == 0;
}

// Overlapping Gaussian classes along random directions, plus uninformative features with offsets.
void make_data(int64_t n, int64_t d, int k, uint64_t seed, RowMatrix* x, std::vector<int32_t>* y) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.f, 1.f);
  RowMatrix centres(k, d);
  for (int64_t i = 0; i < centres.size(); ++i) centres.data()[i] = 0.6f * noise(rng);
  x->resize(n, d);
  y->resize(n);
  for (int64_t i = 0; i < n; ++i) {
    (*y)[i] = static_cast<int32_t>(rng() % k);
    for (int64_t j = 0; j < d; ++j)
      (*x)(i, j) = noise(rng) * (1.0f + j % 3) + centres((*y)[i], j) + 2.0f * (j % 5);
  }
}

nlohmann::json run_sklearn(const testing::TempDir& dir, const RowMatrix& xtr, const std::vector<float>& ytr,
                           const RowMatrix& xte, const std::vector<float>& yte,
                           const nlohmann::json& params) {
  write_npy_f32(dir.file("xtr.npy"), xtr.data(), {xtr.rows(), xtr.cols()});
  write_npy_f32(dir.file("xte.npy"), xte.data(), {xte.rows(), xte.cols()});
  write_npy_f32(dir.file("ytr.npy"), ytr.data(), {int64_t(ytr.size())});
  write_npy_f32(dir.file("yte.npy"), yte.data(), {int64_t(yte.size())});
  std::ofstream(dir.file("params.json")) << params.dump();
  const std::string cmd =
      "/usr/bin/python3 " RESID_SOURCE_DIR "/tests/probes/sklearn_reference.py '" + dir.path().string() + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return nlohmann::json::parse(std::ifstream(dir.file("sklearn.json")));
}

class SklearnLogistic : public ::testing::TestWithParam<int> {};

TEST_P(SklearnLogistic, SameCoefficientsAndHeldOutAccuracy) {
  if (!have_sklearn()) GTEST_SKIP() << "/usr/bin/python3 has no sklearn (Debian package python3-sklearn)";
  const int k = GetParam();
  RowMatrix xtr, xte;
  std::vector<int32_t> ytr, yte;
  // Train and held-out rows come from one sample (same class centres).
  RowMatrix all;
  std::vector<int32_t> yall;
  make_data(6000, 24, k, 10 + k, &all, &yall);
  xtr = all.topRows(4000), xte = all.bottomRows(2000);
  ytr.assign(yall.begin(), yall.begin() + 4000), yte.assign(yall.begin() + 4000, yall.end());
  const Standardiser s = Standardiser::fit(InMemoryDesign(xtr));
  s.apply(MatrixMap(xtr.data(), xtr.rows(), xtr.cols()));
  s.apply(MatrixMap(xte.data(), xte.rows(), xte.cols()));

  LogisticOptions o;
  o.lambda = 1e-3;
  o.tol = 1e-5;
  LbfgsReport rep;
  const LinearModel m = fit_logistic(InMemoryDesign(xtr), ytr, k, o, &rep);
  ASSERT_TRUE(rep.converged) << rep.stop_reason;
  const double acc = classification_metrics(yte, predict_classes(m.scores(InMemoryDesign(xte))), k).accuracy;

  testing::TempDir dir;
  const nlohmann::json ref = run_sklearn(dir, xtr, std::vector<float>(ytr.begin(), ytr.end()), xte,
                                         std::vector<float>(yte.begin(), yte.end()),
                                         {{"task", "logistic"}, {"C", 1.0 / (o.lambda * 4000)}});
  EXPECT_NEAR(acc, ref["test_accuracy"].get<double>(), 0.005) << "k = " << k;
  const auto coef = ref["coef"].get<std::vector<std::vector<double>>>();
  ASSERT_EQ(coef.size(), static_cast<size_t>(m.w.rows()));
  double diff = 0, norm = 0;
  for (size_t c = 0; c < coef.size(); ++c)
    for (size_t j = 0; j < coef[c].size(); ++j) {
      diff = std::max(diff, std::abs(coef[c][j] - m.w(c, j)));
      norm = std::max(norm, std::abs(coef[c][j]));
    }
  EXPECT_LT(diff / norm, 1e-3) << "k = " << k << ": max |dW| " << diff << " of max |W| " << norm;
  std::printf("k = %d: accuracy %.4f vs sklearn %.4f; coefficients max rel diff %.2e; %d vs %d iterations\n",
              k, acc, ref["test_accuracy"].get<double>(), diff / norm, rep.iterations,
              ref["n_iter"].get<int>());
}

INSTANTIATE_TEST_SUITE_P(BinaryAndTenClasses, SklearnLogistic, ::testing::Values(2, 10));

TEST(SklearnRidge, SameCoefficients) {
  if (!have_sklearn()) GTEST_SKIP() << "/usr/bin/python3 has no sklearn (Debian package python3-sklearn)";
  RowMatrix x;
  std::vector<int32_t> unused;
  make_data(3000, 40, 2, 5, &x, &unused);
  const Standardiser s = Standardiser::fit(InMemoryDesign(x));
  s.apply(MatrixMap(x.data(), x.rows(), x.cols()));
  std::mt19937_64 rng(8);
  std::normal_distribution<double> noise(0, 1);
  Eigen::MatrixXd y(3000, 1);
  std::vector<float> yf(3000);
  for (int64_t i = 0; i < 3000; ++i) {
    y(i, 0) = 0.5 * x(i, 0) - 2.0 * x(i, 7) + 0.1 * x(i, 20) + noise(rng) + 3;
    yf[i] = static_cast<float>(y(i, 0));
    y(i, 0) = yf[i];  // both sides see the same float32 targets
  }
  for (double lambda : {1e-4, 1e-1}) {
    const LinearModel m =
        RidgePath(ridge_stats(InMemoryDesign(x), y, std::vector<int>(3000, 0), 1)[0]).solve(lambda);
    testing::TempDir dir;
    const nlohmann::json ref =
        run_sklearn(dir, x, yf, x.topRows(1), {yf[0]}, {{"task", "ridge"}, {"alpha", lambda * 3000}});
    const auto coef = ref["coef"][0].get<std::vector<double>>();
    double diff = 0, norm = 0;
    for (size_t j = 0; j < coef.size(); ++j)
      diff = std::max(diff, std::abs(coef[j] - m.w(0, j))), norm = std::max(norm, std::abs(coef[j]));
    EXPECT_LT(diff / norm, 1e-4) << "lambda " << lambda;
    EXPECT_NEAR(ref["intercept"][0].get<double>(), m.b[0], 1e-4 * (1 + std::abs(m.b[0])));
  }
}

}  // namespace
}  // namespace resid
