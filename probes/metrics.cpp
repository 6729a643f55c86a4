#include "probes/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace resid::probes {

nlohmann::json ClassificationMetrics::to_json() const {
  nlohmann::json j = {{"n", n},
                      {"accuracy", accuracy},
                      {"balanced_accuracy", balanced_accuracy},
                      {"macro_f1", macro_f1},
                      {"confusion", confusion}};
  j["log_loss"] = log_loss >= 0 ? nlohmann::json(log_loss) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json RegressionMetrics::to_json() const {
  return {{"n", n}, {"r2", r2}, {"mse", mse}};
}

ClassificationMetrics classification_metrics(const std::vector<int32_t>& truth,
                                             const std::vector<int32_t>& predicted, int n_classes,
                                             const Eigen::MatrixXd& probabilities) {
  if (truth.size() != predicted.size()) throw InputError("metrics: truth and predictions differ in length");
  ClassificationMetrics m;
  m.n = static_cast<int64_t>(truth.size());
  m.confusion.assign(n_classes, std::vector<int64_t>(n_classes, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    ++m.confusion[truth[i]][predicted[i]];
    correct += truth[i] == predicted[i];
  }
  if (m.n == 0) return m;
  m.accuracy = double(correct) / double(m.n);
  // Balanced accuracy and macro-F1 average over the classes present in `truth` (as scikit-learn's
  // balanced_accuracy_score does; macro-F1 also counts classes only predicted, with F1 = 0).
  double recall_sum = 0, f1_sum = 0;
  int present = 0, f1_classes = 0;
  for (int c = 0; c < n_classes; ++c) {
    int64_t tp = m.confusion[c][c], actual = 0, predicted_c = 0;
    for (int o = 0; o < n_classes; ++o) actual += m.confusion[c][o], predicted_c += m.confusion[o][c];
    if (actual > 0) recall_sum += double(tp) / double(actual), ++present;
    if (actual > 0 || predicted_c > 0) {
      f1_sum += 2.0 * double(tp) / double(actual + predicted_c);
      ++f1_classes;
    }
  }
  m.balanced_accuracy = present ? recall_sum / present : 0;
  m.macro_f1 = f1_classes ? f1_sum / f1_classes : 0;
  if (probabilities.rows() == m.n) {
    double ll = 0;
    for (size_t i = 0; i < truth.size(); ++i)
      ll -= std::log(std::clamp(probabilities(i, truth[i]), 1e-15, 1.0));  // clipped as scikit-learn does
    m.log_loss = ll / double(m.n);
  }
  return m;
}

RegressionMetrics regression_metrics(const std::vector<double>& truth, const std::vector<double>& predicted) {
  if (truth.size() != predicted.size()) throw InputError("metrics: truth and predictions differ in length");
  RegressionMetrics m;
  m.n = static_cast<int64_t>(truth.size());
  if (m.n == 0) return m;
  double mean = 0;
  for (double t : truth) mean += t;
  mean /= double(m.n);
  double sse = 0, sst = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    sse += (truth[i] - predicted[i]) * (truth[i] - predicted[i]);
    sst += (truth[i] - mean) * (truth[i] - mean);
  }
  m.mse = sse / double(m.n);
  m.r2 = sst > 0 ? 1.0 - sse / sst : 0.0;
  return m;
}

int32_t majority_class(const std::vector<int32_t>& train, int n_classes) {
  std::vector<int64_t> counts(n_classes, 0);
  for (int32_t c : train) ++counts[c];
  return static_cast<int32_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

}  // namespace resid::probes
