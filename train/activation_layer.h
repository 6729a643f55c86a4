// The activation between Linear layers, element-wise over a whole mini-batch, and its backward
//   d_pre = d_post * act'(pre)
// for every activation the MLP family has (core/config.h ActFn):
//   relu:      1 where pre > 0, else 0 (the subgradient 0 at pre = 0, as PyTorch)
//   gelu:      Phi(x) + x phi(x)                                        (the exact, erf form)
//   gelu_tanh: 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) k (1 + 3 c x^2), u = k (x + c x^3), k = sqrt(2/pi), c
//   = 0.044715 silu:      s (1 + x (1 - s)), s = sigmoid(x)
// The float forward is core's apply_activation, so a trained model's training forward and core::Mlp::forward
// compute the same activations.
#pragma once
#include "train/mlp_params.h"

namespace resid::train {

// post = act(pre), both [batch, width] (post resized).
template <typename T>
void activation_forward(ActFn fn, const Matrix<T>& pre, Matrix<T>& post);

// d_pre = d_post * act'(pre) (d_pre resized).
template <typename T>
void activation_backward(ActFn fn, const Matrix<T>& pre, const Matrix<T>& d_post, Matrix<T>& d_pre);

// act'(x) at one point, for tests and hand-traced checks.
double activation_derivative(ActFn fn, double x);

}  // namespace resid::train
