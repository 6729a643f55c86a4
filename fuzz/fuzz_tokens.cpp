// Token-id files: integers separated by spaces, tabs or commas; with a tokenizer (range checks, rules over
// the decoded text) and without.
#include "fuzz/fuzz_dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  resid::DatasetOptions o;
  o.kind = "tokens";
  resid::fuzz::fuzz_dataset(data, size, o, "data.tokens", false);
  o.rules = {"in_quotes", "end_of_sentence", "is_digit"};
  resid::fuzz::fuzz_dataset(data, size, o, "data.tokens", true);
  return 0;
}
