#include "datasets/image_set.h"

#include <cmath>

#include "core/error.h"
#include "datasets/idx_file.h"

namespace resid {

ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path) {
  const IdxArray images = read_idx(images_path);
  const bool floats = images.type == IdxType::F32 || images.type == IdxType::F64;
  if (images.type != IdxType::U8 && !floats)
    throw FormatError(images_path, "images are " + idx_type_name(images.type) +
                                       ", expected unsigned bytes (scaled to [0, 1]) or floats");
  if (images.dims.size() < 2)
    throw FormatError(images_path, "has 1 dimension, expected images [n, rows, cols] or [n, features]");
  ImageSet set;
  set.images_path = images_path;
  set.image_shape.assign(images.dims.begin() + 1, images.dims.end());
  const int64_t n = images.dims[0], features = images.count() / std::max<int64_t>(n, 1);
  set.pixels.resize(n, features);
  float* out = set.pixels.data();
  if (images.type == IdxType::U8) {
    // MNIST's convention (and the mnist-mlp checkpoint's): pixel / 255, no other normalisation.
    for (int64_t i = 0; i < n * features; ++i) out[i] = images.bytes[i] / 255.0f;
  } else {
    for (int64_t i = 0; i < n * features; ++i) out[i] = static_cast<float>(images.at(i));
  }
  if (labels_path.empty()) return set;

  const IdxArray labels = read_idx(labels_path);
  set.labels_path = labels_path;
  if (labels.dims.size() != 1)
    throw FormatError(labels_path, "labels must be one-dimensional [n], this file has " +
                                       std::to_string(labels.dims.size()) + " dimensions");
  if (labels.dims[0] != n)
    throw InputError(labels_path + ": has " + std::to_string(labels.dims[0]) + " labels but " + images_path +
                     " has " + std::to_string(n) + " images");
  set.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const double v = labels.at(i);
    if (v != std::floor(v) || v < 0 || v > 1e9)
      throw FormatError(labels_path,
                        "label " + std::to_string(i) + " = " + std::to_string(v) + " is not a class index");
    set.labels[i] = static_cast<int32_t>(v);
  }
  return set;
}

}  // namespace resid
