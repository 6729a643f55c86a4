// Datasets stream examples one at a time so a capture never holds a whole corpus in memory.
// Kinds: plain text (one example per line, or a long document cut into fixed-length token windows), JSONL with a
// text field and any number of label fields, pre-tokenised id files, word/TAG corpora, and rule-computed
// per-token labels over the decoded text.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "datasets/example.h"

namespace resid {

class Dataset {
 public:
  virtual ~Dataset() = default;
  // Fills `out` with the next example; false at the end. Throws InputError naming the file and line for bad rows.
  virtual bool next(Example& out) = 0;
  // Back to the first example (used by --resume to skip completed rows).
  virtual void rewind() = 0;
  // The label columns every example carries, in order. Class lists grow as examples are read.
  virtual const std::vector<LabelColumn>& labels() const = 0;
  // A stable description for file attributes ("jsonl text=sentence labels=sentiment").
  virtual std::string describe() const = 0;
};

struct DatasetOptions {
  std::string path;
  std::string kind = "auto";  // auto (by extension: .jsonl, .txt, .tokens/.ids, .tags), text, windows, jsonl,
                              // tokens, tagged
  std::string text_field = "text";          // JSONL
  std::vector<std::string> label_fields;     // JSONL label fields (numbers/bools -> number, strings -> class)
  int window = 0;                            // windows: tokens per window (0 = model n_ctx)
  bool add_bos = true;
  std::vector<std::string> rules;            // per-token rule labels: "in_quotes", "end_of_sentence", ...
  int max_tokens = 0;                        // per example: longer examples are an error unless truncate
  bool truncate = false;
};

// Opens a dataset; the tokenizer may be null for pre-tokenised input. Throws InputError / FormatError.
std::unique_ptr<Dataset> open_dataset(const DatasetOptions& options, const Tokenizer* tokenizer);

}  // namespace resid
