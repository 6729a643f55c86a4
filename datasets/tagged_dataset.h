// Kind "tagged": per-token labels from a word/TAG corpus, one sentence per non-blank line of whitespace-
// separated items split at their last '/' ("The/DT cat/NN sat/VBD ./."). The example's text is the words
// joined by single spaces. Tokens are aligned to words through their byte spans: a word's tag goes to its
// last sub-token (the last token overlapping the word), every other token (BOS, earlier sub-tokens, a lone
// space) gets "none", class 0 of the "tag" column; tags get ids 1, 2, ... in first-seen order.
#pragma once
#include <string_view>

#include "datasets/line_dataset.h"
#include "datasets/rule_labels.h"

namespace resid {

// A word of a tagged sentence and where it lies in the joined text.
struct TaggedWord {
  size_t begin;
  size_t end;
  std::string tag;
};

// Splits a tagged line into the joined text and its words; InputError "<where>: ..." for an item without a
// word, a '/', or a tag, and for the reserved tag "none".
std::string parse_tagged_line(std::string_view line, const std::string& where,
                              std::vector<TaggedWord>& words);

// For each word, the index of its last token in `spans` (-1 when no token overlaps it).
std::vector<int> last_token_of_words(const std::vector<TaggedWord>& words,
                                     const std::vector<TokenSpan>& spans);

class TaggedDataset : public LineDataset {
 public:
  TaggedDataset(const DatasetOptions& options, const Tokenizer& tokenizer);
  std::string describe() const override;

 protected:
  void parse(const std::string& line, const std::string& where, Example& out) override;

 private:
  const Tokenizer& tokenizer_;
  RuleLabels rules_;
  std::vector<TaggedWord> words_;
};

}  // namespace resid
