// Tagged dataset lines (word/TAG items): tags aligned to each word's last sub-token, with rule labels.
#include "fuzz/fuzz_dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  resid::DatasetOptions o;
  o.kind = "tagged";
  o.rules = {"in_quotes", "starts_word"};
  resid::fuzz::fuzz_dataset(data, size, o, "data.tags");
  return 0;
}
