#include "train/mlp_params.h"

namespace resid::train {

template <typename T>
std::vector<int> MlpParams<T>::widths() const {
  std::vector<int> w;
  if (layers.empty()) return w;
  w.push_back(static_cast<int>(layers.front().weight.cols()));
  for (const LinearParams<T>& l : layers) w.push_back(static_cast<int>(l.weight.rows()));
  return w;
}

template <typename T>
int64_t MlpParams<T>::parameter_count() const {
  int64_t n = 0;
  for (const LinearParams<T>& l : layers) n += l.weight.size() + l.bias.size();
  return n;
}

template <typename T>
MlpParams<T> MlpParams<T>::zeros_like() const {
  MlpParams out;
  out.act_fn = act_fn;
  for (const LinearParams<T>& l : layers)
    out.layers.push_back(
        {Matrix<T>::Zero(l.weight.rows(), l.weight.cols()), RowVector<T>::Zero(l.bias.size())});
  return out;
}

template <typename T>
bool MlpParams<T>::all_finite() const {
  for (const LinearParams<T>& l : layers)
    if (!l.weight.allFinite() || !l.bias.allFinite()) return false;
  return true;
}

template <typename T>
std::vector<std::span<T>> MlpParams<T>::tensors() {
  std::vector<std::span<T>> out;
  for (LinearParams<T>& l : layers) {
    out.emplace_back(l.weight.data(), static_cast<size_t>(l.weight.size()));
    out.emplace_back(l.bias.data(), static_cast<size_t>(l.bias.size()));
  }
  return out;
}

template struct MlpParams<float>;
template struct MlpParams<double>;

MlpParams<float> params_of(const Mlp& mlp) {
  MlpParams<float> p;
  p.act_fn = mlp.config().act_fn;
  for (const Linear& l : mlp.layers()) p.layers.push_back({l.weight.matrix(), l.bias.vector().transpose()});
  return p;
}

Mlp to_mlp(const MlpParams<float>& params) {
  std::vector<Linear> layers;
  for (const LinearParams<float>& l : params.layers) {
    const int64_t out = l.weight.rows(), in = l.weight.cols();
    layers.push_back(
        {Tensor::owned({out, in}, std::vector<float>(l.weight.data(), l.weight.data() + out * in)),
         Tensor::owned({out}, std::vector<float>(l.bias.data(), l.bias.data() + out))});
  }
  return Mlp(std::move(layers), params.act_fn, "trained MLP");
}

}  // namespace resid::train
