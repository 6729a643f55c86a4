#include "datasets/example.h"

#include <algorithm>

#include "core/error.h"
#include "core/input_file.h"

namespace resid {

int32_t LabelColumn::class_id(const std::string& cls) {
  const auto it = std::find(classes.begin(), classes.end(), cls);
  if (it != classes.end()) return static_cast<int32_t>(it - classes.begin());
  classes.push_back(cls);
  return static_cast<int32_t>(classes.size() - 1);
}

int32_t LabelColumn::class_id(const std::string& cls, const std::string& where) {
  if (cls.size() > kMaxClassNameBytes || cls.find('\0') != std::string::npos) {
    throw InputError(where + ": class name of label column \"" + printable(name) + "\" is longer than " +
                     std::to_string(kMaxClassNameBytes) + " bytes or contains a NUL: '" + printable(cls, 40) +
                     "'");
  }
  return class_id(cls);
}

}  // namespace resid
