#include "datasets/rule_labels.h"

#include <algorithm>
#include <cstddef>

#include "core/error.h"
#include "datasets/line_reader.h"

namespace resid {
namespace {

constexpr std::string_view kOpenQuote = "\xE2\x80\x9C";   // “
constexpr std::string_view kCloseQuote = "\xE2\x80\x9D";  // ”

bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}

// The token's bytes, clipped to the text so a bad span cannot read past it.
std::string_view span_text(std::string_view text, const TokenSpan& s) {
  const size_t begin = std::min(s.begin, text.size());
  const size_t end = std::clamp(s.end, begin, text.size());
  return text.substr(begin, end - begin);
}

// Offset of the first non-whitespace byte of the token in `text`, or npos when it has none.
size_t first_content(std::string_view text, const TokenSpan& s) {
  const std::string_view t = span_text(text, s);
  const auto it = std::find_if_not(t.begin(), t.end(), is_space);
  return it == t.end() ? std::string_view::npos : s.begin + (it - t.begin());
}

// For each byte of `text`, whether it lies in a quotation (marks included).
std::vector<bool> quoted_bytes(std::string_view text) {
  std::vector<bool> quoted(text.size(), false);
  bool inside = false;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '"') {
      quoted[i] = true;
      inside = !inside;
      ++i;
    } else if (text.substr(i, kOpenQuote.size()) == kOpenQuote ||
               text.substr(i, kCloseQuote.size()) == kCloseQuote) {
      std::fill_n(quoted.begin() + i, kOpenQuote.size(), true);
      inside = text.substr(i, kOpenQuote.size()) == kOpenQuote;
      i += kOpenQuote.size();
    } else {
      quoted[i++] = inside;
    }
  }
  return quoted;
}

int32_t yes_no(bool b) {
  return b ? kRuleYes : kRuleNo;
}

std::string known_rules_list() {
  std::string out;
  for (const std::string& r : rule_names()) out += (out.empty() ? "" : ", ") + r;
  return out;
}

void check_rule(std::string_view rule) {
  const auto& names = rule_names();
  if (std::find(names.begin(), names.end(), rule) == names.end()) {
    throw InputError("unknown label rule \"" + std::string(rule) + "\" (rules: " + known_rules_list() + ")");
  }
}

}  // namespace

const std::vector<std::string>& rule_names() {
  static const std::vector<std::string> names = {"in_quotes", "end_of_sentence", "starts_word", "is_digit",
                                                 "is_capitalised"};
  return names;
}

std::vector<int32_t> rule_classes(std::string_view rule, std::string_view text,
                                  const std::vector<TokenSpan>& spans) {
  check_rule(rule);
  std::vector<int32_t> out(spans.size(), kRuleNone);
  const std::vector<bool> quoted = rule == "in_quotes" ? quoted_bytes(text) : std::vector<bool>();
  for (size_t i = 0; i < spans.size(); ++i) {
    const std::string_view t = span_text(text, spans[i]);
    if (t.empty()) continue;  // BOS or a dummy prefix: nothing to judge
    const size_t first = first_content(text, spans[i]);
    const bool has_content = first != std::string_view::npos;
    if (rule == "in_quotes") {
      const size_t begin = t.data() - text.data();
      const auto from = quoted.begin() + static_cast<std::ptrdiff_t>(begin);
      const auto to = from + static_cast<std::ptrdiff_t>(t.size());
      out[i] = yes_no(std::find(from, to, true) != to);
    } else if (rule == "end_of_sentence") {
      out[i] = yes_no(t.back() == '.' || t.back() == '!' || t.back() == '?');
    } else if (rule == "starts_word") {
      out[i] = yes_no(has_content && (first == 0 || is_space(text[first - 1])));
    } else if (rule == "is_digit") {
      out[i] = yes_no(has_content && std::all_of(t.begin(), t.end(),
                                                 [](char c) { return is_ascii_digit(c) || is_space(c); }));
    } else {  // is_capitalised
      out[i] = yes_no(has_content && text[first] >= 'A' && text[first] <= 'Z');
    }
  }
  return out;
}

RuleLabels::RuleLabels(std::vector<std::string> rules) : rules_(std::move(rules)) {
  for (const std::string& r : rules_) check_rule(r);
}

std::vector<LabelColumn> RuleLabels::columns() const {
  std::vector<LabelColumn> out;
  for (const std::string& r : rules_)
    out.push_back({r, LabelColumn::Kind::TokenClass, {"none", "no", "yes"}});
  return out;
}

void RuleLabels::apply(std::string_view text, const std::vector<TokenSpan>& spans, size_t first_column,
                       Example& out) const {
  for (size_t i = 0; i < rules_.size(); ++i)
    out.token_classes[first_column + i] = rule_classes(rules_[i], text, spans);
}

}  // namespace resid
