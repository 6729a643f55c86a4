// Shared by the dataset harnesses: open a dataset of one kind over the fuzzed file, read every example, check
// the invariants every consumer relies on, rewind, and check the second pass is identical.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace resid::fuzz {

// Reads the dataset `options` describe (path filled in from the input) with and without truncation.
void fuzz_dataset(const uint8_t* data, size_t size, DatasetOptions options, const std::string& file_name,
                  bool with_tokenizer = true);

}  // namespace resid::fuzz
