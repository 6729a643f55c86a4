// The plain MLP family: Linear layers in PyTorch's (out, in) layout with biases, one activation between
// layers and none after the last (e.g. MNIST 784 -> 500 ReLU -> 10).
#pragma once
#include <string>
#include <vector>

#include "core/config.h"
#include "core/hook_visitor.h"
#include "core/tensor.h"

namespace resid {

struct Linear {
  Tensor weight;  // [d_out, d_in]
  Tensor bias;    // [d_out]
};

struct MlpConfig {
  std::vector<int> widths;  // d_in, hidden..., d_out
  ActFn act_fn = ActFn::ReLU;
  void validate() const;
};

class Mlp {
 public:
  // Checks that consecutive layers chain (throws FormatError naming `source` and the layer).
  Mlp(std::vector<Linear> layers, ActFn act_fn, const std::string& source = "mlp");

  const MlpConfig& config() const { return config_; }
  const std::vector<Linear>& layers() const { return layers_; }

  // x: [batch, d_in] -> [batch, d_out]. Hooks, named in TransformerLens style: hook_embed (the input),
  // blocks.{i}.mlp.hook_pre / blocks.{i}.mlp.hook_post for each hidden layer i, unembed.hook_out (the
  // output).
  RowMatrix forward(const RowMatrix& x, HookVisitor* hooks = nullptr) const;

 private:
  MlpConfig config_;
  std::vector<Linear> layers_;
};

}  // namespace resid
