// Activation patterns over a grid (train/activation_regions.h): hand-built folds whose region counts are
// known, and a trained model whose regions only ever split further from one layer to the next.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "datasets/toy_points.h"
#include "test_support.h"
#include "train/activation_regions.h"
#include "train/trainer.h"

namespace resid::train {
namespace {

MlpParams<float> one_hidden_layer(Matrix<float> w, RowVector<float> b, int outputs) {
  MlpParams<float> p;
  p.layers.push_back({std::move(w), std::move(b)});
  p.layers.push_back(
      {Matrix<float>::Ones(outputs, p.layers[0].weight.rows()), RowVector<float>::Zero(outputs)});
  return p;
}

TEST(ActivationRegions, GridLayout) {
  const Matrix<float> g = grid_points(-1, 1, 0, 2, 3, 2);
  EXPECT_EQ(g.rows(), 6);
  EXPECT_EQ(g.row(0), Eigen::RowVector2f(-1, 0));
  EXPECT_EQ(g.row(2), Eigen::RowVector2f(1, 0));
  EXPECT_EQ(g.row(4), Eigen::RowVector2f(0, 2));
  EXPECT_CONTAINS(testing::error_of<InputError>([] { grid_points(0, 1, 0, 1, 1, 5); }), "at least 2 x 2");
}

TEST(ActivationRegions, ThreeFoldsThroughTheOriginCutSixRegions) {
  // x = 0, y = 0 and x + y = 0: six sectors; moving the third fold off the origin (x + y = 1) makes seven.
  Matrix<float> w(3, 2);
  w << 1, 0, 0, 1, 1, 1;
  const Matrix<float> grid = grid_points(-2, 2, -2, 2, 41, 41);
  EXPECT_EQ(activation_regions(one_hidden_layer(w, RowVector<float>::Zero(3), 2), grid).at(0).count, 6);
  RowVector<float> b(3);
  b << 0, 0, -1;
  const std::vector<LayerRegions> r = activation_regions(one_hidden_layer(w, b, 2), grid);
  EXPECT_EQ(r.at(0).count, 7);
  EXPECT_EQ(r[0].region.size(), 41u * 41u);
  EXPECT_EQ(r[0].region[0], 0);  // ids in order of first appearance
}

TEST(ActivationRegions, DeeperLayersOnlySplitRegions) {
  ToyOptions t;
  t.n = 300;
  TrainOptions o;
  o.widths = {2, 16, 16, 3};
  o.epochs = 20;
  const TrainResult trained = train_mlp(make_toy_points("spirals", t), nullptr, o);
  const std::vector<LayerRegions> r =
      activation_regions(trained.params, grid_points(-1.2, 1.2, -1.2, 1.2, 60, 60));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_GT(r[0].count, 1);
  EXPECT_GE(r[1].count, r[0].count);
  // Every layer-1 region lies inside one layer-0 region.
  std::vector<int32_t> parent(r[1].count, -1);
  for (size_t p = 0; p < r[1].region.size(); ++p) {
    int32_t& up = parent[r[1].region[p]];
    if (up < 0) up = r[0].region[p];
    EXPECT_EQ(up, r[0].region[p]);
  }
  std::printf(
      "spirals 2-16-16-3 after 20 epochs: %d regions after layer 0, %d after layer 1 (60 x 60 grid)\n",
      r[0].count, r[1].count);
}

}  // namespace
}  // namespace resid::train
