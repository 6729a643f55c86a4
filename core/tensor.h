// A float32 tensor: row-major data plus whatever keeps it alive (a memory map or an owned buffer).
// Weights are always float32 in memory: F32 checkpoints are used in place through the map, other dtypes are
// converted once at load.
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace resid {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;

struct Tensor {
  std::vector<int64_t> shape;
  const float* data = nullptr;
  std::shared_ptr<const void> owner;  // keeps `data` valid

  bool empty() const { return data == nullptr; }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return shape.empty() ? 0 : n;
  }
  // 2-D view [shape[0], shape[1]]; 1-D tensors view as [1, n].
  ConstMatrixMap matrix() const {
    if (shape.size() == 1) return ConstMatrixMap(data, 1, shape[0]);
    return ConstMatrixMap(data, shape[0], numel() / shape[0]);
  }
  ConstVectorMap vector() const { return ConstVectorMap(data, numel()); }

  // An owned copy of `values` with the given shape.
  static Tensor owned(std::vector<int64_t> shape, std::vector<float> values);
  // A view into memory kept alive by `owner` (no copy).
  static Tensor view(std::vector<int64_t> shape, const float* data, std::shared_ptr<const void> owner);
};

std::string shape_string(const std::vector<int64_t>& shape);  // "[64, 172]"

}  // namespace resid
