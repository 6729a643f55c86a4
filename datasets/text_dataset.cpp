#include "datasets/text_dataset.h"

#include "datasets/encoding.h"

namespace resid {

TextDataset::TextDataset(const DatasetOptions& options, const Tokenizer& tokenizer)
    : LineDataset(options), tokenizer_(tokenizer), rules_(options.rules) {
  columns_ = rules_.columns();
}

void TextDataset::parse(const std::string& line, const std::string& where, Example& out) {
  const std::vector<TokenSpan> spans = encode_example(tokenizer_, line, options_, where, out);
  rules_.apply(out.text, spans, 0, out);
}

std::string TextDataset::describe() const {
  return "text" + describe_encoding(options_);
}

}  // namespace resid
