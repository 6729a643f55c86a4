// The probe-fitting pipeline: seeded split by sequence, standardisation on the training set, regularisation
// by k-fold cross-validation over a grid (or fixed), the final fit, metrics on every split, and the baselines
// (majority class, control task; selectivity = test accuracy - control test accuracy).
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "probes/example_source.h"
#include "probes/probe.h"
#include "probes/splits.h"

namespace resid::probes {

struct FitOptions {
  ProbeKind kind = ProbeKind::Logistic;
  std::optional<double> lambda;  // fixed; otherwise chosen from `grid`
  std::vector<double> grid;      // empty = default_lambda_grid(kind)
  int folds = 3;                 // < 2: choose lambda on the validation split
  SplitFractions split;
  uint64_t seed = 0;
  bool control = true;  // fit the control task (classification)
  int max_iter = 1000;
  double tol = 1e-4;
  // Progress: a stage ("cv 2/3 lambda 1e-03", "fit", "control") and the solver's iteration.
  std::function<void(const std::string& stage, int iteration)> on_progress;
};

std::vector<double> default_lambda_grid(ProbeKind kind);

struct FitResult {
  Probe probe;            // model + standardiser + classes; probe.info holds the report below
  nlohmann::json report;  // everything measured (docs/probes.md lists the fields)
};

FitResult fit_probe(const ExampleSource& source, const FitOptions& options);

}  // namespace resid::probes
