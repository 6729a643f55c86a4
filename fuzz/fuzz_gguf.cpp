// GGUF: the whole model load (header, metadata, tensor table, dequantisation, config) and the tokenizer
// alone.
#include "core/formats/gguf.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = resid::fuzz::write_input(data, size, "model.gguf");
  resid::fuzz::expect_resid_errors_only([&] { resid::load_gguf(path); });
  resid::fuzz::expect_resid_errors_only([&] { resid::load_gguf_tokenizer(path); });
  return 0;
}
