// Probe accuracy by layer from `resid probe sweep --json` (docs/probes.md): test accuracy, balanced accuracy,
// the majority baseline and the control task (Hewitt & Liang) per hook, and selectivity = accuracy - control
// accuracy; R² and the mean baseline for number labels.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/report.h"

namespace resid {

// Reads and checks a sweep's JSON: an object with "probes", an array of fit reports (or skipped entries).
// InputError naming the file for anything else.
nlohmann::json read_probe_sweep(const std::string& path);

// A model the sweep must have been fitted on: the sha256 a capture or checkpoint states, and what said so.
struct ExpectedModel {
  std::string sha256;
  std::string source;  // "capture acts.h5", "model stories260K.bin"
};

// InputError naming `path` when the sweep's probes come from different models, or from a model other than
// every `expected` one (a sweep of another model's capture).
Section probe_section(const nlohmann::json& sweep, const std::string& path,
                      const std::vector<ExpectedModel>& expected);

}  // namespace resid
