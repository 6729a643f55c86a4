// External per-sequence labels (DatasetOptions::label_files, "name=path"): a file with one value per line,
// line i labelling example i of the wrapped dataset. The file is read once at open to type its column (every
// value a number -> SequenceNumber, else SequenceClass with class ids in first-seen order, all known from the
// start) and count its rows, then streamed beside the examples. A row count that differs from the example
// count is an InputError "<labels path>: 99 labels for 100 examples": at open when the dataset can count its
// examples cheaply, else on the first example without a label or at the end.
#pragma once
#include <memory>

#include "datasets/dataset.h"
#include "datasets/line_reader.h"

namespace resid {

// A label file: the column it makes and where its values are.
struct LabelFileSpec {
  std::string name;
  std::string path;
};

// "name=path", or "path" alone (the name is the file's stem). InputError for an empty name or path.
LabelFileSpec parse_label_file_spec(const std::string& spec);

class LabelFileDataset : public Dataset {
 public:
  // Appends one column per label file to `inner`'s. Throws InputError for an unreadable file, an empty value,
  // or a row count that differs from inner->count_examples().
  LabelFileDataset(std::unique_ptr<Dataset> inner, const std::vector<std::string>& label_files);

  bool next(Example& out) override;
  void rewind() override;
  const std::vector<LabelColumn>& labels() const override { return columns_; }
  std::string describe() const override;
  std::optional<size_t> count_examples() const override { return inner_->count_examples(); }

 private:
  struct File {
    LabelFileSpec spec;
    size_t rows = 0;
    std::unique_ptr<LineReader> reader;
  };
  // Counts `inner_`'s remaining examples after a mismatch, so the message can give the total.
  [[noreturn]] void throw_too_few_labels(const File& file, size_t examples_so_far);
  double value(File& file, LabelColumn& column);

  std::unique_ptr<Dataset> inner_;
  std::vector<File> files_;
  std::vector<LabelColumn> columns_;
  size_t first_column_ = 0;
  size_t examples_ = 0;  // returned since the last rewind
  std::string line_;
};

}  // namespace resid
