// The tokenizer interface shared by llama2.c tokenizer.bin, SentencePiece .model and GGUF-embedded
// vocabularies. All three follow SentencePiece conventions: a leading "▁" stands for a space, byte pieces
// <0xNN> cover what the vocabulary lacks, BOS/EOS are ids given by the vocabulary.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace resid {

// One token of an encoding with the byte range of the input text it came from, so labels given per word or
// per character can be aligned to tokens. Pieces that cover no input bytes (BOS, the added dummy-prefix
// space) get begin == end.
struct TokenSpan {
  int id;
  size_t begin;  // byte offset in the input text
  size_t end;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual int vocab_size() const = 0;
  virtual int bos_id() const = 0;
  virtual int eos_id() const = 0;
  // The piece as stored in the vocabulary ("▁Once", "<0x0A>", "<s>").
  virtual std::string piece(int id) const = 0;

  // Encodes like the reference implementation (sentencepiece / llama.cpp's SPM tokenizer): a dummy-prefix
  // space is added, no BOS unless asked.
  virtual std::vector<int> encode(std::string_view text, bool add_bos) const = 0;
  // Same, with each token's byte range in `text`.
  virtual std::vector<TokenSpan> encode_with_offsets(std::string_view text, bool add_bos) const = 0;

  // Text of `id` as it appears after `prev` (llama2.c's decode: the leading space of the first piece after
  // BOS is dropped, <0xNN> pieces become raw bytes, control tokens become "").
  virtual std::string decode_token(int prev, int id) const;
  // Decodes a whole sequence with the rules above.
  std::string decode(const std::vector<int>& ids) const;

  // A short description for `resid info` ("llama2.c tokenizer.bin, 512 pieces, /path").
  virtual std::string describe() const = 0;
};

// Finds and loads a tokenizer file: .bin (llama2.c), .model (SentencePiece); the kind is read from the
// content. Throws FormatError naming the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace resid
