// Vector files (.npy with its header dict and shape, or whitespace-separated numbers).
#include <string_view>

#include "core/formats/vector_file.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  resid::fuzz::expect_resid_errors_only([&] { resid::parse_vector_file(bytes, "fuzz.npy"); });
  return 0;
}
