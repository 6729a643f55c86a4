// Optimisers update parameters in place from their gradients, tensor by tensor (MlpParams::tensors()), and
// know nothing of layers. Weight decay applies to every parameter, biases included (PyTorch's default):
//   sgd:   g += wd p;  v = momentum v + g;  p -= lr v                            (torch.optim.SGD, dampening
//   0) adam:  g += wd p;  m, v moments;  p -= lr m^ / (sqrt(v^) + eps)              (torch.optim.Adam, L2 in
//   g) adamw: p -= lr wd p;  then adam without wd                                   (torch.optim.AdamW,
//   decoupled)
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace resid::train {

enum class OptimizerKind { Sgd, Adam, AdamW };

// One row per kind: its name and the learning rate it uses when none is given.
struct OptimizerInfo {
  OptimizerKind kind;
  const char* name;  // "sgd", "adam", "adamw"
  double default_lr;
};
const std::vector<OptimizerInfo>& optimizer_kinds();
const OptimizerInfo& optimizer_info(OptimizerKind kind);
OptimizerKind optimizer_from_name(const std::string& name);  // ConfigError naming the choices

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::Adam;
  std::optional<double> lr;                       // unset: the kind's default_lr (see lr_or_default)
  double momentum = 0.9;                          // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
  double weight_decay = 0;

  double lr_or_default() const;
  // ConfigError naming the field: lr (when set) must be positive and finite, momentum in [0, 1), betas in
  // [0, 1), eps > 0, weight_decay >= 0, all finite.
  void validate() const;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // params[i] -= ... from grads[i]; the same tensors, in the same order, on every call.
  virtual void step(const std::vector<std::span<float>>& params,
                    const std::vector<std::span<float>>& grads) = 0;
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options);

}  // namespace resid::train
