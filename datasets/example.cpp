#include "datasets/example.h"

#include <algorithm>

namespace resid {

int32_t LabelColumn::class_id(const std::string& cls) {
  const auto it = std::find(classes.begin(), classes.end(), cls);
  if (it != classes.end()) return static_cast<int32_t>(it - classes.begin());
  classes.push_back(cls);
  return static_cast<int32_t>(classes.size() - 1);
}

}  // namespace resid
