// A fitted probe: a linear model on standardised features plus what it was fitted on, and its file format
// (.safetensors: tensors weight [k, d], bias [k], mean [d], scale [d]; JSON metadata in the header's
// __metadata__, see docs/probes.md).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "probes/linear_model.h"
#include "probes/standardiser.h"

namespace resid::probes {

enum class ProbeKind { Logistic, Ridge, RidgeClassifier, MassMean };
// "logistic", "ridge", "ridge-classifier", "mass-mean"; parse throws InputError listing the kinds.
std::string probe_kind_name(ProbeKind k);
ProbeKind parse_probe_kind(const std::string& name);
bool is_classifier(ProbeKind k);

struct Probe {
  ProbeKind kind = ProbeKind::Logistic;
  std::string hook, label;
  std::string label_kind;            // token_class, sequence_class, sequence_number
  std::string reduce;                // how sequence examples were reduced ("none" for token labels)
  std::vector<std::string> classes;  // class index -> name (empty for regression)
  std::vector<int32_t> class_ids;    // class index -> id in the capture's label column
  LinearModel model;                 // on standardised features
  Standardiser standardiser;
  nlohmann::json info;  // hyperparameters, metrics, convergence, provenance (saved as metadata "probe")

  int64_t d() const { return model.w.cols(); }
  // Scores for raw (unstandardised) rows x [n, d]: [n, k].
  Eigen::MatrixXd scores(const RowMatrix& x) const;
  // Unit direction in the raw residual basis that increases class `cls` (or the regressed number when the
  // probe is a regression and cls is empty). docs/probes.md gives the definition per kind.
  Eigen::VectorXf direction(const std::string& cls) const;
};

void save_probe(const std::string& path, const Probe& probe);
// FormatError naming the file for anything that is not a complete resid probe file.
Probe load_probe(const std::string& path);

}  // namespace resid::probes
