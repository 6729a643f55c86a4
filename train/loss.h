// Losses over a mini-batch of outputs [batch, d_out] and class ids, each returning the mean loss and writing
// dL/d(out):
//   cross_entropy (softmax fused): L = mean_b (logsumexp(z_b) - z_b[y_b]),  dL/dz = (softmax(z) - onehot(y))
//   / batch mse (PyTorch's MSELoss, mean over every element): L = mean_{b,j} (z_bj - onehot(y)_bj)^2,
//                                                     dL/dz = 2 (z - onehot(y)) / (batch * d_out)
// Sums run in double, in row order, so the loss does not depend on memory layout.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/mlp_params.h"

namespace resid::train {

enum class LossKind { CrossEntropy, Mse };
std::string loss_name(LossKind kind);              // "cross_entropy", "mse"
LossKind loss_from_name(const std::string& name);  // ConfigError naming the choices

// out: [batch, d_out], labels: [batch] in [0, d_out). d_out may be null (evaluation only). NaN/inf outputs
// give a NaN/inf loss, never an exception: the trainer decides what a diverged loss means.
template <typename T>
double loss_and_grad(LossKind kind, const Matrix<T>& out, const int32_t* labels, Matrix<T>* d_out);

// How many rows' largest output (the first, on ties) is their label.
template <typename T>
int64_t count_correct(const Matrix<T>& out, const int32_t* labels);

}  // namespace resid::train
