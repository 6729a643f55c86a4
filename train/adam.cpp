#include "train/adam.h"

#include <Eigen/Core>
#include <cmath>

namespace resid::train {

void Adam::step(const std::vector<std::span<float>>& params, const std::vector<std::span<float>>& grads) {
  if (m_.empty()) {
    m_.resize(params.size());
    v_.resize(params.size());
    for (size_t t = 0; t < params.size(); ++t) {
      m_[t].assign(params[t].size(), 0.0f);
      v_[t].assign(params[t].size(), 0.0f);
    }
  }
  ++t_;
  const float b1 = float(beta1_), b2 = float(beta2_), eps = float(eps_), wd = float(weight_decay_);
  // lr / (1 - b1^t) and 1 / sqrt(1 - b2^t) in double, folded so the update is p -= step m / (sqrt(v) / c2 +
  // eps).
  const float step_size = float(lr_ / (1.0 - std::pow(beta1_, double(t_))));
  const float c2 = float(std::sqrt(1.0 - std::pow(beta2_, double(t_))));
  for (size_t t = 0; t < params.size(); ++t) {
    const Eigen::Index n = Eigen::Index(params[t].size());
    Eigen::Map<Eigen::ArrayXf> p(params[t].data(), n), m(m_[t].data(), n), v(v_[t].data(), n);
    Eigen::Map<const Eigen::ArrayXf> grad(grads[t].data(), n);
    if (decoupled_) p *= 1.0f - float(lr_) * wd;
    const Eigen::ArrayXf g = decoupled_ ? Eigen::ArrayXf(grad) : Eigen::ArrayXf(grad + wd * p);
    m = b1 * m + (1.0f - b1) * g;
    v = b2 * v + (1.0f - b2) * g.square();
    p -= step_size * m / (v.sqrt() / c2 + eps);
  }
}

}  // namespace resid::train
