// The folds of an MLP with 2-D input, measured on a grid of the input plane. Each ReLU is on on one side of
// a line (layer 0) or of a bent curve (deeper layers), so the set of units that are on at a point, the
// activation pattern, is constant on regions of the plane: the network is one affine map per region. Layer
// l's regions are those of the patterns of layers 0..l together, so every layer can only split regions
// further.
#pragma once
#include <cstdint>
#include <vector>

#include "core/mlp.h"

namespace resid {

// A rectangle of the input plane sampled at nx × ny cell centres. Row 0 of a map is the top (y_max), as in
// an image.
struct PlaneGrid {
  float x_min = -1, x_max = 1, y_min = -1, y_max = 1;
  int nx = 200, ny = 200;
  float x_at(int col) const { return x_min + (x_max - x_min) * (col + 0.5f) / nx; }
  float y_at(int row) const { return y_max - (y_max - y_min) * (row + 0.5f) / ny; }
};

// Points drawn over the maps (e.g. the training set), with their class.
struct PlanePoints {
  std::vector<float> xy;   // [n, 2]
  std::vector<int> label;  // [n]
  int64_t size() const { return static_cast<int64_t>(label.size()); }
};

// The square around `points` with a margin of 10% of its side on every side; [-1, 1]² when there are none.
PlaneGrid grid_around(const PlanePoints& points, int cells_per_side);

struct FoldMaps {
  PlaneGrid grid;
  std::vector<int> predicted;                   // [ny * nx]: argmax class at each cell
  std::vector<std::vector<int32_t>> regions;    // [n_hidden][ny * nx]: region id (0, 1, ...) of layers 0..l
  std::vector<int> region_count;                // [n_hidden]: distinct activation patterns on the grid
  std::vector<std::vector<float>> on_fraction;  // [n_hidden][width]: share of cells where each unit is on
};

// Runs `mlp` on every cell of `grid`. Throws InputError when the MLP's input is not 2-D.
FoldMaps fold_maps(const Mlp& mlp, const PlaneGrid& grid);

}  // namespace resid
