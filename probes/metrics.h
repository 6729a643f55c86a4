// Evaluation metrics (definitions in docs/probes.md).
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace resid::probes {

struct ClassificationMetrics {
  int64_t n = 0;
  double accuracy = 0, balanced_accuracy = 0, macro_f1 = 0;
  double log_loss = -1;                         // -1 when the probe gives no probabilities
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  nlohmann::json to_json() const;
};

struct RegressionMetrics {
  int64_t n = 0;
  double r2 = 0, mse = 0;
  nlohmann::json to_json() const;
};

// probabilities: [n, n_classes] or empty (no log-loss).
ClassificationMetrics classification_metrics(const std::vector<int32_t>& truth,
                                             const std::vector<int32_t>& predicted, int n_classes,
                                             const Eigen::MatrixXd& probabilities = {});
RegressionMetrics regression_metrics(const std::vector<double>& truth, const std::vector<double>& predicted);

// The majority-class baseline: the most frequent class of `train`, scored on `truth`.
int32_t majority_class(const std::vector<int32_t>& train, int n_classes);

}  // namespace resid::probes
