// Kind "windows": a long plain-text document cut into fixed-length token windows. The document is read and
// tokenised a chunk (a paragraph, see DocumentChunker) at a time, so memory stays bounded by the window and
// the chunk: each chunk is encoded as the tokenizer encodes a text of its own (with a dummy-prefix space), so
// the token stream differs from encoding the whole file at once only at paragraph starts. Every window holds
// `window` tokens, BOS first when add_bos; the last window keeps whatever is left (shorter). Rule labels are
// computed per chunk, so a quotation is judged with all of its paragraph even when a window cuts it.
#pragma once
#include <deque>

#include "datasets/dataset.h"
#include "datasets/document_chunker.h"
#include "datasets/rule_labels.h"

namespace resid {

class WindowDataset : public Dataset {
 public:
  // Throws InputError when the window does not fit max_tokens or leaves no room after BOS.
  WindowDataset(const DatasetOptions& options, const Tokenizer& tokenizer);

  bool next(Example& out) override;
  void rewind() override;
  const std::vector<LabelColumn>& labels() const override { return columns_; }
  std::string describe() const override;

 private:
  struct QueuedToken {
    int32_t id;
    std::string text;              // the bytes of the document it covers
    std::vector<int32_t> classes;  // one per rule
  };
  // Tokenises the next chunk onto queue_; false at the end of the document.
  bool read_chunk();

  const DatasetOptions options_;
  const Tokenizer& tokenizer_;
  RuleLabels rules_;
  std::vector<LabelColumn> columns_;
  int window_;
  DocumentChunker chunker_;
  std::deque<QueuedToken> queue_;
  std::string chunk_;
  size_t index_ = 0;  // windows returned so far
};

}  // namespace resid
