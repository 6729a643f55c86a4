#include "core/mlp.h"

#include "core/activations.h"
#include "core/error.h"

namespace resid {

void MlpConfig::validate() const {
  if (widths.size() < 2) throw ConfigError("an MLP needs at least one Linear layer");
  for (size_t i = 0; i < widths.size(); ++i)
    if (widths[i] <= 0)
      throw ConfigError("MLP width " + std::to_string(i) + " = " + std::to_string(widths[i]) +
                        " must be positive");
}

Mlp::Mlp(std::vector<Linear> layers, ActFn act_fn, const std::string& source) : layers_(std::move(layers)) {
  config_.act_fn = act_fn;
  if (layers_.empty()) throw FormatError(source, "no Linear layers");
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Linear& l = layers_[i];
    const std::string name = "layer " + std::to_string(i);
    if (l.weight.shape.size() != 2)
      throw FormatError(source,
                        name + " weight has shape " + shape_string(l.weight.shape) + ", expected 2-D");
    const int64_t out = l.weight.shape[0], in = l.weight.shape[1];
    if (i == 0) config_.widths.push_back(static_cast<int>(in));
    if (in != config_.widths.back())
      throw FormatError(source, name + " takes " + std::to_string(in) +
                                    " inputs but the previous layer gives " +
                                    std::to_string(config_.widths.back()));
    if (l.bias.shape != std::vector<int64_t>{out})
      throw FormatError(source, name + " bias has shape " + shape_string(l.bias.shape) + ", expected [" +
                                    std::to_string(out) + "]");
    config_.widths.push_back(static_cast<int>(out));
  }
  config_.validate();
}

RowMatrix Mlp::forward(const RowMatrix& x, HookVisitor* hooks) const {
  if (x.cols() != config_.widths.front())
    throw InputError("MLP input has " + std::to_string(x.cols()) + " features, expected " +
                     std::to_string(config_.widths.front()));
  auto offer = [&](HookSite site, int layer, RowMatrix& a) {
    if (!hooks || !hooks->wants({site, layer})) return;
    ActivationView view{{site, layer}, a.data(), {a.rows(), a.cols()}, nullptr, 0};
    hooks->visit(view);
  };
  RowMatrix h = x;  // [batch, d_in]
  offer(HookSite::Embed, -1, h);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const int layer = static_cast<int>(i);
    RowMatrix pre = h * layers_[i].weight.matrix().transpose();  // [batch, d_out]
    pre.rowwise() += layers_[i].bias.vector().transpose();
    if (i + 1 == layers_.size()) {  // no activation after the last layer
      offer(HookSite::UnembedOut, -1, pre);
      return pre;
    }
    offer(HookSite::MlpPre, layer, pre);
    apply_activation(config_.act_fn, pre.data(), pre.size());
    offer(HookSite::MlpPost, layer, pre);
    h = std::move(pre);
  }
  return h;
}

}  // namespace resid
