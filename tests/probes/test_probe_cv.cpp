// Cross-validation standardises each fold on its own training part: the scores in the report equal a
// brute-force pipeline that refits the standardiser per fold (the held-out fold never leaks into it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <random>

#include "probes/fit.h"
#include "probes/linear_model.h"
#include "probes/logistic.h"
#include "probes/ridge.h"
#include "probes/splits.h"
#include "probes/standardiser.h"
#include "random_features.h"

using namespace resid;
using namespace resid::probes;

namespace {

constexpr int64_t kN = 240, kD = 6;

// One example per sequence; feature scales and offsets vary strongly between sequences, so every fold's
// standard deviations differ from the whole training set's.
RowMatrix features() {
  return resid::testing::random_features(
      kN, kD, 3, [](int64_t i, int64_t j, double z) { return z * (i % 5 == j % 5 ? 12.0 : 1.0) + 3.0 * j; });
}

ProbeTargets groups_only() {
  ProbeTargets t;
  t.n_groups = kN;
  for (int64_t i = 0; i < kN; ++i) t.group.push_back(i), t.token.push_back(0);
  return t;
}

// The training examples of each fold, exactly as fit_probe assigns them.
std::vector<std::vector<int64_t>> fold_members(const FitOptions& o, std::vector<int64_t>& train) {
  const std::vector<Split> split = split_groups(kN, o.split, o.seed);
  const std::vector<int> fold = fold_groups(kN, o.folds, o.seed);
  std::vector<std::vector<int64_t>> held(o.folds);
  for (int64_t i = 0; i < kN; ++i)
    if (split[i] == Split::Train) train.push_back(i), held[fold[i]].push_back(i);
  return held;
}

RowMatrix standardised(const RowMatrix& x, const std::vector<int64_t>& rows, const Standardiser& s) {
  RowMatrix out(static_cast<Eigen::Index>(rows.size()), x.cols());
  for (size_t i = 0; i < rows.size(); ++i) out.row(i) = x.row(rows[i]);
  s.apply(MatrixMap(out.data(), out.rows(), out.cols()));
  return out;
}

std::vector<int64_t> minus(const std::vector<int64_t>& all, const std::vector<int64_t>& held) {
  std::vector<int64_t> out;
  std::set_difference(all.begin(), all.end(), held.begin(), held.end(), std::back_inserter(out));
  return out;
}

}  // namespace

TEST(ProbeCv, RidgeFoldsUseTheirOwnStandardiser) {
  const RowMatrix x = features();
  ProbeTargets t = groups_only();
  t.classification = false;
  std::mt19937 rng(5);
  std::normal_distribution<double> normal;
  for (int64_t i = 0; i < kN; ++i) t.value.push_back(0.3 * x(i, 0) - 0.2 * x(i, 1) + x(i, 4) + normal(rng));
  FitOptions o;
  o.kind = ProbeKind::Ridge;
  o.grid = {1e-2, 1, 10};
  o.folds = 3;
  o.split = {0.8, 0.0, 0.2};
  const FitResult r = fit_probe(MatrixSource(x, t), o);

  std::vector<int64_t> train;
  const auto held = fold_members(o, train);
  // leaky = true: one standardiser from the whole training set (what the pipeline must not do).
  auto cv_score = [&](size_t g, bool leaky) {
    double expected = 0;
    for (int f = 0; f < o.folds; ++f) {
      const std::vector<int64_t> fit_rows = minus(train, held[f]);
      const std::vector<int64_t>& stat_rows = leaky ? train : fit_rows;
      RowMatrix raw_fit(static_cast<Eigen::Index>(stat_rows.size()), kD);
      for (size_t i = 0; i < stat_rows.size(); ++i) raw_fit.row(i) = x.row(stat_rows[i]);
      const Standardiser s = Standardiser::fit(InMemoryDesign(raw_fit));
      Eigen::MatrixXd y(static_cast<Eigen::Index>(fit_rows.size()), 1);
      for (size_t i = 0; i < fit_rows.size(); ++i) y(i, 0) = t.value[fit_rows[i]];
      const auto stats =
          ridge_stats(InMemoryDesign(standardised(x, fit_rows, s)), y, std::vector<int>(y.rows(), 0), 1);
      const LinearModel m = RidgePath(stats[0]).solve(o.grid[g]);
      const Eigen::MatrixXd pred = m.scores(InMemoryDesign(standardised(x, held[f], s)));
      double sse = 0;
      for (size_t i = 0; i < held[f].size(); ++i) sse += std::pow(t.value[held[f][i]] - pred(i, 0), 2);
      expected -= sse / double(train.size());
    }
    return expected;
  };
  double leak_gap = 0;
  for (size_t g = 0; g < o.grid.size(); ++g) {
    const double expected = cv_score(g, false);
    const double got = r.report["cv"][g]["neg_mse"].get<double>();
    // float32 standardised features and float32 tiles in the Gram: agreement to ~1e-5 relative.
    EXPECT_NEAR(got, expected, 1e-5 * std::abs(expected)) << "lambda " << o.grid[g];
    leak_gap = std::max(leak_gap, std::abs(cv_score(g, true) - expected) / std::abs(expected));
  }
  // The data make the difference visible: a shared standardiser would miss the tolerance above by far.
  EXPECT_GT(leak_gap, 1e-3);
}

TEST(ProbeCv, LogisticFoldsUseTheirOwnStandardiser) {
  const RowMatrix x = features();
  ProbeTargets t = groups_only();
  t.classes = {"a", "b"};
  for (int64_t i = 0; i < kN; ++i) t.label.push_back(x(i, 0) + 0.5 * x(i, 4) > 6.0 ? 1 : 0);
  FitOptions o;
  o.kind = ProbeKind::Logistic;
  o.grid = {1e-2};  // one lambda: no warm start, so the brute force repeats the same solver path
  o.folds = 3;
  o.split = {0.8, 0.0, 0.2};
  o.control = false;
  const FitResult r = fit_probe(MatrixSource(x, t), o);

  std::vector<int64_t> train;
  const auto held = fold_members(o, train);
  double expected = 0;
  for (int f = 0; f < o.folds; ++f) {
    const std::vector<int64_t> fit_rows = minus(train, held[f]);
    RowMatrix raw_fit(static_cast<Eigen::Index>(fit_rows.size()), kD);
    std::vector<int32_t> y;
    for (size_t i = 0; i < fit_rows.size(); ++i)
      raw_fit.row(i) = x.row(fit_rows[i]), y.push_back(t.label[fit_rows[i]]);
    const Standardiser s = Standardiser::fit(InMemoryDesign(raw_fit));
    LogisticOptions lo;
    lo.lambda = o.grid[0], lo.tol = o.tol, lo.max_iter = o.max_iter;
    const LinearModel m = fit_logistic(InMemoryDesign(standardised(x, fit_rows, s)), y, 2, lo);
    const std::vector<int32_t> pred = predict_classes(m.scores(InMemoryDesign(standardised(x, held[f], s))));
    int correct = 0;
    for (size_t i = 0; i < held[f].size(); ++i) correct += pred[i] == t.label[held[f][i]];
    expected += double(correct) / double(held[f].size()) / o.folds;
  }
  // The same solver on the same float32 inputs: the accuracies are equal counts.
  EXPECT_NEAR(r.report["cv"][0]["accuracy"].get<double>(), expected, 1e-12);
}
