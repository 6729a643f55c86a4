#include "train/sgd.h"

#include <Eigen/Core>

namespace resid::train {

void Sgd::step(const std::vector<std::span<float>>& params, const std::vector<std::span<float>>& grads) {
  const bool first = velocity_.empty();
  if (first) velocity_.resize(params.size());
  for (size_t t = 0; t < params.size(); ++t) {
    Eigen::Map<Eigen::ArrayXf> p(params[t].data(), Eigen::Index(params[t].size()));
    Eigen::Map<const Eigen::ArrayXf> grad(grads[t].data(), Eigen::Index(grads[t].size()));
    const Eigen::ArrayXf g = grad + weight_decay_ * p;
    if (momentum_ == 0) {
      p -= lr_ * g;
      continue;
    }
    if (first) velocity_[t].assign(params[t].size(), 0.0f);
    Eigen::Map<Eigen::ArrayXf> v(velocity_[t].data(), Eigen::Index(velocity_[t].size()));
    if (first)
      v = g;
    else
      v = momentum_ * v + g;
    p -= lr_ * v;
  }
}

}  // namespace resid::train
