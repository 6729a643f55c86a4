#include "datasets/open_points.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace resid {

namespace {

bool looks_like_idx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[2] = {1, 1};
  in.read(reinterpret_cast<char*>(head), 2);
  const bool gzip = head[0] == 0x1f && head[1] == 0x8b;
  return in.gcount() == 2 && (gzip || (head[0] == 0 && head[1] == 0));
}

}  // namespace

PointSet open_points(const PointSource& source) {
  if (is_toy_spec(source.data) && !std::filesystem::exists(source.data)) {
    if (!source.labels_path.empty())
      throw InputError("labels_path is for IDX images; '" + source.data + "' draws its own labels");
    return make_toy_points(source.data, source.toy);
  }
  if (!std::filesystem::exists(source.data))
    throw InputError(source.data + ": no such file, nor a point set (" + [] {
      std::string s;
      for (const ToyKind& k : toy_kinds()) s += (s.empty() ? "" : ", ") + std::string(k.name);
      return s;
    }() + ")");
  if (looks_like_idx(source.data)) {
    if (source.labels_path.empty())
      throw InputError(source.data + ": IDX images need their IDX labels file (labels_path)");
    return points_of_images(read_idx_images(source.data, source.labels_path));
  }
  if (!source.labels_path.empty())
    throw InputError("labels_path is for IDX images; the CSV " + source.data +
                     " holds its labels in a column");
  return read_csv_points(source.data, source.csv);
}

}  // namespace resid
