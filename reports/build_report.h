// Building a whole report from whichever inputs are given: each section whose input is present is rendered,
// and each one whose input is missing is listed as skipped with the reason. Bad input (a capture without the
// hooks a section needs, a probe sweep of another model, ...) is an error, thrown before anything is written.
#pragma once
#include <string>
#include <vector>

#include "reports/fold_maps.h"
#include "reports/report.h"
#include "reports/training_section.h"

namespace resid {

struct ReportInputs {
  std::string title = "resid report";
  std::string capture;                    // activation file: activation statistics by layer
  std::string census;                     // census statistics file (resid census -o): the census section
  std::vector<std::string> probe_sweeps;  // resid probe sweep --json outputs: probe accuracy by layer, one
                                          // section per sweep (e.g. one per label)
  std::string model;      // with `prompt`: logit lens and attention (a plain MLP instead gives weight tiles)
  std::string tokenizer;  // overrides the model's tokenizer discovery
  std::string prompt;
  std::string
      mlp_weights;  // a plain MLP checkpoint: first-layer weight tiles, or folds when its input is 2-D
  PlanePoints plane_points;  // drawn over the folds (e.g. the training set)
  std::string plane_points_source;
  std::vector<TrainingHistory> training_runs;  // loss, accuracy and dead ReLUs by epoch
  std::string command_line;                    // shown in the provenance table
};

Report build_report(const ReportInputs& inputs);

}  // namespace resid
