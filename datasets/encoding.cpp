#include "datasets/encoding.h"

#include <limits>

#include "core/error.h"

namespace resid {

void reset_example(Example& out, size_t n_columns) {
  out.tokens.clear();
  out.text.clear();
  out.source_line = 0;
  out.sequence_values.assign(n_columns, std::numeric_limits<double>::quiet_NaN());
  out.token_classes.resize(n_columns);
  for (auto& classes : out.token_classes) classes.clear();
}

size_t fit_length(size_t n_tokens, const DatasetOptions& options, const std::string& where) {
  const size_t limit = static_cast<size_t>(options.max_tokens);
  if (options.max_tokens <= 0 || n_tokens <= limit) return n_tokens;
  if (options.truncate) return limit;
  throw InputError(where + ": example has " + std::to_string(n_tokens) +
                   " tokens, longer than the model's context n_ctx = " + std::to_string(limit) +
                   " (use --truncate to cut it)");
}

std::vector<TokenSpan> encode_example(const Tokenizer& tokenizer, std::string text,
                                      const DatasetOptions& options, const std::string& where, Example& out) {
  std::vector<TokenSpan> spans = tokenizer.encode_with_offsets(text, options.add_bos);
  const size_t keep = fit_length(spans.size(), options, where);
  if (keep < spans.size()) {
    spans.resize(keep);
    text.resize(spans.empty() ? 0 : spans.back().end);
  }
  out.tokens.reserve(spans.size());
  for (const TokenSpan& s : spans) out.tokens.push_back(static_cast<int32_t>(s.id));
  out.text = std::move(text);
  return spans;
}

std::string describe_encoding(const DatasetOptions& options) {
  std::string out;
  if (!options.rules.empty()) {
    out += " rules=";
    for (size_t i = 0; i < options.rules.size(); ++i) out += (i ? "," : "") + options.rules[i];
  }
  if (!options.add_bos) out += " no_bos";
  if (options.truncate && options.max_tokens > 0) out += " truncate=" + std::to_string(options.max_tokens);
  return out;
}

}  // namespace resid
