#include "datasets/encoding.h"

#include <algorithm>
#include <limits>
#include <string_view>

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
                   " tokens, longer than max_tokens = " + std::to_string(limit) +
                   " (set truncate to cut it)");
}

namespace {

// Tokens encoded past the last one kept, so the kept ones cannot depend on where the prefix was cut: merges
// are local (a piece spans a few symbols), and llama.cpp's SPM merging only looks at neighbours.
constexpr size_t kPrefixMarginTokens = 64;

// Where to cut `text` near `at`: before the next space (pieces start with their word's space, "▁the"), else
// at a UTF-8 character boundary.
size_t prefix_cut(std::string_view text, size_t at) {
  const size_t space = text.find(' ', at);
  if (space != std::string_view::npos && space - at < 1024) return space;
  while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
  return at;
}

// A long text under a token limit is encoded in growing prefixes, so a 10 MB line costs a prefix's worth of
// memory instead of the ~100 bytes per input byte of encoding it whole (symbols, merge queue, spans). Returns
// the spans of a prefix holding more than max_tokens + margin tokens, or of the whole text.
std::vector<TokenSpan> encode_bounded(const Tokenizer& tokenizer, std::string_view text,
                                      const DatasetOptions& options, bool& whole) {
  whole = true;
  if (options.max_tokens <= 0) return tokenizer.encode_with_offsets(text, options.add_bos);
  const size_t wanted = static_cast<size_t>(options.max_tokens) + kPrefixMarginTokens;
  for (size_t bytes = std::max<size_t>(4096, 16 * wanted); bytes < text.size(); bytes *= 2) {
    const size_t cut = prefix_cut(text, bytes);
    if (cut >= text.size()) break;
    std::vector<TokenSpan> spans = tokenizer.encode_with_offsets(text.substr(0, cut), options.add_bos);
    if (spans.size() >= wanted) {
      whole = false;
      return spans;
    }
  }
  return tokenizer.encode_with_offsets(text, options.add_bos);
}

}  // namespace

std::vector<TokenSpan> encode_example(const Tokenizer& tokenizer, std::string text,
                                      const DatasetOptions& options, const std::string& where, Example& out) {
  bool whole = true;
  std::vector<TokenSpan> spans = encode_bounded(tokenizer, text, options, whole);
  if (!whole && !options.truncate) {
    throw InputError(where + ": example has more than " + std::to_string(spans.size()) +
                     " tokens, longer than max_tokens = " + std::to_string(options.max_tokens) +
                     " (set truncate to cut it)");
  }
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
