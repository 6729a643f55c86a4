// The "folds" section for an MLP with 2-D input: the class each point of the plane gets, and for every hidden
// layer the regions of the plane on which the network is one affine map (its activation patterns), with the
// number of regions, the given points overlaid and the first layer's fold lines w·x + b = 0.
#pragma once
#include <string>

#include "core/mlp.h"
#include "reports/fold_maps.h"
#include "reports/report.h"

namespace resid {

// `points` may be empty (the view is then [-1, 1]²); `points_source` says where they came from.
Section folds_section(const Mlp& mlp, const std::string& path, const PlanePoints& points,
                      const std::string& points_source);

// The two ends of the line w·x + b = 0 inside the grid's rectangle; false when it does not cross it.
bool fold_line_in(const PlaneGrid& grid, float wx, float wy, float b, float ends[4]);

}  // namespace resid
