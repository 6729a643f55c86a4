// Labelled points for training the plain MLP family (core/mlp.h): a feature matrix with one class id per row,
// from a seeded 2-D generator (toy_points.h), a CSV file (csv_points.h) or MNIST's IDX files (image_set.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "datasets/image_set.h"

namespace resid {

struct PointSet {
  std::string source;                    // "spirals:3 n=1000 noise=0.05 seed=0", a CSV path, an IDX path
  RowMatrix x;                           // [n, n_features]
  std::vector<int32_t> y;                // [n] class ids in [0, n_classes)
  int n_classes = 0;                     // 1 + the largest class id
  std::vector<std::string> class_names;  // [n_classes] when the file named its classes, else empty

  int64_t size() const { return x.rows(); }
  int n_features() const { return static_cast<int>(x.cols()); }
  // The rows `rows` (in that order) as a new set with the same classes.
  PointSet subset(const std::vector<int64_t>& rows) const;
};

struct PointSplit {
  PointSet train, test;
};

// A seeded shuffle, then the last round(test_fraction * n) rows go to test. test_fraction in [0, 1); 0 gives
// an empty test set. Throws InputError for a fraction outside [0, 1) or a split that leaves train empty.
PointSplit split_points(const PointSet& set, double test_fraction, uint64_t seed);

// An image set with labels as points: pixels are the features (InputError when it has no labels).
PointSet points_of_images(const ImageSet& images);

// Writes the set as IDX files: float32 features [n, n_features] and unsigned-byte labels [n] (int32 when a
// class id exceeds 255), so `resid census --images --labels` and read_idx_images read it back as it is.
void write_points_idx(const PointSet& set, const std::string& images_path, const std::string& labels_path);

}  // namespace resid
