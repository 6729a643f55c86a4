// The base of every kind with one example per non-blank line (text, jsonl, tokens, tagged): reading, skipping
// blank lines, rewinding and counting live here; a kind only turns one line into an example.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/line_reader.h"

namespace resid {

class LineDataset : public Dataset {
 public:
  bool next(Example& out) final;
  void rewind() override { reader_.rewind(); }
  const std::vector<LabelColumn>& labels() const final { return columns_; }
  std::optional<size_t> count_examples() const override;

 protected:
  explicit LineDataset(const DatasetOptions& options);
  // Fills `out` (already reset to labels().size() columns) from one non-blank line; errors start with
  // `where`.
  virtual void parse(const std::string& line, const std::string& where, Example& out) = 0;

  const DatasetOptions options_;
  std::vector<LabelColumn> columns_;
  LineReader reader_;

 private:
  std::string line_;
  mutable std::optional<size_t> count_;
};

}  // namespace resid
