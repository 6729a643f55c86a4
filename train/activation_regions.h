// Which ReLUs are on at each of a set of input points, and the regions those patterns cut the input into: for
// a 2-D model over a grid, the folds of each layer and the number of linear regions, for pictures of the
// plane. A neuron is on where its pre-activation (mlp.hook_pre) is > 0. Region ids of hidden layer l combine
// the patterns of layers 0..l, because the map from the input to layer l's output is linear exactly where all
// of them are fixed: these are the linear regions of that map (up to the grid's resolution).
#pragma once
#include <cstdint>
#include <vector>

#include "train/mlp_params.h"

namespace resid::train {

struct LayerRegions {
  std::vector<int32_t> region;  // [n_points] the point's region id, numbered in order of first appearance
  int32_t count = 0;            // distinct regions among the points
};

// points: [n_points, d_in] -> one LayerRegions per hidden layer.
std::vector<LayerRegions> activation_regions(const MlpParams<float>& params, const Matrix<float>& points);

// nx x ny points evenly spaced over [x0, x1] x [y0, y1], corners included: [ny * nx, 2], row r = (j, i) with
// r = j * nx + i, x = x0 + i (x1 - x0) / (nx - 1), y = y0 + j (y1 - y0) / (ny - 1). nx, ny >= 2.
Matrix<float> grid_points(double x0, double x1, double y0, double y1, int nx, int ny);

}  // namespace resid::train
