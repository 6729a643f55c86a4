// A SentencePiece-style tokenizer over a vocabulary of (piece, score, type): the algorithm of llama.cpp's SPM
// tokenizer (and llama2.c's encode): spaces become "▁", a dummy-prefix "▁" is added, then adjacent symbols are
// merged best-score first; characters the vocabulary lacks fall back to <0xNN> byte pieces.
// Serves llama2.c tokenizer.bin files and GGUF-embedded vocabularies.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/tokenizer.h"

namespace resid {

// SentencePiece piece types (as in GGUF's tokenizer.ggml.token_type).
enum class PieceType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct SpmVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<PieceType> types;  // empty = inferred (<unk>/<s>/</s> control, <0xNN> byte, else normal)
  int bos_id = 1;
  int eos_id = 2;
  int unk_id = 0;
  bool add_space_prefix = true;
};

class SpmTokenizer : public Tokenizer {
 public:
  SpmTokenizer(SpmVocab vocab, std::string description);
  // ... implements Tokenizer
};

// Reads llama2.c's tokenizer.bin (int32 max_token_length, then per piece: f32 score, int32 length, bytes).
// vocab_size is not in the file; pass the model's when known (0 = read until the end of the file).
std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::string& path, int vocab_size = 0);

}  // namespace resid
