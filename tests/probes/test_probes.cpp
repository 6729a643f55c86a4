// The probes library: solvers against closed forms and optimality conditions, metrics by hand, splits,
// control task, probe files, streamed (out-of-core) fits against in-memory ones, and bad input.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "core/error.h"
#include "probes/capture_probe.h"
#include "probes/control_task.h"
#include "probes/lbfgs.h"
#include "probes/logistic.h"
#include "probes/mass_mean.h"
#include "probes/metrics.h"
#include "probes/ridge.h"
#include "probes/splits.h"
#include "probes/standardiser.h"
#include "synthetic_capture.h"
#include "test_support.h"

namespace resid {
namespace {

using namespace probes;
using testing::error_of;

// Gaussian classes: class c shifts feature c by `sep`.
void gaussian_classes(int64_t n, int64_t d, int k, float sep, uint64_t seed, RowMatrix* x,
                      std::vector<int32_t>* y) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.f, 1.f);
  x->resize(n, d);
  y->resize(n);
  for (int64_t i = 0; i < n; ++i) {
    (*y)[i] = static_cast<int32_t>(rng() % k);
    for (int64_t j = 0; j < d; ++j) (*x)(i, j) = noise(rng);
    (*x)(i, (*y)[i] % d) += sep;
  }
}

// A quadratic whose gradient carries noise of 1e-6 (like float32 passes): the gradient norm cannot go below
// the noise floor. With stall_window the search stops within that many iterations of reaching it ("line
// search stalled", so logistic regression goes on in float64) instead of taking steps accepted on noise until
// the line search happens to fail (here 50 iterations; on a real 195k x 352 capture, 230 float32 passes).
TEST(Lbfgs, StallWindowStopsAtTheGradientNoiseFloor) {
  uint64_t state = 1;
  auto noise = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (static_cast<double>(state >> 11) / 9007199254740992.0 - 0.5) * 2e-6;
  };
  auto f = [&](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    g = x;
    for (Eigen::Index i = 0; i < g.size(); ++i) g[i] = (i + 1.0) * x[i] + noise();
    double v = 0;
    for (Eigen::Index i = 0; i < x.size(); ++i) v += 0.5 * (i + 1.0) * x[i] * x[i];
    return 1.0 + v + noise() * 1e-3;  // f ~ 1 like a mean log-loss: its rounding, not its size, is small
  };
  auto never = [](const Eigen::VectorXd&, double, double) { return false; };
  LbfgsOptions o;
  o.max_iter = 300;
  o.epsilon = 1e-6, o.max_backtracks = 8;  // as the float32 passes of logistic regression
  Eigen::VectorXd x = Eigen::VectorXd::Ones(20);
  const LbfgsReport wander = minimise_lbfgs(f, never, x, o);
  o.stall_window = 10;
  x = Eigen::VectorXd::Ones(20);
  const LbfgsReport stop = minimise_lbfgs(f, never, x, o);
  EXPECT_EQ(stop.stop_reason, "line search stalled");
  EXPECT_LT(stop.iterations, wander.iterations) << wander.stop_reason;
  EXPECT_LT(stop.iterations, 60);
  EXPECT_LT(x.norm(), 1e-4);  // it stopped at the floor, not before it
}

TEST(Logistic, BinaryOptimumSatisfiesTheGradientCondition) {
  RowMatrix x;
  std::vector<int32_t> y;
  gaussian_classes(2000, 8, 2, 1.0f, 3, &x, &y);
  const InMemoryDesign design(x);
  LogisticOptions o;
  o.lambda = 1e-2;
  o.tol = 1e-6;
  LbfgsReport rep;
  const LinearModel m = fit_logistic(design, y, 2, o, &rep);
  EXPECT_TRUE(rep.converged) << rep.stop_reason;
  // Gradient in float64 from scratch: mean (p - y) x + lambda w, and mean (p - y) for b.
  Eigen::VectorXd gw = Eigen::VectorXd::Zero(8);
  double gb = 0;
  for (int64_t i = 0; i < x.rows(); ++i) {
    const Eigen::VectorXd xi = x.row(i).transpose().cast<double>();
    const double p = 1.0 / (1.0 + std::exp(-(m.w.row(0).dot(xi) + m.b[0])));
    gw += (p - y[i]) * xi / double(x.rows());
    gb += (p - y[i]) / double(x.rows());
  }
  gw += o.lambda * m.w.row(0).transpose();
  EXPECT_LT(gw.norm(), 1e-6);
  EXPECT_LT(std::abs(gb), 1e-6);
}

TEST(Logistic, MulticlassSeparatesClassesAndReportsConvergence) {
  RowMatrix x;
  std::vector<int32_t> y;
  gaussian_classes(3000, 12, 5, 3.0f, 4, &x, &y);
  LogisticOptions o;
  o.lambda = 1e-3;
  LbfgsReport rep;
  const InMemoryDesign design(x);
  const LinearModel m = fit_logistic(design, y, 5, o, &rep);
  EXPECT_TRUE(rep.converged);
  EXPECT_EQ(m.w.rows(), 5);
  const ClassificationMetrics met = classification_metrics(y, predict_classes(m.scores(design)), 5);
  EXPECT_GT(met.accuracy, 0.85);
  // max_iter 2 cannot converge, and says so.
  o.max_iter = 2;
  fit_logistic(design, y, 5, o, &rep);
  EXPECT_FALSE(rep.converged);
  EXPECT_EQ(rep.stop_reason, "max_iter reached");
}

// --tol promises coefficients within about tol (relative) of the optimum. The fit stops on the curvature
// L-BFGS has observed, an estimate, so the promise is checked against the optimum itself (a fit to
// tol 1e-8, which finishes in float64 passes) on problems whose curvature the estimate could get wrong:
// correlated features of unequal scale, weak and strong regularisation, two and seven classes.
TEST(Logistic, ToleranceBoundsTheDistanceFromTheOptimum) {
  struct Case {
    int k;
    double lambda;
  };
  for (const Case c : {Case{2, 1e-2}, Case{2, 1e-4}, Case{7, 1e-3}, Case{7, 1e-5}}) {
    RowMatrix x;
    std::vector<int32_t> y;
    gaussian_classes(3000, 40, c.k, 0.7f, 17 + c.k, &x, &y);
    // Mix the features: each becomes itself plus a scaled copy of its neighbour, scales 0.3 to 3.
    RowMatrix mixed = x;
    for (int64_t j = 0; j < x.cols(); ++j)
      mixed.col(j) = (0.3f + 0.07f * j) * (x.col(j) + 0.8f * x.col((j + 1) % x.cols()));
    const InMemoryDesign design(mixed);
    LogisticOptions o;
    o.lambda = c.lambda;
    o.tol = 1e-8;  // 1000x below the smallest tol checked: the reference's own error does not matter
    LbfgsReport rep;
    const LinearModel best = fit_logistic(design, y, c.k, o, &rep);
    ASSERT_TRUE(rep.converged) << c.k << " classes, lambda " << c.lambda << ": " << rep.stop_reason
                               << " after " << rep.iterations << " iterations (" << rep.float64_iterations
                               << " float64), gradient norm " << rep.grad_norm;
    for (const double tol : {1e-3, 1e-4, 1e-5}) {
      o.tol = tol;
      const LinearModel m = fit_logistic(design, y, c.k, o, &rep);
      ASSERT_TRUE(rep.converged) << rep.stop_reason;
      const double distance = (m.w - best.w).norm() / std::max(1.0, best.w.norm());
      EXPECT_LE(distance, tol) << c.k << " classes, lambda " << c.lambda << ", tol " << tol << ": "
                               << rep.iterations << " iterations, stopped on " << rep.stop_reason;
    }
  }
}

TEST(Ridge, PathEqualsTheDirectSolveAtEveryLambda) {
  RowMatrix x;
  std::vector<int32_t> cls;
  gaussian_classes(500, 10, 3, 1.0f, 5, &x, &cls);
  x.col(3).array() += 7.0f;  // a mean to centre away
  Eigen::MatrixXd y(500, 2);
  std::mt19937_64 rng(6);
  std::normal_distribution<double> noise(0, 0.1);
  for (int64_t i = 0; i < 500; ++i) {
    y(i, 0) = 2.0 * x(i, 0) - x(i, 1) + 0.5 + noise(rng);
    y(i, 1) = x(i, 4) + noise(rng);
  }
  const InMemoryDesign design(x);
  const std::vector<RidgeStats> s = ridge_stats(design, y, std::vector<int>(500, 0), 1);
  const RidgePath path(s[0]);
  const Eigen::MatrixXd xd = x.cast<double>();
  const Eigen::RowVectorXd mean = xd.colwise().mean();
  const Eigen::MatrixXd xc = xd.rowwise() - mean;
  const Eigen::MatrixXd yc = y.rowwise() - y.colwise().mean();
  for (double lambda : {1e-4, 1e-2, 1.0, 100.0}) {
    const Eigen::MatrixXd a = xc.transpose() * xc / 500.0 + lambda * Eigen::MatrixXd::Identity(10, 10);
    const Eigen::MatrixXd direct = a.ldlt().solve(xc.transpose() * yc / 500.0).transpose();  // [2, 10]
    const LinearModel m = path.solve(lambda);
    EXPECT_LT((m.w - direct).norm() / direct.norm(), 1e-6) << "lambda " << lambda;
    const Eigen::VectorXd b = y.colwise().mean().transpose() - direct * mean.transpose();
    EXPECT_LT((m.b - b).norm(), 1e-5 * (1 + b.norm()));
    // Squared error from the statistics equals the one from the rows.
    const Eigen::MatrixXd pred = (xd * m.w.transpose()).rowwise() + m.b.transpose();
    const double mse = (y - pred).array().square().mean();
    // The statistics hold float32 Gram tiles and the formula cancels large sums: 1e-4 relative is what CV
    // needs to rank lambdas.
    EXPECT_NEAR(stats_mse(s[0], m), mse, 1e-4 * mse);
  }
}

TEST(MassMean, BinaryRuleIsTheMidpointOfTheClassMeans) {
  RowMatrix x(4, 2);
  x << 0, 0, 2, 0, 4, 2, 6, 2;
  const std::vector<int32_t> y = {0, 0, 1, 1};
  const LinearModel m = fit_mass_mean(InMemoryDesign(x), y, 2);
  // mu0 = (1, 0), mu1 = (5, 2): w = (4, 2); midpoint (3, 1) scores 0.
  EXPECT_NEAR(m.w(0, 0), 4, 1e-12);
  EXPECT_NEAR(m.w(0, 1), 2, 1e-12);
  EXPECT_NEAR(m.w.row(0).dot(Eigen::RowVector2d(3, 1)) + m.b[0], 0, 1e-12);
}

TEST(Metrics, MatchHandComputedValues) {
  // truth 0 0 0 1 1 2 ; predicted 0 0 1 1 2 2
  const std::vector<int32_t> t = {0, 0, 0, 1, 1, 2}, p = {0, 0, 1, 1, 2, 2};
  Eigen::MatrixXd prob(6, 3);
  prob.setConstant(0.25);
  prob.col(0).setConstant(0.5);
  const ClassificationMetrics m = classification_metrics(t, p, 3, prob);
  EXPECT_NEAR(m.accuracy, 4.0 / 6, 1e-12);
  EXPECT_NEAR(m.balanced_accuracy, (2.0 / 3 + 0.5 + 1.0) / 3, 1e-12);
  // F1: class 0: 2*2/(3+2) = 0.8; class 1: 2*1/(2+2) = 0.5; class 2: 2*1/(1+2) = 2/3.
  EXPECT_NEAR(m.macro_f1, (0.8 + 0.5 + 2.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(m.log_loss, -(3 * std::log(0.5) + 3 * std::log(0.25)) / 6, 1e-12);
  EXPECT_EQ(m.confusion[0][1], 1);
  EXPECT_EQ(m.confusion[1][2], 1);
  const RegressionMetrics r = regression_metrics({1, 2, 3}, {1, 2, 4});
  EXPECT_NEAR(r.mse, 1.0 / 3, 1e-12);
  EXPECT_NEAR(r.r2, 1 - 1.0 / 2, 1e-12);
}

TEST(Splits, SeededAndNeverSplitASequence) {
  const std::vector<Split> a = split_groups(100, {0.7, 0.15, 0.15}, 1),
                           b = split_groups(100, {0.7, 0.15, 0.15}, 1),
                           c = split_groups(100, {0.7, 0.15, 0.15}, 2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::count(a.begin(), a.end(), Split::Test), 15);
  EXPECT_EQ(std::count(a.begin(), a.end(), Split::Validation), 15);
  const std::vector<int> f = fold_groups(10, 3, 0);
  EXPECT_EQ(std::count(f.begin(), f.end(), 0), 4);
  EXPECT_CONTAINS(error_of<InputError>([] { SplitFractions::parse("0.5,0.5"); }), "three fractions");
}

TEST(ControlTask, OneLabelPerTokenWithTheRealDistribution) {
  std::vector<int32_t> keys, labels;
  std::mt19937_64 rng(9);
  for (int i = 0; i < 20000; ++i)
    keys.push_back(static_cast<int32_t>(rng() % 5000)), labels.push_back(rng() % 4 == 0);
  const std::vector<int32_t> c = control_labels(keys, labels, std::vector<bool>(keys.size(), true), 2, 7);
  std::map<int32_t, int32_t> of_key;
  int64_t ones = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto [it, added] = of_key.emplace(keys[i], c[i]);
    EXPECT_EQ(it->second, c[i]);
    ones += c[i];
  }
  EXPECT_NEAR(double(ones) / keys.size(), 0.25, 0.03);
}

class CaptureProbes : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("acts.h5");
    testing::write_synthetic_capture(path_, cap_);
  }
  CaptureFitOptions options(const std::string& hook, const std::string& label) const {
    CaptureFitOptions o;
    o.examples.hook = hook;
    o.examples.label = label;
    o.fit.lambda = 1e-2;
    return o;
  }
  // What the --memory budget must cover besides activations.
  int64_t index_bytes(const CaptureFitOptions& o) const {
    const CaptureExamples ex = index_capture_examples(path_, o.examples);
    return ex.size() * ex.index_bytes_per_example();
  }
  testing::TempDir dir_;
  testing::SyntheticCapture cap_;
  std::string path_;
};

TEST_F(CaptureProbes, TokenProbeBeatsItsBaselinesAndLayersOrderByStrength) {
  CaptureFitOptions o = options("", "quote");
  o.fit.lambda.reset();  // cross-validated
  const std::vector<FitResult> rs =
      sweep_capture(path_, match_capture_hooks(path_, {"blocks.*.hook_resid_post"}), o, 2);
  ASSERT_EQ(rs.size(), 3u);
  for (const FitResult& r : rs) {
    EXPECT_EQ(r.report["classes"], nlohmann::json({"no", "yes"}));  // "none" (BOS) dropped
    EXPECT_GT(r.report["selectivity"].get<double>(), 0.1);
    EXPECT_NEAR(r.report["baselines"]["control"]["accuracy"].get<double>(), 0.5, 0.1);
  }
  EXPECT_GT(rs[2].report["metrics"]["test"]["accuracy"].get<double>(),
            rs[0].report["metrics"]["test"]["accuracy"].get<double>());
  EXPECT_GT(rs[2].report["metrics"]["test"]["accuracy"].get<double>(), 0.95);
  EXPECT_EQ(rs[0].report["provenance"]["model_sha256"], std::string(64, 'a'));
}

TEST_F(CaptureProbes, SequenceClassAndNumberLabels) {
  cap_.rows = 300;  // one example per row: more rows than the token tests need
  testing::write_synthetic_capture(path_, cap_);
  CaptureFitOptions o = options("blocks.2.hook_resid_post", "topic");
  FitResult r = fit_capture_probe(path_, o);
  EXPECT_EQ(r.probe.classes, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.report["n_examples"], cap_.rows);
  EXPECT_GT(r.report["metrics"]["test"]["accuracy"].get<double>(), 0.8);
  o.examples.label = "score";
  o.fit.kind = ProbeKind::Ridge;
  o.fit.lambda.reset();
  o.examples.reduce = "mean";
  r = fit_capture_probe(path_, o);
  EXPECT_GT(r.report["metrics"]["test"]["r2"].get<double>(), 0.8);
  o.fit.kind = ProbeKind::Logistic;
  EXPECT_CONTAINS(error_of<InputError>([&] { fit_capture_probe(path_, o); }), "use ridge");
}

TEST_F(CaptureProbes, StreamedFitEqualsInMemoryFit) {
  for (ProbeKind kind :
       {ProbeKind::Logistic, ProbeKind::Ridge, ProbeKind::RidgeClassifier, ProbeKind::MassMean}) {
    CaptureFitOptions o = options("blocks.1.hook_resid_post", kind == ProbeKind::Ridge ? "score" : "quote");
    o.fit.kind = kind;
    o.fit.tol = 1e-7;
    if (kind == ProbeKind::Ridge) o.fit.lambda.reset();
    const FitResult in_memory = fit_capture_probe(path_, o);
    // The example matrix is ~40 KiB; 6 KiB for activations (the budget also covers the index) streams chunks
    // of 1.5 KiB = 2 capture rows.
    o.memory_bytes = index_bytes(o) + (6 << 10);
    const FitResult streamed = fit_capture_probe(path_, o);
    ASSERT_FALSE(in_memory.report["streamed"].get<bool>());
    ASSERT_TRUE(streamed.report["streamed"].get<bool>());
    const Eigen::MatrixXd& a = in_memory.probe.model.w;
    const Eigen::MatrixXd& b = streamed.probe.model.w;
    EXPECT_LT((a - b).cwiseAbs().maxCoeff(), 1e-4 * std::max(1.0, a.cwiseAbs().maxCoeff()))
        << probe_kind_name(kind);
    // Same predictions; scores differ only by float rounding of differently blocked sums.
    const nlohmann::json &ma = in_memory.report["metrics"]["test"], &mb = streamed.report["metrics"]["test"];
    if (kind == ProbeKind::Ridge) {
      EXPECT_NEAR(ma["r2"].get<double>(), mb["r2"].get<double>(), 1e-5);
    } else {
      EXPECT_EQ(ma["confusion"], mb["confusion"]) << probe_kind_name(kind);
      if (kind == ProbeKind::Logistic) {
        EXPECT_NEAR(ma["log_loss"].get<double>(), mb["log_loss"].get<double>(), 1e-5);
      }
    }
    EXPECT_EQ(in_memory.report["lambda"], streamed.report["lambda"]);
  }
}

TEST_F(CaptureProbes, ProbeFileRoundTripAndDirection) {
  const FitResult r = fit_capture_probe(path_, options("blocks.2.hook_resid_post", "quote"));
  const std::string file = dir_.file("p.safetensors");
  save_probe(file, r.probe);
  const Probe p = load_probe(file);
  EXPECT_EQ(p.hook, "blocks.2.hook_resid_post");
  EXPECT_EQ(p.classes, r.probe.classes);
  EXPECT_EQ(p.info["provenance"]["dataset_sha256"], std::string(64, 'b'));
  EXPECT_LT((p.model.w - r.probe.model.w).cwiseAbs().maxCoeff(), 1e-6);  // stored as float32
  // The label is carried by feature 0: the "yes" direction points along +e0.
  const Eigen::VectorXf yes = p.direction("yes"), no = p.direction("no");
  EXPECT_NEAR(yes.norm(), 1.0f, 1e-5f);
  EXPECT_GT(yes[0], 0.9f);
  EXPECT_LT((yes + no).norm(), 1e-6f);
  EXPECT_CONTAINS(error_of<InputError>([&] { p.direction("maybe"); }), "no class 'maybe'");

  // A truncated file names itself and the problem.
  const auto size = std::filesystem::file_size(file);
  std::filesystem::resize_file(file, size - 10);
  const std::string msg = error_of<FormatError>([&] { load_probe(file); });
  EXPECT_CONTAINS(msg, file);
  EXPECT_CONTAINS(msg, "truncated");
}

TEST_F(CaptureProbes, BadInputNamesTheFileAndTheProblem) {
  std::string m = error_of<InputError>([&] {
    index_capture_examples(path_, {"blocks.9.hook_resid_post", "quote"});
  });
  EXPECT_CONTAINS(m, path_);
  EXPECT_CONTAINS(m, "no hook 'blocks.9.hook_resid_post'");
  m = error_of<InputError>([&] { index_capture_examples(path_, {"blocks.0.hook_resid_post", "sentiment"}); });
  EXPECT_CONTAINS(m, "no label 'sentiment'");
  EXPECT_CONTAINS(m, "quote, topic, score");
  m = error_of<InputError>([&] { match_capture_hooks(path_, {"blocks.*.attn.hook_z"}); });
  EXPECT_CONTAINS(m, "no hook matches");

  // NaN: which row, position and hook.
  testing::SyntheticCapture bad = cap_;
  bad.nan_row = 17, bad.nan_pos = 2;
  const std::string nan_path = dir_.file("nan.h5");
  testing::write_synthetic_capture(nan_path, bad);
  m = error_of<InputError>(
      [&] { fit_capture_probe(nan_path, options("blocks.0.hook_resid_post", "quote")); });
  EXPECT_CONTAINS(m, nan_path + ": /acts/blocks.0.hook_resid_post row 17 position 2 holds NaN");
  // Streamed too.
  CaptureFitOptions o = options("blocks.0.hook_resid_post", "quote");
  o.memory_bytes = index_bytes(o) + 4096;
  m = error_of<InputError>([&] { fit_capture_probe(nan_path, o); });
  EXPECT_CONTAINS(m, "row 17 position 2 holds NaN");

  // Infinity likewise, in memory and streamed.
  bad.bad_value = -INFINITY, bad.nan_row = 23, bad.nan_pos = 5;
  const std::string inf_path = dir_.file("inf.h5");
  testing::write_synthetic_capture(inf_path, bad);
  m = error_of<InputError>(
      [&] { fit_capture_probe(inf_path, options("blocks.0.hook_resid_post", "quote")); });
  EXPECT_CONTAINS(m, inf_path + ": /acts/blocks.0.hook_resid_post row 23 position 5 holds infinity");
  m = error_of<InputError>([&] { fit_capture_probe(inf_path, o); });
  EXPECT_CONTAINS(m, inf_path + ": /acts/blocks.0.hook_resid_post row 23 position 5 holds infinity");
}

TEST_F(CaptureProbes, MemoryBudgetCoversTheIndexAndIsSharedBySweepJobs) {
  CaptureFitOptions o = options("blocks.0.hook_resid_post", "quote");
  const int64_t index = index_bytes(o);
  o.memory_bytes = index / 2;
  const std::string m = error_of<InputError>([&] { fit_capture_probe(path_, o); });
  EXPECT_CONTAINS(m, "memory_bytes");
  EXPECT_CONTAINS(m, "below the example index");
  // In memory for one fit (index + twice the ~40 KiB matrix, with room to spare), streamed when two hooks
  // share it (each half then leaves one matrix's worth for activations).
  const CaptureExamples ex = index_capture_examples(path_, o.examples);
  o.memory_bytes = 2 * index + 2 * ex.size() * ex.d * 4;
  EXPECT_FALSE(fit_capture_probe(path_, o).report["streamed"].get<bool>());
  const std::vector<FitResult> two =
      sweep_capture(path_, {"blocks.0.hook_resid_post", "blocks.1.hook_resid_post"}, o, 2);
  for (const FitResult& r : two) EXPECT_TRUE(r.report["streamed"].get<bool>());
}

TEST_F(CaptureProbes, LabelRowsFewerThanActivationRows) {
  // Another tool shortened the label column below /committed_rows.
  if (!testing::shorten_label_column(path_, "quote", 5))
    GTEST_SKIP() << "/usr/bin/python3 has no h5py (Debian package python3-h5py)";
  const std::string m = error_of<Error>([&] {
    index_capture_examples(path_, {"blocks.0.hook_resid_post", "quote"});
  });
  EXPECT_CONTAINS(m, path_);
  EXPECT_CONTAINS(m, "/labels/quote is shorter than /committed_rows");
}

TEST(CaptureProbesSingleClass, SingleClassIsRefused) {
  testing::TempDir dir;
  // Every real token of a one-position capture is BOS ("none"), so keeping "none" leaves one class.
  testing::SyntheticCapture s;
  s.n_pos = 1;  // len 0..1 -> 1 (BOS only)
  s.rows = 10;
  const std::string path = dir.file("one.h5");
  testing::write_synthetic_capture(path, s);
  ExampleOptions o{"blocks.0.hook_resid_post", "quote"};
  o.keep_none = true;
  const std::string m = error_of<InputError>([&] { index_capture_examples(path, o); });
  EXPECT_CONTAINS(m, path + ": label 'quote' has a single class ('none')");
}

}  // namespace
}  // namespace resid
