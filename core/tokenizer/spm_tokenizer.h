// A SentencePiece-style tokenizer over a vocabulary of (piece, score, type): the algorithm of llama.cpp's SPM
// tokenizer (and llama2.c's encode): spaces become "▁", a dummy-prefix "▁" is added, then adjacent symbols
// are merged best-score first; characters the vocabulary lacks fall back to <0xNN> byte pieces. Serves
// llama2.c tokenizer.bin files and GGUF-embedded vocabularies.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/tokenizer.h"

namespace resid {

// SentencePiece piece types (as in GGUF's tokenizer.ggml.token_type).
enum class PieceType : int32_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6
};

struct SpmVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<PieceType> types;  // empty = inferred (<unk>/<s>/</s> control, <0xNN> byte, else normal)
  int bos_id = 1;
  int eos_id = 2;
  int unk_id = 0;
  bool add_space_prefix = true;
};

// The pieces every byte-fallback SentencePiece vocabulary (Llama's) starts with: <unk> (id 0), <s> (1), </s>
// (2) and the 256 byte pieces <0x00>..<0xFF> (ids 3..258), each with score 0 and its type. Callers append
// their normal pieces.
SpmVocab byte_fallback_vocab();

// Encoding follows llama.cpp's llm_tokenizer_spm bit for bit, including its quirks: any piece of the
// vocabulary (control and byte pieces too) can be formed by merging, user-defined pieces are cut out of the
// text before merging, and the dummy-prefix space is added at the start and again after each user-defined
// piece. Where llama.cpp would abort (a byte with neither a <0xNN> nor a one-byte piece) the symbol becomes
// unk.
class SpmTokenizer : public Tokenizer {
 public:
  // Throws InputError (prefixed with `description`) if the vocabulary is inconsistent: no pieces,
  // scores/types of another length, BOS/EOS/unk ids out of range (-1 = none is allowed).
  SpmTokenizer(SpmVocab vocab, std::string description);
  // The piece index holds views into vocab_, so the object stays where it was built.
  SpmTokenizer(const SpmTokenizer&) = delete;
  SpmTokenizer& operator=(const SpmTokenizer&) = delete;

  int vocab_size() const override { return static_cast<int>(vocab_.pieces.size()); }
  int bos_id() const override { return vocab_.bos_id; }
  int eos_id() const override { return vocab_.eos_id; }
  std::string piece(int id) const override;
  std::vector<int> encode(std::string_view text, bool add_bos) const override;
  std::vector<TokenSpan> encode_with_offsets(std::string_view text, bool add_bos) const override;
  std::string decode_token(int prev, int id) const override;
  std::string describe() const override { return description_; }

  // The vocabulary with types filled in (inferred ones included).
  const SpmVocab& vocab() const { return vocab_; }
  PieceType type(int id) const;

 private:
  // A run of the input that is either plain text (id < 0) or one user-defined piece.
  struct Segment {
    size_t begin;
    size_t end;
    int id;
  };

  void check_vocab() const;
  void infer_types();
  void index_pieces();
  int find_piece(std::string_view text) const;  // -1 if absent; the last id wins for duplicate pieces
  void check_id(int id) const;
  std::vector<Segment> split_user_defined(std::string_view text) const;
  // Tokenizes one plain-text segment starting at `base` in the input, appending to `out`.
  void encode_segment(std::string_view raw, size_t base, bool space_prefix,
                      std::vector<TokenSpan>& out) const;

  SpmVocab vocab_;
  std::string description_;
  std::unordered_map<std::string_view, int> piece_ids_;  // views into vocab_.pieces
  std::array<int, 256> byte_ids_;                        // -1 where the vocabulary has no piece for the byte
  std::vector<int16_t> byte_of_id_;                      // inverse of byte_ids_ for <0xNN> pieces, else -1
  std::vector<int> user_defined_;                        // user-defined piece ids, longest first
};

// Reads llama2.c's tokenizer.bin (int32 max_token_length, then per piece: f32 score, int32 length, bytes).
// vocab_size is not in the file; pass the model's when known (0 = read until the end of the file).
std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::string& path, int vocab_size = 0);

}  // namespace resid
