// Adam (torch.optim.Adam, weight decay as L2 in the gradient) and AdamW (torch.optim.AdamW, decoupled decay):
//   adamw only:  p -= lr wd p
//   adam only:   g = grad + wd p
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  m^ = m / (1 - b1^t);  v^ = v / (1 - b2^t)
//   p -= lr m^ / (sqrt(v^) + eps)
#pragma once
#include <cstdint>
#include <vector>

#include "train/optimizer.h"

namespace resid::train {

class Adam : public Optimizer {
 public:
  Adam(double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled)
      : lr_(lr),
        beta1_(beta1),
        beta2_(beta2),
        eps_(eps),
        weight_decay_(weight_decay),
        decoupled_(decoupled) {}
  void step(const std::vector<std::span<float>>& params, const std::vector<std::span<float>>& grads) override;

 private:
  double lr_, beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_;  // first and second moments, one per tensor
};

}  // namespace resid::train
