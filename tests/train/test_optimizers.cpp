// The optimisers against steps traced by hand (torch.optim's update rules, train/optimizer.h), the options'
// validation, and the seeded pieces of a run: init and the epoch order.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "test_support.h"
#include "train/batches.h"
#include "train/init_mlp.h"
#include "train/optimizer.h"
#include "train/trainer.h"

namespace resid::train {
namespace {

using testing::error_of;

// One tensor of two parameters, stepped with a fixed gradient.
struct OneTensor {
  std::vector<float> p = {1.0f, -2.0f}, g = {0.5f, 0.25f};
  void step(Optimizer& o) { o.step({std::span<float>(p)}, {std::span<float>(g)}); }
};

TEST(Optimizers, SgdWithMomentumAndWeightDecay) {
  OptimizerOptions o;
  o.kind = OptimizerKind::Sgd;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.weight_decay = 0.01;
  auto opt = make_optimizer(o);
  OneTensor t;
  t.step(*opt);  // g' = g + 0.01 p = (0.51, 0.23); v = g'; p -= 0.1 v
  EXPECT_FLOAT_EQ(t.p[0], 1.0f - 0.051f);
  EXPECT_FLOAT_EQ(t.p[1], -2.0f - 0.023f);
  const float p0 = t.p[0];
  t.step(*opt);  // v = 0.9 * 0.51 + (0.5 + 0.01 p0)
  EXPECT_FLOAT_EQ(t.p[0], p0 - 0.1f * (0.9f * 0.51f + 0.5f + 0.01f * p0));
}

TEST(Optimizers, AdamFirstStepIsLrTimesSign) {
  // m^ = g, v^ = g^2 after one step: p -= lr g / (|g| + eps).
  OptimizerOptions o;
  o.kind = OptimizerKind::Adam;
  o.lr = 0.01;
  auto opt = make_optimizer(o);
  OneTensor t;
  t.step(*opt);
  EXPECT_NEAR(t.p[0], 1.0f - 0.01f, 1e-6);
  EXPECT_NEAR(t.p[1], -2.0f - 0.01f, 1e-6);
}

TEST(Optimizers, AdamWDecaysDecoupledAdamThroughTheGradient) {
  OptimizerOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.1;
  o.kind = OptimizerKind::AdamW;
  auto adamw = make_optimizer(o);
  OneTensor w;
  w.step(*adamw);  // p = p (1 - lr wd), then the sign step of g
  EXPECT_NEAR(w.p[0], 1.0f * (1 - 0.001f) - 0.01f, 1e-6);
  o.kind = OptimizerKind::Adam;
  auto adam = make_optimizer(o);
  OneTensor a;
  a.step(*adam);  // g' = g + wd p = 0.6 > 0: still the sign step, no separate decay
  EXPECT_NEAR(a.p[0], 1.0f - 0.01f, 1e-6);
}

TEST(Optimizers, OptionsAreValidatedNamingTheField) {
  OptimizerOptions o;
  for (double bad : {0.0, -1.0, std::nan(""), double(INFINITY)}) {
    o.lr = bad;
    EXPECT_CONTAINS(error_of<ConfigError>([&] { o.validate(); }), "lr = ");
  }
  o.lr.reset();
  EXPECT_EQ(o.lr_or_default(), 0.01);  // adam's default
  o.momentum = 1.0;
  EXPECT_CONTAINS(error_of<ConfigError>([&] { o.validate(); }), "momentum = 1 is not in [0, 1)");
  o.momentum = 0.9;
  o.weight_decay = -1;
  EXPECT_CONTAINS(error_of<ConfigError>([&] { o.validate(); }), "weight_decay = ");
  EXPECT_CONTAINS(error_of<ConfigError>([] { optimizer_from_name("lion"); }), "expected sgd, adam, adamw");
}

TEST(Seeded, InitAndEpochOrderRepeatAndDiffer) {
  const MlpParams<float> a = init_mlp({2, 8, 3}, ActFn::ReLU, "he_normal", 7);
  const MlpParams<float> b = init_mlp({2, 8, 3}, ActFn::ReLU, "he_normal", 7);
  const MlpParams<float> c = init_mlp({2, 8, 3}, ActFn::ReLU, "he_normal", 8);
  EXPECT_EQ(a.layers[0].weight, b.layers[0].weight);
  EXPECT_NE(a.layers[0].weight, c.layers[0].weight);
  EXPECT_TRUE(a.layers[1].bias.isZero());
  EXPECT_EQ(a.parameter_count(), 2 * 8 + 8 + 8 * 3 + 3);
  EXPECT_CONTAINS(error_of<ConfigError>([] { init_scheme("lecun"); }), "expected he_normal, he_uniform");

  std::vector<int64_t> order = epoch_order(100, 3, 1);
  EXPECT_EQ(order, epoch_order(100, 3, 1));
  EXPECT_NE(order, epoch_order(100, 3, 2));
  std::sort(order.begin(), order.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(Widths, ParseAndPrint) {
  EXPECT_EQ(parse_widths("2-64-64-3"), (std::vector<int>{2, 64, 64, 3}));
  EXPECT_EQ(widths_string({784, 500, 10}), "784-500-10");
  for (const char* bad : {"2", "2-", "2--3", "2-x-3", "2-0-3", "-2-3"})
    EXPECT_CONTAINS(error_of<ConfigError>([&] { parse_widths(bad); }), "widths '");
}

}  // namespace
}  // namespace resid::train
