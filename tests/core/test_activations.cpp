#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numeric>

#include "core/activations.h"
#include "core/init.h"

namespace resid {
namespace {

TEST(Activations, ScalarValues) {
  EXPECT_EQ(relu(-3.0f), 0.0f);
  EXPECT_EQ(relu(2.5f), 2.5f);
  EXPECT_NEAR(sigmoid(0.0f), 0.5f, 1e-7);
  EXPECT_NEAR(sigmoid(-100.0f), 0.0f, 1e-30);
  EXPECT_TRUE(std::isfinite(sigmoid(-1000.0f)));
  EXPECT_NEAR(silu(1.0f), 0.7310586f, 1e-6);
  EXPECT_NEAR(gelu_erf(1.0f), 0.8413447f, 1e-6);   // x * Phi(x)
  EXPECT_NEAR(gelu_tanh(1.0f), 0.8411920f, 1e-6);  // PyTorch approximate="tanh"
  EXPECT_NEAR(gelu_erf(-1.0f), -0.1586553f, 1e-6);
}

TEST(Activations, ArrayFormsMatchScalarForms) {
  std::vector<float> xs;
  for (int i = -400; i <= 400; ++i) xs.push_back(i * 0.05f);
  xs.insert(xs.end(), {-1e4f, 1e4f, -90.0f, 90.0f});
  for (ActFn fn : {ActFn::ReLU, ActFn::GeLU, ActFn::GeLUTanh, ActFn::SiLU}) {
    std::vector<float> y = xs;
    apply_activation(fn, y.data(), static_cast<int64_t>(y.size()));
    for (size_t i = 0; i < xs.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << act_fn_name(fn) << " at " << xs[i];
      EXPECT_NEAR(y[i], activate(fn, xs[i]), 1e-5f * std::max(1.0f, std::abs(xs[i])))
          << act_fn_name(fn) << " " << xs[i];
    }
  }
  std::vector<float> t = {-20.0f, 0.0f, 0.5f};
  apply_tanh(t.data(), 3);
  EXPECT_NEAR(t[0], -1.0f, 1e-6);
  EXPECT_NEAR(t[2], std::tanh(0.5f), 1e-6);
}

TEST(Activations, SoftmaxIsExactOnExtremeInputs) {
  const std::vector<float> p = softmax(std::vector<float>{1e9f, -1e9f});
  EXPECT_EQ(p[0], 1.0f);
  EXPECT_EQ(p[1], 0.0f);
  const std::vector<float> lp = log_softmax(std::vector<float>{1e9f, -1e9f});
  EXPECT_EQ(lp[0], 0.0f);
  EXPECT_EQ(lp[1], -2e9f);
  const std::vector<float> same = softmax(std::vector<float>{1e30f, 1e30f, 1e30f, 1e30f});
  for (float v : same) EXPECT_FLOAT_EQ(v, 0.25f);
}

// Extreme inputs: the mathematical limit, exactly, on every SIMD width (docs/numerics.md). Each value is
// placed at every offset of a 67-element array so it meets the vectorised body and the scalar head/tail
// alike.
constexpr float kInf = INFINITY;
const float kNaN = std::nanf("");

struct Limit {
  float x, want;  // want NaN: NaN expected
};

void expect_limits(const char* name, const std::function<void(float*, int64_t)>& apply,
                   const std::function<float(float)>& scalar, const std::vector<Limit>& cases) {
  constexpr int64_t kLen = 67;
  for (const Limit& c : cases) {
    const float s = scalar ? scalar(c.x) : c.want;
    if (std::isnan(c.want)) {
      EXPECT_TRUE(std::isnan(s)) << name << "(" << c.x << ") scalar = " << s;
    } else {
      EXPECT_EQ(s, c.want) << name << "(" << c.x << ") scalar";
    }
    for (int64_t at = 0; at < kLen; ++at) {
      std::vector<float> v(kLen, 0.5f);
      v[at] = c.x;
      apply(v.data(), kLen);
      if (std::isnan(c.want)) {
        ASSERT_TRUE(std::isnan(v[at])) << name << "(" << c.x << ") at offset " << at << " = " << v[at];
      } else {
        ASSERT_EQ(v[at], c.want) << name << "(" << c.x << ") at offset " << at;
      }
    }
  }
}

TEST(Activations, ElementwiseLimitsAreExactOnEveryWidth) {
  const std::vector<float> big = {1e9f, 1e30f, kInf};
  std::vector<Limit> relu_cases, sigmoid_cases, silu_cases, gelu_cases, tanh_cases;
  for (float b : big) {
    relu_cases.insert(relu_cases.end(), {{b, b}, {-b, 0.0f}});
    sigmoid_cases.insert(sigmoid_cases.end(), {{b, 1.0f}, {-b, 0.0f}});
    silu_cases.insert(silu_cases.end(), {{b, b}, {-b, 0.0f}});
    gelu_cases.insert(gelu_cases.end(), {{b, b}, {-b, 0.0f}});
    tanh_cases.insert(tanh_cases.end(), {{b, 1.0f}, {-b, -1.0f}});
  }
  for (auto* cases : {&relu_cases, &sigmoid_cases, &silu_cases, &gelu_cases, &tanh_cases})
    cases->push_back({kNaN, kNaN});
  auto act = [](ActFn fn) { return [fn](float* x, int64_t n) { apply_activation(fn, x, n); }; };
  expect_limits("relu", act(ActFn::ReLU), relu, relu_cases);
  expect_limits("silu", act(ActFn::SiLU), silu, silu_cases);
  expect_limits("gelu", act(ActFn::GeLU), gelu_erf, gelu_cases);
  expect_limits("gelu_tanh", act(ActFn::GeLUTanh), gelu_tanh, gelu_cases);
  expect_limits("sigmoid", apply_sigmoid, sigmoid, sigmoid_cases);
  expect_limits("tanh", apply_tanh, nullptr, tanh_cases);
}

TEST(Activations, SoftmaxLimitsAreExactOnEveryWidth) {
  for (float b : {1e9f, 1e30f, kInf}) {
    EXPECT_EQ(softmax(std::vector<float>{b, -b}), (std::vector<float>{1.0f, 0.0f})) << b;
    EXPECT_EQ(softmax(std::vector<float>{-b, b}), (std::vector<float>{0.0f, 1.0f})) << b;
    EXPECT_EQ(log_softmax(std::vector<float>{b, -b})[0], 0.0f) << b;
    EXPECT_EQ(log_softmax(std::vector<float>{0.0f, -b})[1], -b) << b;
    // A one-hot row long enough for the vectorised exp, the peak at every offset.
    for (int at = 0; at < 37; ++at) {
      std::vector<float> row(37, -b);
      row[at] = b;
      const std::vector<float> p = softmax(row), lp = log_softmax(row);
      for (int j = 0; j < 37; ++j) {
        ASSERT_EQ(p[j], j == at ? 1.0f : 0.0f) << b << " peak " << at << " j " << j;
        if (j == at) ASSERT_EQ(lp[j], 0.0f) << b << " peak " << at;
      }
    }
  }
  // +inf entries share the mass; a row of -inf (fully masked) is all zeros / all -inf.
  EXPECT_EQ(softmax(std::vector<float>{kInf, 3.0f, kInf}), (std::vector<float>{0.5f, 0.0f, 0.5f}));
  EXPECT_EQ(log_softmax(std::vector<float>{kInf, 3.0f})[1], -kInf);
  EXPECT_EQ(softmax(std::vector<float>{-kInf, -kInf}), (std::vector<float>{0.0f, 0.0f}));
  EXPECT_EQ(log_softmax(std::vector<float>{-kInf, -kInf}), (std::vector<float>{-kInf, -kInf}));
  // NaN anywhere in a row makes the whole row NaN: never a plausible-looking distribution.
  for (const std::vector<float>& row : {std::vector<float>{kNaN, 1.0f}, std::vector<float>{1.0f, kNaN, kInf},
                                        std::vector<float>{-kInf, kNaN}}) {
    for (float v : softmax(row)) EXPECT_TRUE(std::isnan(v));
    for (float v : log_softmax(row)) EXPECT_TRUE(std::isnan(v));
  }
}

TEST(Activations, LogSoftmaxAgreesWithLogOfSoftmax) {
  const std::vector<float> x = {0.3f, -1.2f, 4.0f, 2.2f};
  const std::vector<float> p = softmax(x), lp = log_softmax(x);
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0f), 1.0f, 1e-6);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(lp[i], std::log(p[i]), 1e-6);
}

double mean(const std::vector<float>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}
double stddev(const std::vector<float>& v) {
  const double m = mean(v);
  double s = 0;
  for (float x : v) s += (x - m) * (x - m);
  return std::sqrt(s / v.size());
}

TEST(Init, SeededAndReproducible) {
  Rng a(7), b(7), c(8);
  EXPECT_EQ(truncated_normal(100, a), truncated_normal(100, b));
  Rng a2(7);
  EXPECT_NE(truncated_normal(100, a2), truncated_normal(100, c));
  // Fixed values pin the generator itself, so a seed means the same model on every machine.
  Rng pinned(42);
  EXPECT_EQ(pinned.next_u64(), 13679457532755275413ull);
}

TEST(Init, DistributionsHaveTheRightScale) {
  Rng rng(1);
  const auto tn = truncated_normal(200000, rng, 0.02);
  EXPECT_NEAR(mean(tn), 0.0, 5e-4);
  // std of N(0,1) truncated to [-2, 2] is 0.8796
  EXPECT_NEAR(stddev(tn), 0.02 * 0.8796, 3e-4);
  for (float v : tn) ASSERT_LE(std::abs(v), 0.04f);

  const auto xu = xavier_uniform(300, 200, rng);
  EXPECT_NEAR(stddev(xu), std::sqrt(2.0 / 500.0), 2e-3);  // U(-a,a): std = a/sqrt(3) = sqrt(2/(in+out))
  const auto xn = xavier_normal(300, 200, rng);
  EXPECT_NEAR(stddev(xn), std::sqrt(2.0 / 500.0), 2e-3);
  const auto kn = kaiming_normal(300, 200, rng);
  EXPECT_NEAR(stddev(kn), std::sqrt(2.0 / 200.0), 3e-3);
  const auto ku = kaiming_uniform(300, 200, rng);
  EXPECT_NEAR(stddev(ku), std::sqrt(2.0 / 200.0), 3e-3);
  for (float v : ku) ASSERT_LE(std::abs(v), std::sqrt(6.0 / 200.0) + 1e-6);
}

}  // namespace
}  // namespace resid
