// SentencePiece .model files through libsentencepiece itself, so encoding is the reference implementation's.
#pragma once
#include <memory>
#include <string>

#include "core/tokenizer/tokenizer.h"

namespace resid {

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& path);

}  // namespace resid
