// Difference-of-class-means ("mass-mean") probes: the nearest class mean in standardised space, a linear
// rule. Binary: w = mu_1 - mu_0, b = -(|mu_1|^2 - |mu_0|^2) / 2 (score > 0 -> class 1, i.e. the projection on
// the mean difference beyond the midpoint). Multiclass: row c = mu_c, b_c = -|mu_c|^2 / 2 (argmax).
#pragma once
#include <cstdint>
#include <vector>

#include "probes/linear_model.h"

namespace resid::probes {

// Class means [n_classes, d] over one pass of x.
Eigen::MatrixXd class_means(const DesignMatrix& x, const std::vector<int32_t>& y, int n_classes);
LinearModel fit_mass_mean(const DesignMatrix& x, const std::vector<int32_t>& y, int n_classes);

}  // namespace resid::probes
