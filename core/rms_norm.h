// RMSNorm in three visible steps so hooks can sit between them, as in TransformerLens:
//   scale = sqrt(mean(x^2) + eps)        -> ln.hook_scale       [rows, 1]
//   normalized = x / scale               -> ln.hook_normalized  [rows, d_model]
//   out = normalized * w
#pragma once
#include "core/tensor.h"

namespace resid {

// x: [rows, d]; scale: [rows]
void rms_scale(const RowMatrix& x, float eps, Eigen::VectorXf& scale);
// out = x / scale (row-wise)
void rms_normalize(const RowMatrix& x, const Eigen::VectorXf& scale, RowMatrix& out);
// out *= w (column-wise), w: [d]
void apply_norm_weight(RowMatrix& out, const Tensor& w);

}  // namespace resid
