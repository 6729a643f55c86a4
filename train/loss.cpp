#include "train/loss.h"

#include <cmath>

#include "core/error.h"

namespace resid::train {

std::string loss_name(LossKind kind) {
  return kind == LossKind::CrossEntropy ? "cross_entropy" : "mse";
}

LossKind loss_from_name(const std::string& name) {
  if (name == "cross_entropy") return LossKind::CrossEntropy;
  if (name == "mse") return LossKind::Mse;
  throw ConfigError("unknown loss '" + name + "' (expected cross_entropy or mse)");
}

namespace {

template <typename T>
double cross_entropy(const Matrix<T>& z, const int32_t* labels, Matrix<T>* dz) {
  const Eigen::Index batch = z.rows(), classes = z.cols();
  if (dz) dz->resize(batch, classes);
  double total = 0;
  for (Eigen::Index b = 0; b < batch; ++b) {
    const T max = z.row(b).maxCoeff();
    double sum = 0;
    for (Eigen::Index j = 0; j < classes; ++j) sum += std::exp(double(z(b, j)) - double(max));
    const double lse = double(max) + std::log(sum);
    total += lse - double(z(b, labels[b]));
    if (dz) {
      for (Eigen::Index j = 0; j < classes; ++j)
        (*dz)(b, j) =
            static_cast<T>((std::exp(double(z(b, j)) - lse) - (j == labels[b] ? 1.0 : 0.0)) / double(batch));
    }
  }
  return total / double(batch);
}

template <typename T>
double mse(const Matrix<T>& z, const int32_t* labels, Matrix<T>* dz) {
  const Eigen::Index batch = z.rows(), outs = z.cols();
  const double n = double(batch) * double(outs);
  if (dz) dz->resize(batch, outs);
  double total = 0;
  for (Eigen::Index b = 0; b < batch; ++b) {
    for (Eigen::Index j = 0; j < outs; ++j) {
      const double diff = double(z(b, j)) - (j == labels[b] ? 1.0 : 0.0);
      total += diff * diff;
      if (dz) (*dz)(b, j) = static_cast<T>(2.0 * diff / n);
    }
  }
  return total / n;
}

}  // namespace

template <typename T>
double loss_and_grad(LossKind kind, const Matrix<T>& out, const int32_t* labels, Matrix<T>* d_out) {
  if (out.rows() == 0) throw InputError("loss of an empty batch");
  for (Eigen::Index b = 0; b < out.rows(); ++b)
    if (labels[b] < 0 || labels[b] >= out.cols())
      throw InputError("label " + std::to_string(labels[b]) + " is not one of the model's " +
                       std::to_string(out.cols()) + " outputs");
  return kind == LossKind::CrossEntropy ? cross_entropy(out, labels, d_out) : mse(out, labels, d_out);
}

template <typename T>
int64_t count_correct(const Matrix<T>& out, const int32_t* labels) {
  int64_t n = 0;
  for (Eigen::Index b = 0; b < out.rows(); ++b) {
    Eigen::Index best;
    out.row(b).maxCoeff(&best);
    n += best == labels[b];
  }
  return n;
}

template double loss_and_grad(LossKind, const Matrix<float>&, const int32_t*, Matrix<float>*);
template double loss_and_grad(LossKind, const Matrix<double>&, const int32_t*, Matrix<double>*);
template int64_t count_correct(const Matrix<float>&, const int32_t*);
template int64_t count_correct(const Matrix<double>&, const int32_t*);

}  // namespace resid::train
