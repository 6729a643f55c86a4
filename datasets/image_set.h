// Images with optional class labels, from IDX files (MNIST's layout): an images file of [n, rows, cols] (or
// [n, features]) and a labels file of [n]. Input for the plain-MLP family (core/mlp.h).
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace resid {

struct ImageSet {
  std::string images_path, labels_path;  // labels_path "" when no labels were given
  std::vector<int64_t> image_shape;      // [rows, cols] for MNIST; its product is `pixels.cols()`
  RowMatrix pixels;                      // [n, features]; unsigned bytes scaled to [0, 1], floats as stored
  std::vector<int32_t> labels;           // [n] when labels were given, else empty

  int64_t size() const { return pixels.rows(); }
};

// Throws FormatError for a bad IDX file, InputError when the label count differs from the image count or the
// labels are not integers, naming both files.
ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path = "");

}  // namespace resid
