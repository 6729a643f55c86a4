// safetensors: the JSON header, offsets and dtypes, every tensor read back, and the bare-file model loader
// (Llama names or a plain MLP of Linear layers).
#include "core/formats/hf_checkpoint.h"
#include "core/formats/safetensors.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = resid::fuzz::write_input(data, size, "weights.safetensors");
  resid::fuzz::expect_resid_errors_only([&] {
    const resid::SafetensorsFile file(path);
    for (const auto& entry : file.entries())
      resid::fuzz::expect_resid_errors_only([&] { file.tensor(entry.first); });
  });
  resid::fuzz::expect_resid_errors_only([&] { resid::load_safetensors_file(path); });
  return 0;
}
