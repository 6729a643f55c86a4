// Fold maps of 2-D-input MLPs, on hand-built networks whose regions are known exactly.
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/mlp.h"
#include "reports/fold_maps.h"
#include "reports/folds_section.h"
#include "test_support.h"

namespace resid {
namespace {

Linear linear(int64_t d_out, int64_t d_in, std::vector<float> w, std::vector<float> b) {
  return {Tensor::owned({d_out, d_in}, std::move(w)), Tensor::owned({d_out}, std::move(b))};
}

// Layer 0: units x > 0 and y > 0 (the two axes are its folds). Layer 1: one unit on when relu(x) + relu(y) >
// 1, a bent fold: x + y = 1 in the positive quadrant, y = 1 left of it, x = 1 below it, nowhere in the
// negative quadrant. Output: class 1 when layer 1's unit is on.
Mlp quadrant_mlp() {
  std::vector<Linear> layers;
  layers.push_back(linear(2, 2, {1, 0, 0, 1}, {0, 0}));
  layers.push_back(linear(1, 2, {1, 1}, {-1}));
  layers.push_back(linear(2, 1, {-1, 1}, {0, 0}));
  return Mlp(std::move(layers), ActFn::ReLU);
}

PlaneGrid square(float half, int cells) {
  PlaneGrid g;
  g.x_min = g.y_min = -half, g.x_max = g.y_max = half, g.nx = g.ny = cells;
  return g;
}

TEST(FoldMaps, CountsTheRegionsOfKnownFolds) {
  // An even number of cells keeps every cell centre off the folds x = 0 and y = 0.
  const FoldMaps m = fold_maps(quadrant_mlp(), square(2, 40));
  ASSERT_EQ(m.region_count.size(), 2u);
  EXPECT_EQ(m.region_count[0], 4);  // the four quadrants
  // Layer 1's bent fold cuts three quadrants in two: 7 regions.
  EXPECT_EQ(m.region_count[1], 7);
  EXPECT_FLOAT_EQ(m.on_fraction[0][0], 0.5f);
  EXPECT_FLOAT_EQ(m.on_fraction[0][1], 0.5f);
  // The cell at the top right corner is class 1, the bottom left one class 0.
  const PlaneGrid& g = m.grid;
  EXPECT_EQ(m.predicted[g.nx - 1], 1);
  EXPECT_EQ(m.predicted[size_t(g.ny - 1) * g.nx], 0);
  // Regions are ids 0..count-1, and a region of layer 1 lies inside one of layer 0.
  const std::set<int32_t> ids(m.regions[1].begin(), m.regions[1].end());
  EXPECT_EQ(ids.size(), 7u);
  EXPECT_EQ(*ids.rbegin(), 6);
  for (size_t i = 0; i < m.regions[1].size(); ++i)
    for (size_t j = 0; j < m.regions[1].size(); j += 97)
      if (m.regions[1][i] == m.regions[1][j]) {
        EXPECT_EQ(m.regions[0][i], m.regions[0][j]);
      }
}

TEST(FoldMaps, ADeadUnitIsOnNowhere) {
  std::vector<Linear> layers;
  layers.push_back(linear(2, 2, {1, 0, 0, 0}, {0, -1}));  // unit 1: 0·x - 1 < 0 everywhere
  layers.push_back(linear(2, 2, {1, 0, 0, 1}, {0, 0}));
  const FoldMaps m = fold_maps(Mlp(std::move(layers), ActFn::ReLU), square(1, 20));
  EXPECT_EQ(m.on_fraction[0][1], 0.f);
  EXPECT_EQ(m.region_count[0], 2);
}

TEST(FoldMaps, RefusesAModelThatIsNotOfThePlane) {
  std::vector<Linear> layers;
  layers.push_back(linear(2, 3, {1, 0, 0, 0, 1, 0}, {0, 0}));
  const Mlp mlp(std::move(layers), ActFn::ReLU);
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { fold_maps(mlp, square(1, 4)); }), "has 3");
}

TEST(FoldMaps, GridAroundPointsIsASquareWithAMargin) {
  PlanePoints p;
  p.xy = {0, 0, 2, 1};
  p.label = {0, 1};
  const PlaneGrid g = grid_around(p, 10);
  EXPECT_FLOAT_EQ(g.x_max - g.x_min, 2.4f);
  EXPECT_FLOAT_EQ(g.y_max - g.y_min, 2.4f);
  EXPECT_FLOAT_EQ((g.x_min + g.x_max) / 2, 1.f);
  EXPECT_FLOAT_EQ((g.y_min + g.y_max) / 2, 0.5f);
  EXPECT_EQ(g.nx, 10);
}

TEST(FoldLines, EndsOnTheSidesOfTheView) {
  const PlaneGrid g = square(1, 10);
  float e[4];
  ASSERT_TRUE(fold_line_in(g, 1, 0, -0.5f, e));  // x = 0.5
  EXPECT_FLOAT_EQ(e[0], 0.5f);
  EXPECT_FLOAT_EQ(e[2], 0.5f);
  EXPECT_FLOAT_EQ(std::abs(e[1] - e[3]), 2.f);
  ASSERT_TRUE(fold_line_in(g, 1, -1, 0, e));  // the diagonal y = x, through two corners
  EXPECT_FLOAT_EQ(std::hypot(e[0] - e[2], e[1] - e[3]), std::sqrt(8.f));
  EXPECT_FALSE(fold_line_in(g, 1, 0, -5, e));  // x = 5: outside
  EXPECT_FALSE(fold_line_in(g, 0, 0, 1, e));   // no line at all
}

TEST(FoldsSection, OneChartForTheClassesAndOnePerHiddenLayer) {
  PlanePoints p;
  p.xy = {-1, -1, 1, 1, 0.5f, 0.8f};
  p.label = {0, 1, 1};
  const Section s = folds_section(quadrant_mlp(), "quad.safetensors", p, "three points");
  ASSERT_EQ(s.charts.size(), 3u);
  EXPECT_EQ(s.charts[1].title, "Layer 0: 4 linear regions");
  EXPECT_EQ(s.charts[2].title, "Layer 1: 7 linear regions");
  // The class chart: the map image, the two first-layer fold lines, the three points.
  const auto& layers = s.charts[0].spec["layer"];
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[1]["data"]["values"].size(), 2u);
  EXPECT_EQ(layers[2]["data"]["values"].size(), 3u);
}

}  // namespace
}  // namespace resid
