// Datasets stream examples one at a time so a capture never holds a whole corpus in memory.
// Kinds: plain text (one example per line, or a long document cut into fixed-length token windows), JSONL
// with a text field and any number of label fields, pre-tokenised id files, word/TAG corpora, and
// rule-computed per-token labels over the decoded text. docs/datasets.md describes every kind and label
// convention.
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "datasets/example.h"

namespace resid {

class Dataset {
 public:
  virtual ~Dataset() = default;
  // Fills `out` with the next example; false at the end. Throws InputError naming the file and line for bad
  // rows.
  virtual bool next(Example& out) = 0;
  // Back to the first example (a resumed capture skips its committed rows). Examples read again are
  // identical.
  virtual void rewind() = 0;
  // The label columns every example carries, in order. Their kinds are fixed when the dataset is opened;
  // class lists grow as examples are read (ids never change, rewinding keeps them).
  virtual const std::vector<LabelColumn>& labels() const = 0;
  // A stable description for file attributes ("jsonl text=sentence labels=sentiment").
  virtual std::string describe() const = 0;
  // How many examples next() will give, when that can be known without tokenising (kinds with one example per
  // non-blank line: a quick pass over the file); nullopt for windows. For progress bars and early label
  // checks.
  virtual std::optional<size_t> count_examples() const { return std::nullopt; }
};

struct DatasetOptions {
  std::string path;
  std::string kind = "auto";  // auto (by extension: .jsonl/.json, .txt, .tokens/.ids, .tags/.tagged), text,
                              // windows, jsonl, tokens, tagged
  std::string text_field = "text";        // JSONL
  std::vector<std::string> label_fields;  // JSONL label fields (numbers/bools -> number, strings -> class)
  int window = 0;                         // windows: tokens per window incl. BOS (0 = max_tokens, the n_ctx)
  bool add_bos = true;                    // text kinds; token files are used exactly as written
  std::vector<std::string> rules;         // per-token rule labels: "in_quotes", "end_of_sentence", ...
  int max_tokens = 0;                     // per example (0 = no limit): longer is an error unless truncate
  bool truncate = false;
  // External per-sequence labels, "name=path" (or just "path": the name is the file's stem): one value per
  // line, line i labelling example i. All numbers -> SequenceNumber, else SequenceClass. A row count that
  // differs from the example count is an InputError.
  std::vector<std::string> label_files;
  // The most bytes one line of a line-based file may hold (every kind but windows, which reads in bounded
  // chunks): one line without a newline cannot take unbounded memory.
  size_t max_line_bytes = size_t{16} << 20;
};

// The dataset kinds open_dataset accepts, "auto" first.
const std::vector<std::string>& dataset_kinds();

// Opens a dataset; the tokenizer may be null for pre-tokenised input. Throws InputError / FormatError.
std::unique_ptr<Dataset> open_dataset(const DatasetOptions& options, const Tokenizer* tokenizer);

}  // namespace resid
