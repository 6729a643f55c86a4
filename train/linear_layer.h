// The Linear layer over a whole mini-batch: y = x W^T + b, and its backward
//   dW = dy^T x,  db = sum over the batch of dy,  dx = dy W.
// Each is one matrix product over the batch, never a loop over examples.
#pragma once
#include "train/mlp_params.h"

namespace resid::train {

// x: [batch, d_in] -> y: [batch, d_out] (resized; its buffer is reused when the size is unchanged).
template <typename T>
void linear_forward(const LinearParams<T>& p, const Matrix<T>& x, Matrix<T>& y);

// Given x and dy = dL/dy ([batch, d_out]), writes dL/dW and dL/db into `grad` (overwriting) and, when dx is
// not null, dL/dx ([batch, d_in]).
template <typename T>
void linear_backward(const LinearParams<T>& p, const Matrix<T>& x, const Matrix<T>& dy, LinearParams<T>& grad,
                     Matrix<T>* dx);

}  // namespace resid::train
