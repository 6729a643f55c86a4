#include "datasets/tagged_dataset.h"

#include "core/error.h"
#include "datasets/encoding.h"

namespace resid {

std::string parse_tagged_line(std::string_view line, const std::string& where,
                              std::vector<TaggedWord>& words) {
  std::string text;
  words.clear();
  for (size_t pos = 0; pos < line.size();) {
    if (is_space(line[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < line.size() && !is_space(line[end])) ++end;
    const std::string_view item = line.substr(pos, end - pos);
    pos = end;
    const size_t slash = item.rfind('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == item.size()) {
      throw InputError(where + ": item \"" + std::string(item) + "\" is not word/TAG");
    }
    const std::string_view tag = item.substr(slash + 1);
    if (tag == "none") {
      throw InputError(where + ": tag \"none\" is reserved for tokens without a tag (item \"" +
                       std::string(item) + "\")");
    }
    if (!text.empty()) text.push_back(' ');
    const size_t begin = text.size();
    text.append(item.substr(0, slash));
    words.push_back({begin, text.size(), std::string(tag)});
  }
  return text;
}

std::vector<int> last_token_of_words(const std::vector<TaggedWord>& words,
                                     const std::vector<TokenSpan>& spans) {
  std::vector<int> last(words.size(), -1);
  // Words and spans both run left to right, so one pass with a moving first candidate word suffices.
  size_t first_word = 0;
  for (size_t t = 0; t < spans.size(); ++t) {
    const TokenSpan& s = spans[t];
    if (s.begin == s.end) continue;
    while (first_word < words.size() && words[first_word].end <= s.begin) ++first_word;
    for (size_t w = first_word; w < words.size() && words[w].begin < s.end; ++w)
      last[w] = static_cast<int>(t);
  }
  return last;
}

TaggedDataset::TaggedDataset(const DatasetOptions& options, const Tokenizer& tokenizer)
    : LineDataset(options), tokenizer_(tokenizer), rules_(options.rules) {
  columns_.push_back({"tag", LabelColumn::Kind::TokenClass, {"none"}});
  for (LabelColumn& c : rules_.columns()) columns_.push_back(std::move(c));
}

void TaggedDataset::parse(const std::string& line, const std::string& where, Example& out) {
  std::string text = parse_tagged_line(line, where, words_);
  const std::vector<TokenSpan> spans = encode_example(tokenizer_, std::move(text), options_, where, out);
  std::vector<int32_t>& tags = out.token_classes[0];
  tags.assign(spans.size(), 0);
  const std::vector<int> last = last_token_of_words(words_, spans);
  // Words cut off by truncation may still own a kept token (their first pieces): they are not labelled, since
  // their last sub-token is gone.
  for (size_t w = 0; w < words_.size(); ++w) {
    if (last[w] < 0 || words_[w].end > out.text.size()) continue;
    tags[last[w]] = columns_[0].class_id(words_[w].tag, where);
  }
  rules_.apply(out.text, spans, 1, out);
}

std::string TaggedDataset::describe() const {
  return "tagged" + describe_encoding(options_);
}

}  // namespace resid
