// Per-token labels computed by simple rules over an example's text, from each token's byte span in it.
// Every rule column has the classes {"none", "no", "yes"}: "none" (id 0, like every token column) for tokens
// covering no text (BOS, a lone dummy-prefix "▁"), then whether the rule holds. Rules (docs/datasets.md):
//   in_quotes        a byte of the token lies in a quotation, the quote marks included (" toggles; “ opens,
//                    ” closes; an unclosed quotation runs to the end of the text)
//   end_of_sentence  the token's last byte is '.', '!' or '?'
//   starts_word      the token's first non-whitespace byte is at the text start or follows whitespace
//   is_digit         the token's non-whitespace bytes are all ASCII digits (at least one)
//   is_capitalised   the token's first non-whitespace byte is an ASCII capital A-Z
// Whitespace-only tokens are "no" for every rule but in_quotes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "datasets/example.h"

namespace resid {

inline constexpr int32_t kRuleNone = 0;
inline constexpr int32_t kRuleNo = 1;
inline constexpr int32_t kRuleYes = 2;

// The rule names, in the order above.
const std::vector<std::string>& rule_names();

// The classes of one rule for tokens whose byte ranges in `text` are `spans` (one id per span).
// Throws InputError for an unknown rule.
std::vector<int32_t> rule_classes(std::string_view rule, std::string_view text,
                                  const std::vector<TokenSpan>& spans);

// The rules a dataset was asked for, checked once at open.
class RuleLabels {
 public:
  // Throws InputError naming the unknown rule and listing the known ones.
  explicit RuleLabels(std::vector<std::string> rules);

  // One TokenClass column per rule, named like the rule.
  std::vector<LabelColumn> columns() const;
  size_t size() const { return rules_.size(); }
  // Writes every rule's classes into out.token_classes[first_column + i].
  void apply(std::string_view text, const std::vector<TokenSpan>& spans, size_t first_column,
             Example& out) const;

 private:
  std::vector<std::string> rules_;
};

}  // namespace resid
