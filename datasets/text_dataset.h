// Kind "text": one example per non-blank line of a plain-text file, tokenised with the model's tokenizer.
#pragma once
#include "datasets/line_dataset.h"
#include "datasets/rule_labels.h"

namespace resid {

class TextDataset : public LineDataset {
 public:
  TextDataset(const DatasetOptions& options, const Tokenizer& tokenizer);
  std::string describe() const override;

 protected:
  void parse(const std::string& line, const std::string& where, Example& out) override;

 private:
  const Tokenizer& tokenizer_;
  RuleLabels rules_;
};

}  // namespace resid
