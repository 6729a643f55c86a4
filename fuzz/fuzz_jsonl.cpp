// JSONL dataset lines: a text field, number/bool/string label fields typed by the first row, rule labels.
#include "fuzz/fuzz_dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  resid::DatasetOptions o;
  o.kind = "jsonl";
  o.label_fields = {"y", "label"};
  o.rules = {"in_quotes", "end_of_sentence", "starts_word", "is_digit", "is_capitalised"};
  resid::fuzz::fuzz_dataset(data, size, o, "data.jsonl");
  o.label_fields.clear();
  resid::fuzz::fuzz_dataset(data, size, o, "data.jsonl");
  return 0;
}
