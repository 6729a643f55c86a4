#include "train/mlp_backprop.h"

#include <string>

#include "core/error.h"
#include "train/activation_layer.h"
#include "train/linear_layer.h"

namespace resid::train {

template <typename T>
Matrix<T> mlp_forward(const MlpParams<T>& params, const Matrix<T>& x, ForwardCache<T>* cache) {
  const size_t n_layers = params.layers.size();
  if (n_layers == 0) throw InputError("the MLP has no layers");
  if (x.cols() != params.layers.front().weight.cols())
    throw InputError("MLP input has " + std::to_string(x.cols()) + " features, expected " +
                     std::to_string(params.layers.front().weight.cols()));
  ForwardCache<T> local;
  ForwardCache<T>& c = cache ? *cache : local;
  c.inputs.resize(n_layers);
  c.pre.resize(n_layers - 1);
  c.inputs[0] = x;
  Matrix<T> out;
  for (size_t i = 0; i < n_layers; ++i) {
    if (i + 1 == n_layers) {  // no activation after the last layer
      linear_forward(params.layers[i], c.inputs[i], out);
      break;
    }
    linear_forward(params.layers[i], c.inputs[i], c.pre[i]);       // pre_i = h_i W_i^T + b_i
    activation_forward(params.act_fn, c.pre[i], c.inputs[i + 1]);  // h_{i+1} = act(pre_i)
  }
  return out;
}

template <typename T>
void mlp_backward(const MlpParams<T>& params, const ForwardCache<T>& cache, const Matrix<T>& d_out,
                  MlpParams<T>& grads, Matrix<T>* d_x) {
  const size_t n_layers = params.layers.size();
  if (cache.inputs.size() != n_layers || cache.pre.size() + 1 != n_layers)
    throw InputError("mlp_backward: the cache is not from a forward of this MLP");
  grads.act_fn = params.act_fn;
  grads.layers.resize(n_layers);
  Matrix<T> d_h = d_out, d_pre;  // dL/d(layer output), walking back
  for (size_t i = n_layers; i-- > 0;) {
    if (i + 1 < n_layers)
      activation_backward(params.act_fn, cache.pre[i], d_h, d_pre);  // through act
    else
      d_pre = std::move(d_h);
    const bool need_dx = i > 0 || d_x != nullptr;
    linear_backward(params.layers[i], cache.inputs[i], d_pre, grads.layers[i], need_dx ? &d_h : nullptr);
  }
  if (d_x) *d_x = std::move(d_h);
}

template Matrix<float> mlp_forward(const MlpParams<float>&, const Matrix<float>&, ForwardCache<float>*);
template Matrix<double> mlp_forward(const MlpParams<double>&, const Matrix<double>&, ForwardCache<double>*);
template void mlp_backward(const MlpParams<float>&, const ForwardCache<float>&, const Matrix<float>&,
                           MlpParams<float>&, Matrix<float>*);
template void mlp_backward(const MlpParams<double>&, const ForwardCache<double>&, const Matrix<double>&,
                           MlpParams<double>&, Matrix<double>*);

}  // namespace resid::train
