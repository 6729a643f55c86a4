#include "train/activation_regions.h"

#include <string>
#include <unordered_map>

#include "core/error.h"
#include "train/mlp_backprop.h"

namespace resid::train {

std::vector<LayerRegions> activation_regions(const MlpParams<float>& params, const Matrix<float>& points) {
  ForwardCache<float> cache;
  mlp_forward(params, points, &cache);
  const Eigen::Index n = points.rows();
  std::vector<std::string> pattern(static_cast<size_t>(n));  // the on/off bits of layers 0..l, one char each
  std::vector<LayerRegions> out;
  for (const Matrix<float>& pre : cache.pre) {  // [n, width]
    LayerRegions layer;
    layer.region.resize(static_cast<size_t>(n));
    std::unordered_map<std::string, int32_t> id_of;
    for (Eigen::Index p = 0; p < n; ++p) {
      std::string& bits = pattern[p];
      for (Eigen::Index j = 0; j < pre.cols(); ++j) bits += pre(p, j) > 0.0f ? '1' : '0';
      const auto [it, added] = id_of.emplace(bits, static_cast<int32_t>(id_of.size()));
      layer.region[p] = it->second;
    }
    layer.count = static_cast<int32_t>(id_of.size());
    out.push_back(std::move(layer));
  }
  return out;
}

Matrix<float> grid_points(double x0, double x1, double y0, double y1, int nx, int ny) {
  if (nx < 2 || ny < 2)
    throw InputError("a grid needs at least 2 x 2 points, not " + std::to_string(nx) + " x " +
                     std::to_string(ny));
  Matrix<float> g(Eigen::Index(nx) * ny, 2);
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i) {
      g(Eigen::Index(j) * nx + i, 0) = static_cast<float>(x0 + i * (x1 - x0) / (nx - 1));
      g(Eigen::Index(j) * nx + i, 1) = static_cast<float>(y0 + j * (y1 - y0) / (ny - 1));
    }
  return g;
}

}  // namespace resid::train
