#include "train/linear_layer.h"

namespace resid::train {

template <typename T>
void linear_forward(const LinearParams<T>& p, const Matrix<T>& x, Matrix<T>& y) {
  y.noalias() = x * p.weight.transpose();  // [batch, d_out]; the same product as core::Mlp::forward
  y.rowwise() += p.bias;
}

template <typename T>
void linear_backward(const LinearParams<T>& p, const Matrix<T>& x, const Matrix<T>& dy, LinearParams<T>& grad,
                     Matrix<T>* dx) {
  grad.weight.noalias() = dy.transpose() * x;  // [d_out, d_in]
  grad.bias = dy.colwise().sum();              // [d_out]
  if (dx) dx->noalias() = dy * p.weight;       // [batch, d_in]
}

template void linear_forward(const LinearParams<float>&, const Matrix<float>&, Matrix<float>&);
template void linear_forward(const LinearParams<double>&, const Matrix<double>&, Matrix<double>&);
template void linear_backward(const LinearParams<float>&, const Matrix<float>&, const Matrix<float>&,
                              LinearParams<float>&, Matrix<float>*);
template void linear_backward(const LinearParams<double>&, const Matrix<double>&, const Matrix<double>&,
                              LinearParams<double>&, Matrix<double>*);

}  // namespace resid::train
