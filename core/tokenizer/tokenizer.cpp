#include "core/tokenizer/tokenizer.h"

#include <cmath>
#include <cstring>
#include <optional>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/tokenizer/sentencepiece_tokenizer.h"
#include "core/tokenizer/spm_tokenizer.h"

namespace resid {
namespace {

// The byte of a "<0xNN>" piece (either hex case, as llama2.c's sscanf accepts), if it is one.
std::optional<uint8_t> parse_byte_piece(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(piece[3]);
  const int lo = hex(piece[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<uint8_t>(hi * 16 + lo);
}

std::string unescape_spaces(const std::string& piece) {
  static constexpr std::string_view kSpaceMark = "\xE2\x96\x81";
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
      out.push_back(' ');
      i += kSpaceMark.size();
    } else {
      out.push_back(piece[i++]);
    }
  }
  return out;
}

template <typename T>
T read_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// llama2.c tokenizer.bin: int32 max_token_length (small and positive), then records of f32 score, int32
// length (at most max_token_length), bytes. The first few records must make sense; a truncated record does
// not disqualify the file, so the loader can report the truncation. A protobuf .model fails at once (its
// first four bytes read as an int32 far above any max_token_length), and so does a llama2.c checkpoint (its
// weights read as lengths).
bool looks_like_llama2c(const MappedFile& file) {
  constexpr int kRecordsChecked = 8;
  if (file.size() < 12) return false;
  const int32_t max_token_length = read_le<int32_t>(file.data());
  if (max_token_length <= 0 || max_token_length > 65536) return false;
  size_t pos = 4;
  for (int i = 0; i < kRecordsChecked && file.size() - pos >= 8; ++i) {
    const float score = read_le<float>(file.data() + pos);
    const int32_t length = read_le<int32_t>(file.data() + pos + 4);
    if (!std::isfinite(score) || length < 0 || length > max_token_length) return false;
    pos += 8 + static_cast<size_t>(length);
    if (pos >= file.size()) break;
  }
  return true;
}

// A SentencePiece ModelProto starts with field 1 (repeated SentencePiece pieces), length-delimited: tag 0x0a.
bool looks_like_sentencepiece(const MappedFile& file) {
  return file.size() > 0 && file.data()[0] == 0x0a;
}

}  // namespace

std::string Tokenizer::decode_token(int prev, int id) const {
  if (id < 0 || id >= vocab_size()) {
    throw InputError("token id " + std::to_string(id) + " is out of range [0, " +
                     std::to_string(vocab_size()) + ") of " + describe());
  }
  if (id == bos_id() || id == eos_id()) return "";
  const std::string p = piece(id);
  if (const auto byte = parse_byte_piece(p)) return std::string(1, static_cast<char>(*byte));
  std::string text = unescape_spaces(p);
  // The first piece after BOS carries the dummy-prefix space, which is not part of the text (llama2.c, PR
  // #89).
  if (prev >= 0 && prev == bos_id() && !text.empty() && text[0] == ' ') text.erase(0, 1);
  return text;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string out;
  int prev = -1;
  for (int id : ids) {
    out += decode_token(prev, id);
    prev = id;
  }
  return out;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  const auto file = MappedFile::open(path);  // a missing file is a FormatError naming it
  if (looks_like_llama2c(*file)) return load_llama2c_tokenizer(path);
  if (looks_like_sentencepiece(*file)) return load_sentencepiece_tokenizer(path);
  throw FormatError(path, "not a tokenizer (expected llama2.c tokenizer.bin or SentencePiece .model)");
}

}  // namespace resid
