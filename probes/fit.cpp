#include "probes/fit.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "probes/control_task.h"
#include "probes/logistic.h"
#include "probes/mass_mean.h"
#include "probes/metrics.h"
#include "probes/ridge.h"

namespace resid::probes {

namespace {

using nlohmann::json;

std::string lambda_text(double l) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0e", l);
  return buf;
}

// Targets for least squares: the number (ridge) or one-vs-rest +-1 columns (ridge classifier; one column for
// two classes).
Eigen::MatrixXd ls_targets(const ProbeTargets& t, const std::vector<int64_t>& which, bool classifier) {
  const int k = classifier ? (t.classes.size() == 2 ? 1 : static_cast<int>(t.classes.size())) : 1;
  Eigen::MatrixXd y(static_cast<Eigen::Index>(which.size()), k);
  for (size_t i = 0; i < which.size(); ++i) {
    if (!classifier) {
      y(i, 0) = t.value[which[i]];
    } else if (k == 1) {
      y(i, 0) = t.label[which[i]] == 1 ? 1.0 : -1.0;
    } else {
      for (int c = 0; c < k; ++c) y(i, c) = t.label[which[i]] == c ? 1.0 : -1.0;
    }
  }
  return y;
}

std::vector<int32_t> pick(const std::vector<int32_t>& v, const std::vector<int64_t>& which) {
  std::vector<int32_t> out(which.size());
  for (size_t i = 0; i < which.size(); ++i) out[i] = v[which[i]];
  return out;
}
std::vector<double> pick(const std::vector<double>& v, const std::vector<int64_t>& which) {
  std::vector<double> out(which.size());
  for (size_t i = 0; i < which.size(); ++i) out[i] = v[which[i]];
  return out;
}

// 1 / standard deviation per feature of the rows summarised by s, with the Standardiser's rule for constant
// features (scale 1).
Eigen::VectorXd fold_inverse_scale(const RidgeStats& s) {
  const Eigen::VectorXd mean = s.x_sum / s.n;
  Eigen::VectorXd inv(mean.size());
  for (Eigen::Index j = 0; j < mean.size(); ++j) {
    const double sd = std::sqrt(std::max(0.0, s.xtx(j, j) / s.n - mean[j] * mean[j]));
    inv[j] = sd > 1e-12 * std::max(1.0, std::abs(mean[j])) ? 1.0 / sd : 1.0;
  }
  return inv;
}

struct Fitted {
  LinearModel model;
  LbfgsReport lbfgs;
  bool iterative = false;
};

// One fit of `kind` on x with labels (or values), at lambda.
Fitted fit_once(ProbeKind kind, const DesignMatrix& x, const std::vector<int32_t>& labels,
                const std::vector<double>& values, int n_classes, double lambda, const FitOptions& o,
                const LinearModel* warm, const std::string& stage) {
  Fitted f;
  if (kind == ProbeKind::Logistic) {
    LogisticOptions lo;
    lo.lambda = lambda, lo.max_iter = o.max_iter, lo.tol = o.tol, lo.warm_start = warm;
    if (o.on_progress) lo.on_iter = [&](int it, double, double) { o.on_progress(stage, it); };
    f.model = fit_logistic(x, labels, n_classes, lo, &f.lbfgs);
    f.iterative = true;
  } else if (kind == ProbeKind::MassMean) {
    f.model = fit_mass_mean(x, labels, n_classes);
  } else {
    ProbeTargets t;
    t.label = labels, t.value = values;
    t.classes.resize(n_classes);
    std::vector<int64_t> all(x.rows());
    for (int64_t i = 0; i < x.rows(); ++i) all[i] = i;
    const Eigen::MatrixXd y = ls_targets(t, all, kind == ProbeKind::RidgeClassifier);
    const std::vector<RidgeStats> s = ridge_stats(x, y, std::vector<int>(x.rows(), 0), 1);
    f.model = RidgePath(s[0]).solve(lambda);
  }
  return f;
}

ClassificationMetrics evaluate(ProbeKind kind, const LinearModel& m, const DesignMatrix& x,
                               const std::vector<int32_t>& labels, int n_classes) {
  const Eigen::MatrixXd s = m.scores(x);
  const Eigen::MatrixXd p = kind == ProbeKind::Logistic ? class_probabilities(s) : Eigen::MatrixXd();
  return classification_metrics(labels, predict_classes(s), n_classes, p);
}

RegressionMetrics evaluate_regression(const LinearModel& m, const DesignMatrix& x,
                                      const std::vector<double>& values) {
  const Eigen::MatrixXd s = m.scores(x);
  return regression_metrics(values, std::vector<double>(s.data(), s.data() + s.rows()));
}

json lbfgs_json(const LbfgsReport& r) {
  return {{"iterations", r.iterations},   {"evaluations", r.evaluations},
          {"converged", r.converged},     {"float64_iterations", r.float64_iterations},
          {"stop_reason", r.stop_reason}, {"objective", r.objective},
          {"grad_norm", r.grad_norm}};
}

}  // namespace

std::vector<double> default_lambda_grid(ProbeKind kind) {
  if (kind == ProbeKind::Logistic) return {1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1};
  return {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100};
}

FitResult fit_probe(const ExampleSource& src, const FitOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const ProbeTargets& t = src.targets();
  const bool classification = t.classification;
  if (classification != is_classifier(o.kind))
    throw InputError(probe_kind_name(o.kind) + " probes need " +
                     (classification ? "a number label" : "a class label") + "; this label is " +
                     (classification ? "a class label (use logistic, ridge-classifier or mass-mean)"
                                     : "a number (use ridge)"));
  if (o.lambda && !(*o.lambda > 0)) throw InputError("lambda must be positive");
  const int n_classes = static_cast<int>(t.classes.size());
  const int64_t n = t.size();

  // Split by sequence.
  const std::vector<Split> group_split = split_groups(t.n_groups, o.split, o.seed);
  std::vector<int64_t> train, val, test;
  for (int64_t i = 0; i < n; ++i) {
    const Split s = group_split[t.group[i]];
    (s == Split::Train ? train : s == Split::Validation ? val : test).push_back(i);
  }
  if (train.empty() || test.empty())
    throw InputError("split: the training or test set has no examples (" + std::to_string(t.n_groups) +
                     " sequences)");
  if (classification) {
    std::vector<bool> seen(n_classes, false);
    int present = 0;
    for (int64_t i : train) present += !seen[t.label[i]], seen[t.label[i]] = true;
    if (present < 2) throw InputError("the training split holds a single class; more sequences are needed");
  }
  const std::vector<int32_t> y_train = classification ? pick(t.label, train) : std::vector<int32_t>();
  const std::vector<double> v_train = classification ? std::vector<double>() : pick(t.value, train);

  Standardiser standardiser = src.fit_standardiser(train);
  json report;
  report["kind"] = probe_kind_name(o.kind);
  report["n_examples"] = n;
  report["n_train"] = train.size(), report["n_validation"] = val.size(), report["n_test"] = test.size();
  report["d"] = src.features();
  report["streamed"] = src.streamed();
  report["seed"] = o.seed;
  report["split"] = {o.split.train, o.split.validation, o.split.test};

  // Regularisation.
  double lambda = 0;
  if (o.kind == ProbeKind::MassMean) {
    report["lambda_selection"] = "none";
  } else if (o.lambda) {
    lambda = *o.lambda;
    report["lambda_selection"] = "fixed";
  } else {
    const std::vector<double> grid = o.grid.empty() ? default_lambda_grid(o.kind) : o.grid;
    std::vector<double> score(grid.size(), 0);  // higher is better (accuracy, or -MSE)
    if (o.folds >= 2) {
      report["lambda_selection"] = std::to_string(o.folds) + "-fold cv";
      const std::vector<int> group_fold = fold_groups(t.n_groups, o.folds, o.seed);
      std::vector<int> fold_of(train.size());
      for (size_t i = 0; i < train.size(); ++i) fold_of[i] = group_fold[t.group[train[i]]];
      if (o.kind == ProbeKind::Logistic) {
        for (int f = 0; f < o.folds; ++f) {
          std::vector<int64_t> fit_idx, held_idx;
          std::vector<int32_t> fit_y, held_y;
          for (size_t i = 0; i < train.size(); ++i) {
            (fold_of[i] == f ? held_idx : fit_idx).push_back(train[i]);
            (fold_of[i] == f ? held_y : fit_y).push_back(y_train[i]);
          }
          if (fit_idx.empty() || held_idx.empty())
            throw InputError("cross-validation: too few sequences for folds = " + std::to_string(o.folds));
          // The fold's own standardiser, from its training part only: the held-out fold must not leak into
          // it.
          const Standardiser fold_standardiser = src.fit_standardiser(fit_idx);
          const auto x_fit = src.design(fit_idx, &fold_standardiser),
                     x_held = src.design(held_idx, &fold_standardiser);
          // From strong to weak regularisation, each fit warm-started from the previous one.
          std::vector<size_t> order(grid.size());
          for (size_t i = 0; i < grid.size(); ++i) order[i] = i;
          std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return grid[a] > grid[b]; });
          LinearModel prev;
          for (size_t gi = 0; gi < order.size(); ++gi) {
            const size_t g = order[gi];
            const std::string stage = "cv fold " + std::to_string(f + 1) + "/" + std::to_string(o.folds) +
                                      " lambda " + lambda_text(grid[g]);
            const Fitted fit =
                fit_once(o.kind, *x_fit, fit_y, {}, n_classes, grid[g], o, gi ? &prev : nullptr, stage);
            prev = fit.model;
            score[g] += evaluate(o.kind, fit.model, *x_held, held_y, n_classes).accuracy / o.folds;
          }
        }
      } else {
        // Least squares: per-fold statistics in one pass; every fold's path from its own eigendecomposition;
        // held-out squared error from the statistics.
        const auto x_train = src.design(train, &standardiser);
        const Eigen::MatrixXd y = ls_targets(t, train, o.kind == ProbeKind::RidgeClassifier);
        const std::vector<RidgeStats> per_fold = ridge_stats(*x_train, y, fold_of, o.folds);
        RidgeStats total(per_fold[0].xtx.rows(), y.cols());
        for (const RidgeStats& s : per_fold) total += s;
        for (int f = 0; f < o.folds; ++f) {
          RidgeStats fit_stats = total;
          fit_stats -= per_fold[f];
          if (fit_stats.n < 1 || per_fold[f].n < 1)
            throw InputError("cross-validation: too few sequences for folds = " + std::to_string(o.folds));
          if (o.on_progress)
            o.on_progress("cv fold " + std::to_string(f + 1) + "/" + std::to_string(o.folds), 0);
          // The fold's own standardiser, from its training part's statistics (features here are in
          // training-set standardised units): only its scale matters, the unpenalised intercept absorbs its
          // mean.
          const Eigen::VectorXd inv_sd = fold_inverse_scale(fit_stats);
          const RidgePath path(scale_features(fit_stats, inv_sd));
          for (size_t g = 0; g < grid.size(); ++g) {
            LinearModel m = path.solve(grid[g]);
            m.w = m.w * inv_sd.asDiagonal();  // back to the units of the held-out statistics
            score[g] -= stats_mse(per_fold[f], m) * per_fold[f].n / total.n;
          }
        }
      }
    } else {
      report["lambda_selection"] = "validation split";
      if (val.empty())
        throw InputError(
            "choosing lambda on the validation split, which is empty (set folds to 2 or more, or give "
            "the split a validation fraction)");
      const auto x_fit = src.design(train, &standardiser), x_val = src.design(val, &standardiser);
      for (size_t g = 0; g < grid.size(); ++g) {
        const Fitted fit = fit_once(o.kind, *x_fit, y_train, v_train, n_classes, grid[g], o, nullptr,
                                    "validation lambda " + lambda_text(grid[g]));
        score[g] = classification
                       ? evaluate(o.kind, fit.model, *x_val, pick(t.label, val), n_classes).accuracy
                       : -evaluate_regression(fit.model, *x_val, pick(t.value, val)).mse;
      }
    }
    // Best score; ties go to the stronger regularisation.
    size_t best = 0;
    for (size_t g = 0; g < grid.size(); ++g) {
      report["cv"].push_back(
          {{"lambda", grid[g]},
           {classification && o.kind != ProbeKind::RidgeClassifier ? "accuracy" : "neg_mse", score[g]}});
      if (score[g] > score[best] + 1e-12 ||
          (std::abs(score[g] - score[best]) <= 1e-12 && grid[g] > grid[best]))
        best = g;
    }
    lambda = grid[best];
  }
  report["lambda"] = o.kind == ProbeKind::MassMean ? json(nullptr) : json(lambda);
  if (o.kind == ProbeKind::Logistic) report["sklearn_C"] = 1.0 / (lambda * double(train.size()));
  if (o.kind == ProbeKind::Ridge || o.kind == ProbeKind::RidgeClassifier)
    report["sklearn_alpha"] = lambda * double(train.size());

  // Final fit on the training split.
  Fitted final_fit;
  {
    const auto x_train = src.design(train, &standardiser);
    final_fit = fit_once(o.kind, *x_train, y_train, v_train, n_classes, lambda, o, nullptr, "fit");
    if (final_fit.iterative) report["convergence"] = lbfgs_json(final_fit.lbfgs);
    if (classification)
      report["metrics"]["train"] = evaluate(o.kind, final_fit.model, *x_train, y_train, n_classes).to_json();
    else
      report["metrics"]["train"] = evaluate_regression(final_fit.model, *x_train, v_train).to_json();
  }
  const auto x_test = src.design(test, &standardiser);
  std::unique_ptr<DesignMatrix> x_val = val.empty() ? nullptr : src.design(val, &standardiser);
  if (classification) {
    const std::vector<int32_t> y_test = pick(t.label, test);
    const ClassificationMetrics m = evaluate(o.kind, final_fit.model, *x_test, y_test, n_classes);
    report["metrics"]["test"] = m.to_json();
    if (x_val)
      report["metrics"]["validation"] =
          evaluate(o.kind, final_fit.model, *x_val, pick(t.label, val), n_classes).to_json();
    const int32_t majority = majority_class(y_train, n_classes);
    report["baselines"]["majority"] =
        classification_metrics(y_test, std::vector<int32_t>(y_test.size(), majority), n_classes).to_json();
    report["baselines"]["majority"]["class"] = t.classes[majority];
    report["selectivity"] = nullptr;
    if (o.control) {
      std::vector<bool> is_train(n, false);
      for (int64_t i : train) is_train[i] = true;
      const std::vector<int32_t> control = control_labels(t.token, t.label, is_train, n_classes, o.seed);
      const std::vector<int32_t> c_train = pick(control, train), c_test = pick(control, test);
      std::vector<bool> seen(n_classes, false);
      int present = 0;
      for (int32_t c : c_train) present += !seen[c], seen[c] = true;
      if (present >= 2) {
        const auto x_train = src.design(train, &standardiser);
        const Fitted cf = fit_once(o.kind, *x_train, c_train, {}, n_classes, lambda, o, nullptr, "control");
        const ClassificationMetrics cm = evaluate(o.kind, cf.model, *x_test, c_test, n_classes);
        report["baselines"]["control"] = cm.to_json();
        report["baselines"]["control"]["train_accuracy"] =
            evaluate(o.kind, cf.model, *x_train, c_train, n_classes).accuracy;
        if (cf.iterative) report["baselines"]["control"]["convergence"] = lbfgs_json(cf.lbfgs);
        report["selectivity"] = m.accuracy - cm.accuracy;
      } else {
        report["baselines"]["control"] = {
            {"skipped", "the control labels of the training split hold one class"}};
      }
    }
  } else {
    const std::vector<double> v_test = pick(t.value, test);
    report["metrics"]["test"] = evaluate_regression(final_fit.model, *x_test, v_test).to_json();
    if (x_val)
      report["metrics"]["validation"] =
          evaluate_regression(final_fit.model, *x_val, pick(t.value, val)).to_json();
    double mean = 0;
    for (double v : v_train) mean += v / double(v_train.size());
    report["baselines"]["mean"] =
        regression_metrics(v_test, std::vector<double>(v_test.size(), mean)).to_json();
  }
  report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  FitResult r;
  r.probe.kind = o.kind;
  r.probe.classes = t.classes;
  r.probe.model = final_fit.model;
  r.probe.standardiser = standardiser;
  r.report = report;
  return r;
}

}  // namespace resid::probes
