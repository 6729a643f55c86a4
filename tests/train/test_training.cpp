// Training end to end in the library: XOR from random init, 3-arm spirals to >= 95% held-out accuracy,
// bit-identical repeats, a diverging run that stops at the step whose loss went NaN and keeps the last good
// parameters, and the trained model seen through core's own forward and checkpoint reader.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/error.h"
#include "core/formats/model_file.h"
#include "datasets/toy_points.h"
#include "test_support.h"
#include "train/checkpoint.h"
#include "train/mlp_backprop.h"
#include "train/trainer.h"

namespace resid::train {
namespace {

using testing::error_of;

TrainOptions xor_options(int hidden, uint64_t seed) {
  TrainOptions o;
  o.widths = {2, hidden, 2};
  o.optimizer.kind = OptimizerKind::Adam;  // its default lr, 0.01
  o.batch_size = 16;
  o.epochs = 200;
  o.seed = seed;
  return o;
}

PointSet xor_points() {
  ToyOptions t;
  t.n = 64;
  return make_toy_points("xor", t);
}

// Whether each of XOR's four corners (+-1, +-1) has at least one hidden ReLU on at initialisation. A corner
// where every ReLU is off gets no gradient into the hidden layer: no unit ever moves to fold it off the
// others.
bool every_corner_seen(const MlpParams<float>& init) {
  for (float a : {-1.0f, 1.0f})
    for (float b : {-1.0f, 1.0f}) {
      const RowVector<float> pre =
          Eigen::RowVector2f(a, b) * init.layers[0].weight.transpose() + init.layers[0].bias;
      if (!(pre.array() > 0).any()) return false;
    }
  return true;
}

struct XorCount {
  int solved = 0, seen = 0, solved_when_seen = 0;
};

// 20 seeds of 2 -> hidden ReLUs -> 2 on the 64 XOR points (noise 0.1), Adam, 200 epochs.
XorCount count_xor(int hidden) {
  const PointSet data = xor_points();
  XorCount c;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const TrainOptions o = xor_options(hidden, seed);
    const bool seen = every_corner_seen(init_mlp(o.widths, o.act_fn, o.init, o.seed));
    const TrainResult r = train_mlp(data, nullptr, o);
    const bool solved = !r.diverged && r.history.back().train.accuracy == 1.0;
    c.solved += solved;
    c.seen += seen;
    c.solved_when_seen += solved && seen;
  }
  std::printf(
      "XOR, %d hidden ReLUs: 100%% accuracy for %d of 20 seeds; every corner seen by a ReLU at init in %d, "
      "of which %d solved\n",
      hidden, c.solved, c.seen, c.solved_when_seen);
  return c;
}

// With 4 hidden units XOR is learned to 100% from every initialisation in which each corner has a ReLU on;
// the seeds that fail are those where one corner starts in the region where all four are off (a corner is
// unseen with probability about 2 * 2^-4 per pair of opposite corners: ~23% of seeds).
TEST(Training, XorWithFourHiddenUnits) {
  const XorCount c = count_xor(4);
  RecordProperty("xor_4_units_solved_of_20", c.solved);
  EXPECT_EQ(c.solved_when_seen, c.seen);
  EXPECT_GE(c.solved, 14);
}

TEST(Training, XorWithEightHiddenUnitsFromEverySeed) {
  EXPECT_EQ(count_xor(8).solved, 20);
}

// Two hidden ReLUs can draw XOR (two parallel folds), but a corner unseen at init or two units folding the
// same way leaves it unsolved. Counted, not asserted beyond "sometimes": the number is the finding.
TEST(Training, XorWithTwoHiddenUnitsOverTwentySeeds) {
  const XorCount c = count_xor(2);
  RecordProperty("xor_2_units_solved_of_20", c.solved);
  EXPECT_GT(c.solved, 0);
}

TEST(Training, ThreeArmSpiralsHeldOut) {
  ToyOptions t;
  t.n = 1000;
  const PointSplit split = split_points(make_toy_points("spirals:3", t), 0.2, 0);
  TrainOptions o;
  o.widths = {2, 64, 64, 3};
  o.optimizer.lr = 0.01;
  o.batch_size = 32;
  o.epochs = 100;
  const TrainResult r = train_mlp(split.train, &split.test, o);
  ASSERT_FALSE(r.diverged);
  const EpochStats& last = r.history.back();
  std::printf("3-arm spirals: train accuracy %.4f, test accuracy %.4f, loss %.4f\n", last.train.accuracy,
              last.test->accuracy, last.train.loss);
  EXPECT_GE(last.test->accuracy, 0.95);
  EXPECT_EQ(r.history.size(), 101u);  // epoch 0 (the initial model) and 100 epochs
  EXPECT_EQ(last.step, 100 * (800 / 32));
}

TEST(Training, RepeatedRunIsBitIdentical) {
  ToyOptions t;
  t.n = 300;
  const PointSet data = make_toy_points("moons", t);
  TrainOptions o;
  o.widths = {2, 16, 16, 2};
  o.epochs = 5;
  o.batch_size = 10;
  for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::Adam, OptimizerKind::AdamW}) {
    o.optimizer.kind = kind;
    o.optimizer.weight_decay = 1e-3;
    const TrainResult a = train_mlp(data, nullptr, o), b = train_mlp(data, nullptr, o);
    for (size_t l = 0; l < a.params.layers.size(); ++l) {
      EXPECT_EQ(a.params.layers[l].weight, b.params.layers[l].weight);
      EXPECT_EQ(a.params.layers[l].bias, b.params.layers[l].bias);
    }
    ASSERT_EQ(a.history.size(), b.history.size());
    for (size_t e = 0; e < a.history.size(); ++e) EXPECT_EQ(a.history[e].train.loss, b.history[e].train.loss);
    o.seed = 1;  // another seed, another model
    EXPECT_NE(train_mlp(data, nullptr, o).params.layers[0].weight, a.params.layers[0].weight);
    o.seed = 0;
  }
}

TEST(Training, DivergenceStopsAtTheStepAndKeepsTheLastGoodParameters) {
  ToyOptions t;
  t.n = 200;
  const PointSet data = make_toy_points("spirals", t);
  TrainOptions o;
  o.widths = {2, 32, 32, 3};
  o.optimizer.kind = OptimizerKind::Sgd;
  o.optimizer.lr = 1e6;
  o.epochs = 50;
  o.batch_size = 20;
  const TrainResult r = train_mlp(data, nullptr, o);
  ASSERT_TRUE(r.diverged);
  EXPECT_GT(r.diverged->step, 0);
  EXPECT_LT(r.diverged->epoch, 50);
  EXPECT_FALSE(std::isfinite(r.diverged->loss));
  EXPECT_CONTAINS(r.diverged->describe(), "at step " + std::to_string(r.diverged->step));
  EXPECT_TRUE(r.params.all_finite());
  EXPECT_EQ(r.history.back().epoch, r.diverged->epoch - 1);  // the last epoch that ended finite
  EXPECT_TRUE(std::isfinite(r.history.back().train.loss));
}

TEST(Training, DeadNeuronsAreCountedOnTheTrainingSet) {
  // A huge learning rate kills most ReLUs of a wide layer in a few steps; the count agrees with a direct
  // pass.
  ToyOptions t;
  t.n = 400;
  const PointSet data = make_toy_points("moons", t);
  TrainOptions o;
  o.widths = {2, 64, 2};
  o.optimizer.kind = OptimizerKind::Sgd;
  o.optimizer.lr = 3.0;
  o.optimizer.momentum = 0;
  o.epochs = 3;
  const TrainResult r = train_mlp(data, nullptr, o);
  ASSERT_FALSE(r.diverged);
  EXPECT_EQ(r.history.front().train.dead.at(0), 0);  // He init, zero bias: every neuron fires somewhere
  const Matrix<float> post =
      (data.x * r.params.layers[0].weight.transpose()).rowwise() + r.params.layers[0].bias;
  int dead = 0;
  for (Eigen::Index j = 0; j < post.cols(); ++j) dead += !(post.col(j).array() > 0).any();
  EXPECT_EQ(r.history.back().train.dead.at(0), dead);
  std::printf("lr 3 SGD: %d of 64 hidden ReLUs dead after 3 epochs\n", dead);
}

TEST(Training, CheckpointLoadsAsTheCoreModelWithItsRecord) {
  testing::TempDir dir;
  const PointSet data = xor_points();
  const TrainOptions o = xor_options(4, 0);
  const TrainResult r = train_mlp(data, nullptr, o);
  ASSERT_EQ(r.history.back().train.accuracy, 1.0);
  const std::string path = dir.file("xor.safetensors");
  save_trained_mlp(path, r.params, options_to_json(o), epoch_to_json(r.history.back()));
  const LoadedModel m = load_model(path);
  ASSERT_TRUE(m.mlp);
  EXPECT_EQ(m.mlp->config().widths, (std::vector<int>{2, 4, 2}));
  // core's forward on the saved weights gives the training forward's outputs (the same products, but compiled
  // apart: a float tolerance, not bit equality).
  const RowMatrix core_out = m.mlp->forward(data.x);
  const Matrix<float> train_out = mlp_forward(r.params, Matrix<float>(data.x));
  EXPECT_LE((core_out - train_out).cwiseAbs().maxCoeff(),
            1e-5f * std::max(1.0f, train_out.cwiseAbs().maxCoeff()));
  bool noted = false;
  for (const std::string& note : m.notes)
    noted = noted || note.find("trained by resid train: 2-4-2 relu, adam lr 0.01, 200 epochs") == 0;
  EXPECT_TRUE(noted);
}

TEST(Training, DataThatDoesNotFitTheModel) {
  const PointSet data = xor_points();
  TrainOptions o = xor_options(4, 0);
  o.widths = {3, 4, 2};
  EXPECT_CONTAINS(error_of<InputError>([&] { train_mlp(data, nullptr, o); }),
                  "the training set has 2 features but the model takes 3 inputs (widths 3-4-2)");
  o.widths = {2, 4, 1};
  EXPECT_CONTAINS(error_of<InputError>([&] { train_mlp(data, nullptr, o); }),
                  "has class 1 but the model has 1 outputs");
  o.widths = {2, 4, 2};
  o.batch_size = 0;
  EXPECT_CONTAINS(error_of<ConfigError>([&] { train_mlp(data, nullptr, o); }),
                  "batch_size = 0 must be at least 1");
}

}  // namespace
}  // namespace resid::train
