// The MLP's forward with the caches its backward needs, and the backward (backpropagation through every
// layer):
//   h_0 = x;  pre_i = h_i W_i^T + b_i;  h_{i+1} = act(pre_i)  (hidden layers);  out = h_L W_L^T + b_L
// Whole mini-batches at once. The cache is also what a fold/region picture reads: run mlp_forward on a grid
// of points and `pre[i] > 0` is which ReLUs of hidden layer i are on at each point.
#pragma once
#include <vector>

#include "train/mlp_params.h"

namespace resid::train {

template <typename T>
struct ForwardCache {
  std::vector<Matrix<T>>
      inputs;                  // inputs[i]: [batch, widths[i]], the input of Linear layer i (inputs[0] = x)
  std::vector<Matrix<T>> pre;  // pre[i]: [batch, widths[i + 1]], hidden layer i's pre-activation
                               // (mlp.hook_pre); its post-activation is inputs[i + 1] (mlp.hook_post)
};

// x: [batch, d_in] -> [batch, d_out]. With a cache, fills it (buffers reused across calls of the same batch
// size). InputError when x has the wrong number of features.
template <typename T>
Matrix<T> mlp_forward(const MlpParams<T>& params, const Matrix<T>& x, ForwardCache<T>* cache = nullptr);

// d_out = dL/d(out) ([batch, d_out]) -> every parameter's gradient in `grads` (shaped like params,
// overwritten). `cache` is the one mlp_forward filled for the same params and input. When d_x is not null it
// receives dL/dx.
template <typename T>
void mlp_backward(const MlpParams<T>& params, const ForwardCache<T>& cache, const Matrix<T>& d_out,
                  MlpParams<T>& grads, Matrix<T>* d_x = nullptr);

}  // namespace resid::train
