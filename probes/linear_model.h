// A linear scorer on standardised features: scores = x W^T + b. Binary probes have one row (the positive
// class's logit against the negative one); multiclass probes one row per class; regression one row per
// target.
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "probes/design_matrix.h"

namespace resid::probes {

struct LinearModel {
  Eigen::MatrixXd w;  // [k, d]
  Eigen::VectorXd b;  // [k]

  // Scores of every row of x: [rows, k] (float64).
  Eigen::MatrixXd scores(const DesignMatrix& x) const;
};

// Class predictions from scores: one column -> score > 0 means class 1; otherwise argmax.
std::vector<int32_t> predict_classes(const Eigen::MatrixXd& scores);
// Class probabilities from logistic scores: [rows, n_classes] (sigmoid for one column, softmax otherwise).
Eigen::MatrixXd class_probabilities(const Eigen::MatrixXd& scores);

}  // namespace resid::probes
