#include "capture/activation_file.h"
#include "core/error.h"

namespace resid {

StoreDType store_dtype_from_name(const std::string& name) {
  if (name == "float32" || name == "f32") return StoreDType::F32;
  if (name == "float16" || name == "f16") return StoreDType::F16;
  if (name == "bfloat16" || name == "bf16") return StoreDType::BF16;
  throw InputError("dtype '" + name + "' (expected float32, float16 or bfloat16)");
}

std::string store_dtype_name(StoreDType t) {
  switch (t) {
    case StoreDType::F32: return "float32";
    case StoreDType::F16: return "float16";
    case StoreDType::BF16: return "bfloat16";
  }
  return "?";
}

}  // namespace resid
