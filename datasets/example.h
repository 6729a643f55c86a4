// One example of a dataset, tokenised, with its labels. Labels are either per sequence (one value) or per
// token (one class id per token, aligned to `tokens`).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace resid {

// A label column. Class labels keep their class names in first-seen order; id 0 of a per-token column is
// "none" (the token carries no label: BOS, a sub-token that is not a word's last, a token covering no text).
struct LabelColumn {
  enum class Kind { SequenceNumber, SequenceClass, TokenClass };
  std::string name;
  Kind kind;
  std::vector<std::string> classes;  // SequenceClass / TokenClass: id -> name
  // The longest class name a column may hold (the fixed width capture files store names at).
  static constexpr size_t kMaxClassNameBytes = 256;

  // Returns the id of `cls`, adding it when new.
  int32_t class_id(const std::string& cls);
  // The same for a name read from input: InputError "<where>: class name ... is longer than 256 bytes" (or
  // holds a NUL), so the message names the input line rather than the output file.
  int32_t class_id(const std::string& cls, const std::string& where);
};

struct Example {
  std::vector<int32_t> tokens;  // with BOS when the dataset adds it
  std::string text;        // the source text ("" for pre-tokenised input), cut with the tokens by truncate
  size_t source_line = 0;  // 1-based line (or window index) in the dataset file, for error messages
  // Both vectors have one entry per Dataset::labels() column. A sequence column i uses `sequence_values[i]`
  // (the number, or the class id) and has an empty `token_classes[i]`; a token column i uses
  // `token_classes[i]` (one id per token, tokens.size() of them) and has NaN in `sequence_values[i]`.
  std::vector<double> sequence_values;
  std::vector<std::vector<int32_t>> token_classes;
};

}  // namespace resid
