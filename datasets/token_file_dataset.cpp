#include "datasets/token_file_dataset.h"

#include <charconv>

#include "core/error.h"
#include "datasets/encoding.h"

namespace resid {
namespace {

bool is_separator(char c) {
  return c == ' ' || c == '\t' || c == ',';
}

// The decoded text of `ids` with each token's byte range in it, so rules can judge pre-tokenised input.
std::string decode_with_spans(const Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                              std::vector<TokenSpan>& spans) {
  std::string text;
  spans.clear();
  int prev = -1;
  for (int32_t id : ids) {
    const size_t begin = text.size();
    text += tokenizer.decode_token(prev, id);
    spans.push_back({id, begin, text.size()});
    prev = id;
  }
  return text;
}

}  // namespace

TokenFileDataset::TokenFileDataset(const DatasetOptions& options, const Tokenizer* tokenizer)
    : LineDataset(options), tokenizer_(tokenizer), rules_(options.rules) {
  if (!tokenizer_ && rules_.size() > 0) {
    throw InputError(options.path + ": label rules on a token file need a tokenizer to decode the ids");
  }
  columns_ = rules_.columns();
}

void TokenFileDataset::parse(const std::string& line, const std::string& where, Example& out) {
  const int vocab = tokenizer_ ? tokenizer_->vocab_size() : 0;
  for (size_t pos = 0; pos < line.size();) {
    if (is_separator(line[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < line.size() && !is_separator(line[end])) ++end;
    const std::string_view word(line.data() + pos, end - pos);
    int32_t id = 0;
    const auto [stop, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
    if (ec != std::errc() || stop != word.data() + word.size()) {
      throw InputError(where + ": \"" + std::string(word) +
                       "\" is not a token id (expected integers separated " + "by spaces or commas)");
    }
    if (tokenizer_ && (id < 0 || id >= vocab)) {
      throw InputError(where + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                       std::to_string(vocab) + ")");
    }
    if (id < 0) throw InputError(where + ": token id " + std::to_string(id) + " is negative");
    out.tokens.push_back(id);
    pos = end;
  }
  if (out.tokens.empty()) throw InputError(where + ": no token ids on the line");
  out.tokens.resize(fit_length(out.tokens.size(), options_, where));
  if (rules_.size() > 0) {
    std::vector<TokenSpan> spans;
    const std::string text = decode_with_spans(*tokenizer_, out.tokens, spans);
    rules_.apply(text, spans, 0, out);
  }
}

std::string TokenFileDataset::describe() const {
  DatasetOptions shown = options_;
  shown.add_bos = true;  // token files ignore add_bos; keep it out of the description
  return "tokens" + describe_encoding(shown);
}

}  // namespace resid
