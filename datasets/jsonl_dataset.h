// Kind "jsonl": one JSON object per non-blank line, with a text field and any number of per-sequence label
// fields. A label column's kind is fixed by the first row: numbers and bools (0/1) make a SequenceNumber
// column, strings a SequenceClass column (class ids in first-seen order); a later row of the other kind, a
// missing field, null, an array/object value or invalid JSON is an InputError "<path>:<line>: ...".
#pragma once
#include <nlohmann/json_fwd.hpp>

#include "datasets/line_dataset.h"
#include "datasets/rule_labels.h"

namespace resid {

class JsonlDataset : public LineDataset {
 public:
  // Reads the first row to type the label columns.
  JsonlDataset(const DatasetOptions& options, const Tokenizer& tokenizer);
  std::string describe() const override;

 protected:
  void parse(const std::string& line, const std::string& where, Example& out) override;

 private:
  void type_columns();
  double label_value(const nlohmann::json& row, size_t column, const std::string& where);

  const Tokenizer& tokenizer_;
  RuleLabels rules_;
  size_t typed_at_ = 0;  // the line whose values fixed the column kinds (0: the file has no rows)
};

}  // namespace resid
