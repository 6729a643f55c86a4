// The trainable parameters of a plain MLP (core/mlp.h) in a scalar type of choice: float for training, double
// for gradient checks. Gradients have the same type, so a backward pass fills an MlpParams too.
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <vector>

#include "core/config.h"
#include "core/mlp.h"

namespace resid::train {

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;

template <typename T>
struct LinearParams {
  Matrix<T> weight;   // [d_out, d_in], PyTorch's layout, as core::Linear
  RowVector<T> bias;  // [d_out]
};

template <typename T>
struct MlpParams {
  std::vector<LinearParams<T>> layers;
  ActFn act_fn = ActFn::ReLU;  // between layers, none after the last

  std::vector<int> widths() const;  // d_in, hidden..., d_out
  int64_t parameter_count() const;
  MlpParams zeros_like() const;
  bool all_finite() const;
  // Every tensor as one flat span, layer by layer, weight before bias: what optimisers update.
  std::vector<std::span<T>> tensors();
  template <typename U>
  MlpParams<U> cast() const {
    MlpParams<U> out;
    out.act_fn = act_fn;
    for (const LinearParams<T>& l : layers)
      out.layers.push_back({l.weight.template cast<U>(), l.bias.template cast<U>()});
    return out;
  }
};

extern template struct MlpParams<float>;
extern template struct MlpParams<double>;

// Copies to and from the core model, whose forward, hooks and checkpoint writer then apply unchanged.
MlpParams<float> params_of(const Mlp& mlp);
Mlp to_mlp(const MlpParams<float>& params);

}  // namespace resid::train
