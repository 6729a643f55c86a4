#include "datasets/window_dataset.h"

#include "core/error.h"
#include "datasets/encoding.h"
#include "datasets/line_reader.h"

namespace resid {
namespace {

int choose_window(const DatasetOptions& options) {
  const int window = options.window > 0 ? options.window : options.max_tokens;
  if (window <= 0) {
    throw InputError(options.path + ": windows need a length: window or max_tokens (both are 0)");
  }
  if (options.max_tokens > 0 && window > options.max_tokens) {
    throw InputError(options.path + ": window " + std::to_string(window) +
                     " is longer than max_tokens = " + std::to_string(options.max_tokens));
  }
  if (options.add_bos && window < 2) {
    throw InputError(options.path + ": window " + std::to_string(window) +
                     " leaves no room for text after BOS");
  }
  return window;
}

}  // namespace

WindowDataset::WindowDataset(const DatasetOptions& options, const Tokenizer& tokenizer)
    : options_(options),
      tokenizer_(tokenizer),
      rules_(options.rules),
      columns_(rules_.columns()),
      window_(choose_window(options)),
      chunker_(options.path) {
  if (options_.add_bos && tokenizer_.bos_id() < 0) {
    throw InputError(options_.path + ": windows start with BOS but " + tokenizer_.describe() + " has none");
  }
}

bool WindowDataset::read_chunk() {
  do {
    if (!chunker_.next(chunk_)) return false;
  } while (
      is_blank(chunk_));  // only a file of blank lines has a blank chunk; it holds no text worth a window
  const std::vector<TokenSpan> spans = tokenizer_.encode_with_offsets(chunk_, false);
  Example classes;  // the rule labels of the chunk, gathered through the same path as other kinds
  reset_example(classes, rules_.size());
  rules_.apply(chunk_, spans, 0, classes);
  for (size_t t = 0; t < spans.size(); ++t) {
    QueuedToken token{spans[t].id, chunk_.substr(spans[t].begin, spans[t].end - spans[t].begin), {}};
    for (size_t r = 0; r < rules_.size(); ++r) token.classes.push_back(classes.token_classes[r][t]);
    queue_.push_back(std::move(token));
  }
  return true;
}

bool WindowDataset::next(Example& out) {
  const size_t body = static_cast<size_t>(window_) - (options_.add_bos ? 1 : 0);
  while (queue_.size() < body && read_chunk()) {
  }
  if (queue_.empty()) return false;
  reset_example(out, columns_.size());
  out.source_line = ++index_;
  if (options_.add_bos) {
    out.tokens.push_back(tokenizer_.bos_id());
    for (auto& classes : out.token_classes) classes.push_back(kRuleNone);
  }
  for (size_t t = 0; t < body && !queue_.empty(); ++t) {
    QueuedToken& token = queue_.front();
    out.tokens.push_back(token.id);
    out.text += token.text;
    for (size_t r = 0; r < rules_.size(); ++r) out.token_classes[r].push_back(token.classes[r]);
    queue_.pop_front();
  }
  return true;
}

void WindowDataset::rewind() {
  chunker_.rewind();
  queue_.clear();
  index_ = 0;
}

std::string WindowDataset::describe() const {
  DatasetOptions shown = options_;
  shown.truncate = false;  // windows never exceed the context, so truncation changes nothing
  return "windows window=" + std::to_string(window_) + describe_encoding(shown);
}

}  // namespace resid
