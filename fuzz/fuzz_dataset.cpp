#include "fuzz/fuzz_dataset.h"

#include <cmath>

#include "fuzz/fuzz_support.h"

namespace resid::fuzz {
namespace {

// The invariants capture relies on: one class id per token in token columns, ids inside the column's class
// list (rule columns list none/no/yes), tokens inside the vocabulary, lengths inside max_tokens.
void check_example(const Example& e, const Dataset& d, const DatasetOptions& options, int vocab) {
  const auto& columns = d.labels();
  if (e.sequence_values.size() != columns.size() || e.token_classes.size() != columns.size()) std::abort();
  if (options.max_tokens > 0 && e.tokens.size() > static_cast<size_t>(options.max_tokens)) std::abort();
  for (int32_t id : e.tokens)
    if (id < 0 || (vocab > 0 && id >= vocab)) std::abort();
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].kind == LabelColumn::Kind::TokenClass) {
      if (e.token_classes[c].size() != e.tokens.size()) std::abort();
      for (int32_t id : e.token_classes[c])
        if (id < 0 || id >= static_cast<int32_t>(columns[c].classes.size())) std::abort();
    } else if (columns[c].kind == LabelColumn::Kind::SequenceClass) {
      const double v = e.sequence_values[c];
      if (!(v >= 0 && v < static_cast<double>(columns[c].classes.size()))) std::abort();
    }
  }
}

bool same(const Example& a, const Example& b) {
  if (a.tokens != b.tokens || a.text != b.text || a.token_classes != b.token_classes) return false;
  for (size_t i = 0; i < a.sequence_values.size(); ++i) {
    const double x = a.sequence_values[i], y = b.sequence_values[i];
    if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
  }
  return a.sequence_values.size() == b.sequence_values.size();
}

void read_twice(const DatasetOptions& options, const Tokenizer* tok) {
  expect_resid_errors_only([&] {
    auto d = open_dataset(options, tok);
    std::vector<Example> first;
    Example e;
    while (first.size() < 256 && d->next(e)) {
      check_example(e, *d, options, tok ? tok->vocab_size() : 0);
      first.push_back(e);
    }
    d->rewind();
    for (const Example& f : first) {
      if (!d->next(e) || !same(e, f)) {
        std::fprintf(stderr, "fuzz: rewind gave a different example\n");
        std::abort();
      }
    }
  });
}

}  // namespace

void fuzz_dataset(const uint8_t* data, size_t size, DatasetOptions options, const std::string& file_name,
                  bool with_tokenizer) {
  options.path = write_input(data, size, file_name);
  options.max_line_bytes = 4096;
  const Tokenizer* tok = with_tokenizer ? &tokenizer() : nullptr;
  options.max_tokens = 12;
  options.truncate = true;
  read_twice(options, tok);
  options.truncate = false;
  options.max_tokens = 0;
  options.add_bos = !options.add_bos;
  read_twice(options, tok);
}

}  // namespace resid::fuzz
