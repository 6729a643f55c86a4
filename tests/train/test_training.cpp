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
#include "train/covering_init.h"
#include "train/init_mlp.h"
#include "train/mlp_backprop.h"
#include "train/trainer.h"

namespace resid::train {
namespace {

using testing::error_of;

TrainOptions xor_options(int hidden, uint64_t seed, int init_redraws) {
  TrainOptions o;
  o.widths = {2, hidden, 2};
  o.optimizer.kind = OptimizerKind::Adam;  // its default lr, 0.01
  o.batch_size = 16;
  o.epochs = 200;
  o.seed = seed;
  o.init_redraws = init_redraws;
  return o;
}

PointSet xor_points(uint64_t data_seed = 0) {
  ToyOptions t;
  t.n = 64;
  t.seed = data_seed;
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
  int solved = 0, seen = 0, solved_when_seen = 0, redrawn = 0;
  int failed_uncovered = 0;  // unsolved runs that end with training points no ReLU sees
};

// 20 seeds of 2 -> hidden ReLUs -> 2 on the 64 XOR points (noise 0.1), Adam, 200 epochs; the init redrawn up
// to init_redraws times until every point turns on a spare ReLU (train/covering_init.h), or the plain draw
// (0).
XorCount count_xor(int hidden, int init_redraws, uint64_t data_seed = 0) {
  const PointSet data = xor_points(data_seed);
  XorCount c;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const TrainOptions o = xor_options(hidden, seed, init_redraws);
    const CoveringInit init = covering_init(o.widths, o.act_fn, o.init, o.seed, data, o.init_redraws);
    const bool seen = every_corner_seen(init.params);
    const TrainResult r = train_mlp(data, nullptr, o);
    EXPECT_EQ(r.init_draw, init.draw);
    const bool solved = !r.diverged && r.history.back().train.accuracy == 1.0;
    c.solved += solved;
    c.seen += seen;
    c.solved_when_seen += solved && seen;
    c.redrawn += init.draw > 0;
    c.failed_uncovered += !solved && r.history.back().train.uncovered > 0;
  }
  std::printf(
      "XOR (data seed %d), %d hidden ReLUs, init redraws <= %d: 100%% accuracy for %d of 20 seeds; %d inits "
      "redrawn; every corner seen by a ReLU at init in %d, of which %d solved; %d failures end with points "
      "no "
      "ReLU sees\n",
      static_cast<int>(data_seed), hidden, init_redraws, c.solved, c.redrawn, c.seen, c.solved_when_seen,
      c.failed_uncovered);
  return c;
}

// The plain draw leaves a corner where all four ReLUs are off in about a quarter of seeds (a corner is unseen
// with probability about 2 * 2^-4 per pair of opposite corners), and exactly those seeds fail: every seeded
// run whose corners are all seen at init is solved. Asking only that every point turn one ReLU on rescued
// those draws but not all runs (18 of 20): training then turned off the one ReLU a corner had, after which
// that corner got no gradient. The default asks for a spare, two ReLUs on per point, and solves all 20, on
// this data and on three other draws of it.
TEST(Training, XorWithFourHiddenUnits) {
  const XorCount plain = count_xor(4, 0);
  RecordProperty("xor_4_units_plain_init_solved_of_20", plain.solved);
  EXPECT_EQ(plain.solved_when_seen, plain.seen);
  EXPECT_LT(plain.seen, 20);  // the seeds the redraw rescues exist
  EXPECT_EQ(plain.redrawn, 0);

  const XorCount covered = count_xor(4, kDefaultInitRedraws);
  RecordProperty("xor_4_units_solved_of_20", covered.solved);
  EXPECT_EQ(covered.seen, 20);
  EXPECT_EQ(covered.solved, 20);
  for (uint64_t data_seed : {1, 2, 3}) EXPECT_EQ(count_xor(4, kDefaultInitRedraws, data_seed).solved, 20);
}

TEST(Training, XorWithEightHiddenUnitsFromEverySeed) {
  EXPECT_EQ(count_xor(8, kDefaultInitRedraws).solved, 20);
}

// Two hidden ReLUs can draw XOR (two parallel folds), but two units folding the same way leaves it unsolved,
// and so does a corner unseen at init. Counted, not asserted beyond "sometimes": the number is the finding.
TEST(Training, XorWithTwoHiddenUnitsOverTwentySeeds) {
  const XorCount covered = count_xor(2, kDefaultInitRedraws);
  const XorCount plain = count_xor(2, 0);
  RecordProperty("xor_2_units_solved_of_20", covered.solved);
  RecordProperty("xor_2_units_plain_init_solved_of_20", plain.solved);
  EXPECT_GT(covered.solved, 0);
  EXPECT_GE(covered.solved, plain.solved);
}

// The redraw changes nothing when the first draw covers every point twice (so wide models keep
// init_mlp(seed)), is bounded, and keeps the earliest draw with the fewest thinly covered points when none
// covers them all: an input of zeros with zero biases is never covered by any draw.
TEST(CoveringInit, KeepsThePlainDrawWhenItCoversAndIsBoundedOtherwise) {
  const PointSet data = xor_points();
  const CoveringInit wide = covering_init({2, 64, 2}, ActFn::ReLU, "he_normal", 7, data);
  EXPECT_EQ(wide.draw, 0);
  EXPECT_EQ(wide.thin, 0);
  EXPECT_TRUE(wide.params.layers[0].weight ==
              init_mlp({2, 64, 2}, ActFn::ReLU, "he_normal", 7).layers[0].weight);

  PointSet zeros = data;
  zeros.x.row(0).setZero();
  const CoveringInit stuck = covering_init({2, 8, 2}, ActFn::ReLU, "he_normal", 7, zeros, 5);
  EXPECT_EQ(stuck.thin, 1);  // only the zero point; the redraws could not help it
  EXPECT_LE(stuck.draw, 5);
  const CoveringInit gelu = covering_init({2, 2, 2}, ActFn::GeLU, "he_normal", 7, data);
  EXPECT_EQ(gelu.draw, 0);  // no all-off region without a gradient
}

// Hand-traced: four axis folds through the origin (units x > 0, x < 0, y > 0, y < 0). A point on an axis
// turns on one of them, a point off both axes two; the 2-unit output layer is not hidden and not counted.
TEST(CoveringInit, CountsPointsWithoutASpareReLU) {
  EXPECT_EQ(required_on(2), 1);
  EXPECT_EQ(required_on(3), 1);
  EXPECT_EQ(required_on(4), 2);
  EXPECT_EQ(required_on(64), 2);
  MlpParams<float> p = init_mlp({2, 4, 2}, ActFn::ReLU, "he_normal", 0);
  p.layers[0].weight << 1, 0, -1, 0, 0, 1, 0, -1;
  p.layers[0].bias.setZero();
  PointSet points;
  points.x.resize(4, 2);
  points.x << 1, 1, 1, 0, 0, -2, -1, 0.5f;
  points.y = {0, 0, 0, 0};
  points.n_classes = 2;
  EXPECT_EQ(thinly_covered(p, points), 2);     // (1, 0) and (0, -2)
  EXPECT_EQ(thinly_covered(p, points, 1), 2);  // the same, a row at a time
  p.layers[0].bias.setConstant(0.5f);          // every fold moved out: each point now turns 2 or more on
  EXPECT_EQ(thinly_covered(p, points), 0);
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
  const TrainOptions o = xor_options(4, 0, kDefaultInitRedraws);
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
  TrainOptions o = xor_options(4, 0, kDefaultInitRedraws);
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
