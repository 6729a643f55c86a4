#include "reports/fold_maps.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace resid {

namespace {

// Keeps, for every hidden layer, which units are on (pre-activation > 0) at each grid cell.
class PatternRecorder : public HookVisitor {
 public:
  bool wants(HookPointId point) const override { return point.site == HookSite::MlpPre; }
  void visit(ActivationView& act) override {
    const int64_t n = act.shape[0], width = act.shape[1];  // [cells, width]
    std::vector<uint8_t> on(static_cast<size_t>(n * width));
    for (int64_t i = 0; i < n * width; ++i) on[i] = act.data[i] > 0.f;
    layers.push_back(std::move(on));
    widths.push_back(width);
  }
  std::vector<std::vector<uint8_t>> layers;  // [n_hidden][cells * width]
  std::vector<int64_t> widths;
};

}  // namespace

PlaneGrid grid_around(const PlanePoints& points, int cells_per_side) {
  PlaneGrid g;
  g.nx = g.ny = cells_per_side;
  if (points.size() == 0) return g;
  float x0 = points.xy[0], x1 = x0, y0 = points.xy[1], y1 = y0;
  for (int64_t i = 0; i < points.size(); ++i) {
    x0 = std::min(x0, points.xy[2 * i]), x1 = std::max(x1, points.xy[2 * i]);
    y0 = std::min(y0, points.xy[2 * i + 1]), y1 = std::max(y1, points.xy[2 * i + 1]);
  }
  // A square view, so that fold lines keep their angles.
  const float side = std::max({x1 - x0, y1 - y0, 1e-3f}) * 1.2f;
  const float cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  g.x_min = cx - side / 2, g.x_max = cx + side / 2, g.y_min = cy - side / 2, g.y_max = cy + side / 2;
  return g;
}

FoldMaps fold_maps(const Mlp& mlp, const PlaneGrid& grid) {
  if (mlp.config().widths.front() != 2)
    throw InputError("fold maps need a model with 2 inputs (points of the plane); this one has " +
                     std::to_string(mlp.config().widths.front()));
  const int64_t cells = int64_t{grid.nx} * grid.ny;
  RowMatrix x(cells, 2);  // [cells, 2]
  for (int r = 0; r < grid.ny; ++r)
    for (int c = 0; c < grid.nx; ++c)
      x(int64_t{r} * grid.nx + c, 0) = grid.x_at(c), x(int64_t{r} * grid.nx + c, 1) = grid.y_at(r);
  PatternRecorder patterns;
  const RowMatrix logits = mlp.forward(x, &patterns);  // [cells, d_out]

  FoldMaps maps;
  maps.grid = grid;
  maps.predicted.resize(cells);
  for (int64_t i = 0; i < cells; ++i) {
    Eigen::Index k = 0;
    logits.row(i).maxCoeff(&k);
    maps.predicted[i] = static_cast<int>(k);
  }

  // Region ids layer by layer: a cell's id at layer l names the pair (its id at layer l - 1, its pattern at
  // l).
  std::vector<int32_t> previous(cells, 0);
  for (size_t l = 0; l < patterns.layers.size(); ++l) {
    const int64_t width = patterns.widths[l];
    const std::vector<uint8_t>& on = patterns.layers[l];
    std::map<std::pair<int32_t, std::vector<uint8_t>>, int32_t> ids;
    std::vector<int32_t> region(cells);
    std::vector<float> fraction(width, 0.f);
    for (int64_t i = 0; i < cells; ++i) {
      std::vector<uint8_t> key(on.begin() + i * width, on.begin() + (i + 1) * width);
      for (int64_t u = 0; u < width; ++u) fraction[u] += key[u];
      const auto [it, inserted] = ids.emplace(std::make_pair(previous[i], std::move(key)), 0);
      if (inserted) it->second = static_cast<int32_t>(ids.size() - 1);
      region[i] = it->second;
    }
    for (float& f : fraction) f /= static_cast<float>(cells);
    maps.region_count.push_back(static_cast<int>(ids.size()));
    maps.on_fraction.push_back(std::move(fraction));
    previous = region;
    maps.regions.push_back(std::move(region));
  }
  return maps;
}

}  // namespace resid
