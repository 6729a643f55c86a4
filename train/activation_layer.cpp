#include "train/activation_layer.h"

#include <cmath>
#include <type_traits>

#include "core/activations.h"

namespace resid::train {

namespace {

constexpr double kSqrt2OverPi = 0.79788456080286536;
constexpr double kGeluCubic = 0.044715;

// The activations in double, for gradient checks (float goes through core's vectorised apply_activation).
double activate_double(ActFn fn, double x) {
  switch (fn) {
    case ActFn::ReLU: return x > 0 ? x : 0.0;
    case ActFn::GeLU: return 0.5 * x * (1.0 + std::erf(x * M_SQRT1_2));
    case ActFn::GeLUTanh: return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + kGeluCubic * x * x * x)));
    case ActFn::SiLU: return x / (1.0 + std::exp(-x));
  }
  return x;
}

}  // namespace

double activation_derivative(ActFn fn, double x) {
  switch (fn) {
    case ActFn::ReLU: return x > 0 ? 1.0 : 0.0;
    case ActFn::GeLU:
      return 0.5 * (1.0 + std::erf(x * M_SQRT1_2)) +
             x * std::exp(-0.5 * x * x) * 0.5 * M_2_SQRTPI * M_SQRT1_2;
    case ActFn::GeLUTanh: {
      const double t = std::tanh(kSqrt2OverPi * (x + kGeluCubic * x * x * x));
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kSqrt2OverPi * (1.0 + 3.0 * kGeluCubic * x * x);
    }
    case ActFn::SiLU: {
      const double s = 1.0 / (1.0 + std::exp(-x));
      return s * (1.0 + x * (1.0 - s));
    }
  }
  return 1.0;
}

template <typename T>
void activation_forward(ActFn fn, const Matrix<T>& pre, Matrix<T>& post) {
  post = pre;
  if constexpr (std::is_same_v<T, float>) {
    apply_activation(fn, post.data(), post.size());
  } else {
    post = post.unaryExpr([fn](double v) { return activate_double(fn, v); });
  }
}

template <typename T>
void activation_backward(ActFn fn, const Matrix<T>& pre, const Matrix<T>& d_post, Matrix<T>& d_pre) {
  if (fn == ActFn::ReLU) {  // the common case, vectorised
    d_pre = (pre.array() > T(0)).select(d_post.array(), T(0)).matrix();
    return;
  }
  d_pre =
      d_post.cwiseProduct(pre.unaryExpr([fn](T v) { return static_cast<T>(activation_derivative(fn, v)); }));
}

template void activation_forward(ActFn, const Matrix<float>&, Matrix<float>&);
template void activation_forward(ActFn, const Matrix<double>&, Matrix<double>&);
template void activation_backward(ActFn, const Matrix<float>&, const Matrix<float>&, Matrix<float>&);
template void activation_backward(ActFn, const Matrix<double>&, const Matrix<double>&, Matrix<double>&);

}  // namespace resid::train
