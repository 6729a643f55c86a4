#include "train/optimizer.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "train/adam.h"
#include "train/sgd.h"

namespace resid::train {

const std::vector<OptimizerInfo>& optimizer_kinds() {
  static const std::vector<OptimizerInfo> kinds = {
      {OptimizerKind::Sgd, "sgd", 0.1},
      {OptimizerKind::Adam, "adam", 0.01},
      {OptimizerKind::AdamW, "adamw", 0.01},
  };
  return kinds;
}

const OptimizerInfo& optimizer_info(OptimizerKind kind) {
  for (const OptimizerInfo& o : optimizer_kinds())
    if (o.kind == kind) return o;
  throw ConfigError("unknown optimizer kind");
}

OptimizerKind optimizer_from_name(const std::string& name) {
  std::string names;
  for (const OptimizerInfo& o : optimizer_kinds()) {
    if (name == o.name) return o.kind;
    names += (names.empty() ? "" : ", ") + std::string(o.name);
  }
  throw ConfigError("unknown optimizer '" + name + "' (expected " + names + ")");
}

double OptimizerOptions::lr_or_default() const {
  return lr.value_or(optimizer_info(kind).default_lr);
}

void OptimizerOptions::validate() const {
  auto number = [](double v) {
    std::ostringstream s;
    s << v;  // "0.001", "-1", "nan"
    return s.str();
  };
  if (lr && (!(*lr > 0) || !std::isfinite(*lr)))
    throw ConfigError("lr = " + number(*lr) + " must be a positive finite number");
  if (!(momentum >= 0 && momentum < 1))
    throw ConfigError("momentum = " + number(momentum) + " is not in [0, 1)");
  if (!(beta1 >= 0 && beta1 < 1)) throw ConfigError("beta1 = " + number(beta1) + " is not in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) throw ConfigError("beta2 = " + number(beta2) + " is not in [0, 1)");
  if (!(eps > 0) || !std::isfinite(eps)) throw ConfigError("eps = " + number(eps) + " must be positive");
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
    throw ConfigError("weight_decay = " + number(weight_decay) + " must be finite and not negative");
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options) {
  options.validate();
  switch (options.kind) {
    case OptimizerKind::Sgd:
      return std::make_unique<Sgd>(options.lr_or_default(), options.momentum, options.weight_decay);
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW:
      return std::make_unique<Adam>(options.lr_or_default(), options.beta1, options.beta2, options.eps,
                                    options.weight_decay, options.kind == OptimizerKind::AdamW);
  }
  throw ConfigError("unknown optimizer kind");
}

}  // namespace resid::train
