// Stochastic gradient descent with momentum and L2 weight decay, as torch.optim.SGD (dampening 0, not
// Nesterov): g = grad + wd p;  v = momentum v + g (v = g on the first step);  p -= lr v.
#pragma once
#include <vector>

#include "train/optimizer.h"

namespace resid::train {

class Sgd : public Optimizer {
 public:
  Sgd(double lr, double momentum, double weight_decay)
      : lr_(lr), momentum_(momentum), weight_decay_(weight_decay) {}
  void step(const std::vector<std::span<float>>& params, const std::vector<std::span<float>>& grads) override;

 private:
  float lr_, momentum_, weight_decay_;
  std::vector<std::vector<float>> velocity_;  // one per tensor, empty before the first step
};

}  // namespace resid::train
