// Gradient checks in double precision: every layer type (Linear, each activation of the MLP family), each
// loss (cross-entropy with its fused softmax, MSE) and the whole MLP's backward against central finite
// differences, relative error <= 1e-4 for every single entry. The differences are the fourth-order central
// stencil
//   f'(x) ~ (f(x - 2h) - 8 f(x - h) + 8 f(x + h) - f(x + 2h)) / 12h,  h = 1e-4,
// whose error (h^4 truncation ~1e-16, rounding 1e-16 |f| / h ~1e-11) stays below 1e-4 of even the smallest
// gradients here (~1e-6); the two-point stencil's (1e-10 at its best h) does not.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include "core/init.h"
#include "train/activation_layer.h"
#include "train/linear_layer.h"
#include "train/loss.h"
#include "train/mlp_backprop.h"

namespace resid::train {
namespace {

using Mat = Matrix<double>;
constexpr double kStep = 1e-4;
constexpr double kMaxRelativeError = 1e-4;
// Below this size a gradient entry is compared absolutely (|analytic - numeric| <= 1e-4 * kFloor = 1e-11, the
// stencil's rounding of a loss of order 10): a relative error of two values near 0 measures only rounding.
constexpr double kFloor = 1e-7;
// ReLU's kink must stay further from every pre-activation than a perturbation of 2h can move it.
constexpr double kKinkClearance = 0.05;

Mat random_matrix(Eigen::Index rows, Eigen::Index cols, Rng& rng, double scale = 1.0) {
  Mat m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = scale * rng.normal();
  return m;
}

// Central differences of f with respect to every entry of `x` (perturbed in place and restored), compared
// with `analytic`. Returns the largest relative error.
double check(const std::function<double()>& f, double* x, const double* analytic, Eigen::Index n,
             const char* what) {
  double worst = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double saved = x[i];
    auto at = [&](double offset) {
      x[i] = saved + offset;
      return f();
    };
    const double numeric = (at(-2 * kStep) - 8 * at(-kStep) + 8 * at(kStep) - at(2 * kStep)) / (12 * kStep);
    x[i] = saved;
    const double error =
        std::abs(analytic[i] - numeric) / std::max({std::abs(analytic[i]), std::abs(numeric), kFloor});
    worst = std::max(worst, error);
    EXPECT_LE(error, kMaxRelativeError)
        << what << " entry " << i << ": analytic " << analytic[i] << ", numeric " << numeric;
  }
  return worst;
}

// Inputs whose pre-activations keep clear of ReLU's kink at 0 by far more than the finite-difference step.
bool clear_of_kinks(const Mat& pre) {
  return (pre.array().abs() > kKinkClearance).all();
}

TEST(Gradients, LinearLayer) {
  Rng rng(1);
  LinearParams<double> p{random_matrix(4, 3, rng), random_matrix(1, 4, rng)};
  Mat x = random_matrix(5, 3, rng);
  const Mat g = random_matrix(5, 4, rng);  // dL/dy of L = sum(g .* y)
  auto loss = [&] {
    Mat y;
    linear_forward(p, x, y);
    return g.cwiseProduct(y).sum();
  };
  LinearParams<double> grad;
  Mat dx;
  linear_backward(p, x, g, grad, &dx);
  check(loss, p.weight.data(), grad.weight.data(), p.weight.size(), "dW");
  check(loss, p.bias.data(), grad.bias.data(), p.bias.size(), "db");
  check(loss, x.data(), dx.data(), x.size(), "dx");
}

class ActivationGradients : public ::testing::TestWithParam<ActFn> {};

TEST_P(ActivationGradients, MatchFiniteDifferences) {
  Rng rng(2);
  Mat pre = random_matrix(6, 7, rng, 2.0);
  pre = pre.unaryExpr(
      [](double v) { return v < 0 ? std::min(v, -2 * kKinkClearance) : std::max(v, 2 * kKinkClearance); });
  const Mat g = random_matrix(6, 7, rng);
  auto loss = [&] {
    Mat post;
    activation_forward(GetParam(), pre, post);
    return g.cwiseProduct(post).sum();
  };
  Mat d_pre;
  activation_backward(GetParam(), pre, g, d_pre);
  check(loss, pre.data(), d_pre.data(), pre.size(), "d_pre");
}

// The float path of the same derivative (what training uses) agrees with the double one to float precision.
TEST_P(ActivationGradients, FloatPathAgrees) {
  Rng rng(3);
  const Mat pre = random_matrix(4, 9, rng, 3.0), g = random_matrix(4, 9, rng);
  Mat d64;
  Matrix<float> d32;
  activation_backward(GetParam(), pre, g, d64);
  activation_backward<float>(GetParam(), pre.cast<float>(), g.cast<float>(), d32);
  EXPECT_LE((d32.cast<double>() - d64).cwiseAbs().maxCoeff(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, ActivationGradients,
                         ::testing::Values(ActFn::ReLU, ActFn::GeLU, ActFn::GeLUTanh, ActFn::SiLU),
                         [](const auto& info) { return act_fn_name(info.param); });

class LossGradients : public ::testing::TestWithParam<LossKind> {};

TEST_P(LossGradients, MatchFiniteDifferences) {
  Rng rng(4);
  Mat z = random_matrix(5, 4, rng, 3.0);
  const std::vector<int32_t> labels = {0, 3, 1, 1, 2};
  Mat dz;
  loss_and_grad(GetParam(), z, labels.data(), &dz);
  check([&] { return loss_and_grad<double>(GetParam(), z, labels.data(), nullptr); }, z.data(), dz.data(),
        z.size(), "dz");
}

TEST_P(LossGradients, KnownValues) {
  // Two classes, logits (0, 0): cross-entropy log 2, gradient (0.5 - 1, 0.5) / batch; MSE of (0, 0) against
  // (1, 0) is (1 + 0) / 2.
  const Mat z = Mat::Zero(1, 2);
  const int32_t label = 0;
  Mat dz;
  const double loss = loss_and_grad(GetParam(), z, &label, &dz);
  if (GetParam() == LossKind::CrossEntropy) {
    EXPECT_NEAR(loss, std::log(2.0), 1e-15);
    EXPECT_NEAR(dz(0, 0), -0.5, 1e-15);
    EXPECT_NEAR(dz(0, 1), 0.5, 1e-15);
  } else {
    EXPECT_EQ(loss, 0.5);
    EXPECT_EQ(dz(0, 0), -1.0);  // 2 (0 - 1) / 2
    EXPECT_EQ(dz(0, 1), 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryLoss, LossGradients, ::testing::Values(LossKind::CrossEntropy, LossKind::Mse),
                         [](const auto& info) { return loss_name(info.param); });

// The whole backward: 3 -> 5 -> 4 -> 3 with each activation and each loss, every weight, bias and input
// entry.
class MlpGradients : public ::testing::TestWithParam<std::tuple<ActFn, LossKind>> {};

TEST_P(MlpGradients, EveryParameterAndInput) {
  const auto [act, kind] = GetParam();
  // The first seed whose pre-activations all keep clear of ReLU's kink (the same draw for every activation).
  MlpParams<double> params;
  Mat x, out;
  ForwardCache<double> cache;
  const std::vector<int> widths = {3, 5, 4, 3};
  for (uint64_t seed = 5;; ++seed) {
    Rng rng(seed);
    params.layers.clear();
    params.act_fn = act;
    for (size_t i = 0; i + 1 < widths.size(); ++i)
      params.layers.push_back(
          {random_matrix(widths[i + 1], widths[i], rng), random_matrix(1, widths[i + 1], rng, 0.5)});
    x = random_matrix(6, 3, rng);
    params.act_fn = ActFn::ReLU;
    mlp_forward(params, x, &cache);
    params.act_fn = act;
    if (clear_of_kinks(cache.pre[0]) && clear_of_kinks(cache.pre[1])) break;
    ASSERT_LT(seed, 1000u);
  }
  const std::vector<int32_t> labels = {0, 1, 2, 2, 1, 0};
  out = mlp_forward(params, x, &cache);
  Mat d_out, d_x;
  loss_and_grad(kind, out, labels.data(), &d_out);
  MlpParams<double> grads;
  mlp_backward(params, cache, d_out, grads, &d_x);
  auto loss = [&] { return loss_and_grad<double>(kind, mlp_forward(params, x), labels.data(), nullptr); };
  double worst = 0;
  for (size_t l = 0; l < params.layers.size(); ++l) {
    worst = std::max(worst, check(loss, params.layers[l].weight.data(), grads.layers[l].weight.data(),
                                  params.layers[l].weight.size(), "weight"));
    worst = std::max(worst, check(loss, params.layers[l].bias.data(), grads.layers[l].bias.data(),
                                  params.layers[l].bias.size(), "bias"));
  }
  worst = std::max(worst, check(loss, x.data(), d_x.data(), x.size(), "input"));
  char text[32];
  std::snprintf(text, sizeof text, "%.2e", worst);
  RecordProperty("max_relative_error", text);
}

INSTANTIATE_TEST_SUITE_P(EveryActivationAndLoss, MlpGradients,
                         ::testing::Combine(::testing::Values(ActFn::ReLU, ActFn::GeLU, ActFn::GeLUTanh,
                                                              ActFn::SiLU),
                                            ::testing::Values(LossKind::CrossEntropy, LossKind::Mse)),
                         [](const auto& info) {
                           return act_fn_name(std::get<0>(info.param)) + "_" +
                                  loss_name(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace resid::train
