// How an example's text becomes tokens: encoding with byte spans, the model-context length limit, and the
// options that change the result (for Dataset::describe).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "datasets/dataset.h"
#include "datasets/example.h"

namespace resid {

// Clears `out` and gives it one (NaN, empty) label slot per column.
void reset_example(Example& out, size_t n_columns);

// How many of `n_tokens` to keep: all when they fit options.max_tokens (0 = no limit), max_tokens when
// options.truncate, else InputError "<where>: example has N tokens, longer than the model's context ...".
size_t fit_length(size_t n_tokens, const DatasetOptions& options, const std::string& where);

// Tokenises `text` (BOS per options.add_bos) into out.tokens and moves it into out.text; when truncated, the
// text is cut where the last kept token ends. Returns the kept tokens' byte spans in out.text.
std::vector<TokenSpan> encode_example(const Tokenizer& tokenizer, std::string text,
                                      const DatasetOptions& options, const std::string& where, Example& out);

// " rules=a,b no_bos truncate=512": the options every text kind shares, as describe() appends them.
std::string describe_encoding(const DatasetOptions& options);

}  // namespace resid
