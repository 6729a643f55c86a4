// llama2.c checkpoints: legacy and versioned headers, layout, Q8_0 groups, config validation.
#include "core/formats/llama2c.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = resid::fuzz::write_input(data, size, "model.bin");
  resid::fuzz::expect_resid_errors_only([&] { resid::load_llama2c(path); });
  return 0;
}
