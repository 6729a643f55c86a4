#include "datasets/point_set.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/init.h"
#include "core/number_text.h"
#include "datasets/idx_file.h"

namespace resid {

PointSet PointSet::subset(const std::vector<int64_t>& rows) const {
  PointSet out;
  out.source = source;
  out.n_classes = n_classes;
  out.class_names = class_names;
  out.x.resize(static_cast<Eigen::Index>(rows.size()), x.cols());
  out.y.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    out.x.row(static_cast<Eigen::Index>(i)) = x.row(rows[i]);
    out.y[i] = y[static_cast<size_t>(rows[i])];
  }
  return out;
}

PointSplit split_points(const PointSet& set, double test_fraction, uint64_t seed) {
  if (!(test_fraction >= 0 && test_fraction < 1))
    throw InputError("test_fraction " + number_text(test_fraction) + " is not in [0, 1)");
  const int64_t n = set.size();
  const int64_t n_test = static_cast<int64_t>(std::llround(test_fraction * double(n)));
  if (n - n_test < 1)
    throw InputError(set.source + ": " + std::to_string(n) +
                     " examples leave none for training at test_fraction " + number_text(test_fraction));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(seed ^ 0x5b1175eedull);  // the split's own stream: not the generator's, not the trainer's
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.next_u64() % uint64_t(i + 1)]);
  PointSplit out;
  out.train = set.subset(std::vector<int64_t>(order.begin(), order.end() - n_test));
  out.test = set.subset(std::vector<int64_t>(order.end() - n_test, order.end()));
  return out;
}

PointSet points_of_images(const ImageSet& images) {
  if (images.labels.empty())
    throw InputError(images.images_path + ": images without labels cannot be trained on");
  PointSet out;
  out.source = images.images_path;
  out.x = images.pixels;
  out.y = images.labels;
  for (int32_t c : out.y) out.n_classes = std::max(out.n_classes, c + 1);
  return out;
}

namespace {
void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}
}  // namespace

void write_points_idx(const PointSet& set, const std::string& images_path, const std::string& labels_path) {
  IdxArray images;
  images.type = IdxType::F32;
  images.dims = {set.size(), set.n_features()};
  images.bytes.reserve(static_cast<size_t>(set.x.size()) * 4);
  for (Eigen::Index i = 0; i < set.x.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, set.x.data() + i, 4);
    put_be32(images.bytes, u);
  }
  IdxArray labels;
  labels.type = set.n_classes > 256 ? IdxType::I32 : IdxType::U8;
  labels.dims = {set.size()};
  for (int32_t c : set.y) {
    if (labels.type == IdxType::U8)
      labels.bytes.push_back(static_cast<uint8_t>(c));
    else
      put_be32(labels.bytes, static_cast<uint32_t>(c));
  }
  write_idx(images_path, images, false);
  write_idx(labels_path, labels, false);
}

}  // namespace resid
