// Plain text: one example per line, and the windows kind over the document chunker; a label file beside it.
#include "fuzz/fuzz_dataset.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  resid::DatasetOptions o;
  o.kind = "text";
  o.rules = {"in_quotes", "end_of_sentence", "starts_word", "is_capitalised"};
  resid::fuzz::fuzz_dataset(data, size, o, "data.txt");
  o.kind = "windows";
  o.window = 8;
  resid::fuzz::fuzz_dataset(data, size, o, "data.txt");
  // The same bytes as a label file for a fixed three-line dataset.
  const std::string labels = resid::fuzz::write_input(data, size, "labels.txt");
  const uint8_t three[] = "the cat\nHi\nsaid a\n";
  resid::DatasetOptions l;
  l.kind = "text";
  l.label_files = {"y=" + labels};
  resid::fuzz::fuzz_dataset(three, sizeof three - 1, l, "three.txt");
  return 0;
}
