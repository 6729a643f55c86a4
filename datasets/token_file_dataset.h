// Kind "tokens": pre-tokenised input, one example per non-blank line of integer ids separated by spaces, tabs
// and/or commas ("1 403 407" or "1,403,407"), used exactly as written (no BOS is added). With a tokenizer,
// ids are checked against its vocabulary and rule labels are computed over the decoded text; without one,
// only negative ids are rejected and rules are unavailable.
#pragma once
#include "datasets/line_dataset.h"
#include "datasets/rule_labels.h"

namespace resid {

class TokenFileDataset : public LineDataset {
 public:
  // `tokenizer` may be null (InputError if rules are asked for then).
  TokenFileDataset(const DatasetOptions& options, const Tokenizer* tokenizer);
  std::string describe() const override;

 protected:
  void parse(const std::string& line, const std::string& where, Example& out) override;

 private:
  const Tokenizer* tokenizer_;
  RuleLabels rules_;
};

}  // namespace resid
