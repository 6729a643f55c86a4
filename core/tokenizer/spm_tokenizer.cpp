#include "core/tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <queue>
#include <utility>

#include "core/error.h"
#include "core/mapped_file.h"

namespace resid {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's stand-in for ' '

using PieceIndex = std::unordered_map<std::string_view, int>;

// Byte length of the UTF-8 character led by `lead`, read as llama.cpp reads it: from the high nibble alone,
// so a stray continuation byte is a character of its own (the caller clips sequences cut off by the end of
// the text).
size_t utf8_char_len(uint8_t lead) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[lead >> 4];
}

std::string byte_piece_text(int byte) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", byte);
  return buf;
}

// One symbol of the merge: a byte range of the escaped text, linked to its surviving neighbours.
struct Symbol {
  int prev;
  int next;
  size_t begin;
  size_t n;  // 0 once merged into its left neighbour
};

// Two adjacent symbols whose concatenation is a piece: a candidate merge.
struct Bigram {
  int left;
  int right;
  float score;
  size_t size;  // bytes of the concatenation when queued; a mismatch later means the entry is stale
};

// Orders the queue so the highest score comes out first and, among equal scores, the leftmost pair.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

// The merge loop of llama.cpp's llm_tokenizer_spm_session: start from UTF-8 characters and repeatedly merge
// the best-scoring adjacent pair whose concatenation is a piece.
class SymbolMerger {
 public:
  SymbolMerger(std::string_view text, const PieceIndex& ids, const std::vector<float>& scores)
      : text_(text), ids_(ids), scores_(scores) {}

  // Returns the surviving symbols, left to right, as (begin, length) in the text.
  std::vector<std::pair<size_t, size_t>> run() {
    split_characters();
    for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) try_add_bigram(i - 1, i);
    while (!queue_.empty()) {
      const Bigram bigram = queue_.top();
      queue_.pop();
      merge(bigram);
    }
    std::vector<std::pair<size_t, size_t>> out;
    for (int i = symbols_.empty() ? -1 : 0; i != -1; i = symbols_[i].next) {
      out.emplace_back(symbols_[i].begin, symbols_[i].n);
    }
    return out;
  }

 private:
  void split_characters() {
    size_t offset = 0;
    while (offset < text_.size()) {
      const size_t n = std::min(utf8_char_len(static_cast<uint8_t>(text_[offset])), text_.size() - offset);
      const int index = static_cast<int>(symbols_.size());
      const bool last = offset + n == text_.size();
      symbols_.push_back({index - 1, last ? -1 : index + 1, offset, n});
      offset += n;
    }
  }

  void merge(const Bigram& bigram) {
    Symbol& left = symbols_[bigram.left];
    Symbol& right = symbols_[bigram.right];
    // Either side already merged elsewhere: the queued pair no longer exists.
    if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) return;
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0) symbols_[right.next].prev = bigram.left;
    try_add_bigram(left.prev, bigram.left);
    try_add_bigram(bigram.left, left.next);
  }

  void try_add_bigram(int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t size = symbols_[left].n + symbols_[right].n;
    const auto it = ids_.find(text_.substr(symbols_[left].begin, size));
    if (it == ids_.end()) return;
    queue_.push({left, right, scores_[it->second], size});
  }

  std::string_view text_;
  const PieceIndex& ids_;
  const std::vector<float>& scores_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue_;
};

// The escaped form of a text segment (spaces as "▁", maybe a dummy-prefix "▁") with, for every escaped byte,
// the byte range of the original input it stands for, so token spans can be reported in input offsets.
struct EscapedText {
  std::string text;
  std::vector<std::pair<size_t, size_t>> source;

  void append(std::string_view bytes, size_t src_begin, size_t src_end) {
    text.append(bytes);
    source.insert(source.end(), bytes.size(), {src_begin, src_end});
  }
};

EscapedText escape_segment(std::string_view raw, size_t base, bool space_prefix) {
  EscapedText e;
  e.text.reserve(raw.size() + 8);
  e.source.reserve(raw.size() + 8);
  if (space_prefix) e.append(kSpaceMark, base, base);  // the dummy prefix stands for no input byte
  for (size_t k = 0; k < raw.size(); ++k) {
    const size_t at = base + k;
    e.append(raw[k] == ' ' ? kSpaceMark : raw.substr(k, 1), at, at + 1);
  }
  return e;
}

}  // namespace

SpmVocab byte_fallback_vocab() {
  SpmVocab v;
  auto add = [&](std::string piece, PieceType type) {
    v.pieces.push_back(std::move(piece));
    v.scores.push_back(0);
    v.types.push_back(type);
  };
  add("<unk>", PieceType::Unknown);
  add("<s>", PieceType::Control);
  add("</s>", PieceType::Control);
  for (int b = 0; b < 256; ++b) add(byte_piece_text(b), PieceType::Byte);
  return v;
}

SpmTokenizer::SpmTokenizer(SpmVocab vocab, std::string description)
    : vocab_(std::move(vocab)), description_(std::move(description)) {
  check_vocab();
  if (vocab_.scores.empty()) vocab_.scores.assign(vocab_.pieces.size(), 0.0f);
  index_pieces();
  infer_types();
  for (int id = 0; id < vocab_size(); ++id) {
    if (vocab_.types[id] == PieceType::UserDefined && !vocab_.pieces[id].empty()) user_defined_.push_back(id);
  }
  // Longest first, so a user-defined piece that contains another one wins (llama.cpp's order).
  std::stable_sort(user_defined_.begin(), user_defined_.end(),
                   [this](int a, int b) { return vocab_.pieces[a].size() > vocab_.pieces[b].size(); });
}

void SpmTokenizer::check_vocab() const {
  const size_t n = vocab_.pieces.size();
  auto fail = [this](const std::string& problem) { throw InputError(description_ + ": " + problem); };
  if (n == 0) fail("the vocabulary has no pieces");
  if (n > static_cast<size_t>(INT32_MAX)) fail("the vocabulary has too many pieces");
  if (!vocab_.scores.empty() && vocab_.scores.size() != n) {
    fail(std::to_string(n) + " pieces but " + std::to_string(vocab_.scores.size()) + " scores");
  }
  if (!vocab_.types.empty() && vocab_.types.size() != n) {
    fail(std::to_string(n) + " pieces but " + std::to_string(vocab_.types.size()) + " piece types");
  }
  for (auto [name, id] : {std::pair{"BOS", vocab_.bos_id}, {"EOS", vocab_.eos_id}, {"unk", vocab_.unk_id}}) {
    if (id < -1 || id >= static_cast<int>(n)) {
      fail(std::string(name) + " id " + std::to_string(id) + " is outside the " + std::to_string(n) +
           "-piece vocabulary");
    }
  }
}

void SpmTokenizer::index_pieces() {
  piece_ids_.reserve(vocab_.pieces.size());
  for (int id = 0; id < vocab_size(); ++id) {
    // Empty pieces can never be the text of a symbol; duplicates resolve to the last id, as in llama.cpp.
    if (!vocab_.pieces[id].empty()) piece_ids_[vocab_.pieces[id]] = id;
  }
  byte_of_id_.assign(vocab_.pieces.size(), -1);
  for (int b = 0; b < 256; ++b) {
    int id = find_piece(byte_piece_text(b));
    if (id >= 0) {
      byte_of_id_[id] = static_cast<int16_t>(b);
    } else {
      id = find_piece(std::string(1, static_cast<char>(b)));  // llama.cpp's second choice: the byte itself
    }
    byte_ids_[b] = id;
  }
}

void SpmTokenizer::infer_types() {
  if (!vocab_.types.empty()) return;
  vocab_.types.assign(vocab_.pieces.size(), PieceType::Normal);
  for (int id = 0; id < vocab_size(); ++id) {
    if (byte_of_id_[id] >= 0) vocab_.types[id] = PieceType::Byte;
  }
  if (vocab_.unk_id >= 0) vocab_.types[vocab_.unk_id] = PieceType::Unknown;
  if (vocab_.bos_id >= 0) vocab_.types[vocab_.bos_id] = PieceType::Control;
  if (vocab_.eos_id >= 0) vocab_.types[vocab_.eos_id] = PieceType::Control;
}

int SpmTokenizer::find_piece(std::string_view text) const {
  const auto it = piece_ids_.find(text);
  return it == piece_ids_.end() ? -1 : it->second;
}

void SpmTokenizer::check_id(int id) const {
  if (id < 0 || id >= vocab_size()) {
    throw InputError("token id " + std::to_string(id) + " is out of range [0, " +
                     std::to_string(vocab_size()) + ") of " + description_);
  }
}

std::string SpmTokenizer::piece(int id) const {
  check_id(id);
  return vocab_.pieces[id];
}

PieceType SpmTokenizer::type(int id) const {
  check_id(id);
  return vocab_.types[id];
}

std::vector<int> SpmTokenizer::encode(std::string_view text, bool add_bos) const {
  const std::vector<TokenSpan> spans = encode_with_offsets(text, add_bos);
  std::vector<int> ids;
  ids.reserve(spans.size());
  for (const TokenSpan& s : spans) ids.push_back(s.id);
  return ids;
}

std::vector<TokenSpan> SpmTokenizer::encode_with_offsets(std::string_view text, bool add_bos) const {
  std::vector<TokenSpan> out;
  if (add_bos) {
    if (vocab_.bos_id < 0) throw InputError(description_ + ": BOS requested but the vocabulary has none");
    out.push_back({vocab_.bos_id, 0, 0});
  }
  if (text.empty()) return out;  // no dummy prefix for empty text: "" encodes to nothing, as in sentencepiece
  // llama.cpp adds the dummy prefix to every text fragment that follows a special piece (or the start).
  bool after_special = true;
  for (const Segment& seg : split_user_defined(text)) {
    if (seg.id >= 0) {
      out.push_back({seg.id, seg.begin, seg.end});
      after_special = true;
    } else {
      encode_segment(text.substr(seg.begin, seg.end - seg.begin), seg.begin,
                     vocab_.add_space_prefix && after_special, out);
      after_special = false;
    }
  }
  return out;
}

std::vector<SpmTokenizer::Segment> SpmTokenizer::split_user_defined(std::string_view text) const {
  std::vector<Segment> segments{{0, text.size(), -1}};
  for (int id : user_defined_) {
    const std::string& needle = vocab_.pieces[id];
    std::vector<Segment> next;
    for (const Segment& seg : segments) {
      if (seg.id >= 0) {
        next.push_back(seg);
        continue;
      }
      const std::string_view hay = text.substr(0, seg.end);
      size_t pos = seg.begin;
      for (size_t hit; (hit = hay.find(needle, pos)) != std::string_view::npos; pos = hit + needle.size()) {
        if (hit > pos) next.push_back({pos, hit, -1});
        next.push_back({hit, hit + needle.size(), id});
      }
      if (pos < seg.end) next.push_back({pos, seg.end, -1});
    }
    segments.swap(next);
  }
  return segments;
}

void SpmTokenizer::encode_segment(std::string_view raw, size_t base, bool space_prefix,
                                  std::vector<TokenSpan>& out) const {
  const EscapedText escaped = escape_segment(raw, base, space_prefix);
  SymbolMerger merger(escaped.text, piece_ids_, vocab_.scores);
  for (const auto& [begin, n] : merger.run()) {
    const size_t last = begin + n - 1;
    const int id = find_piece(std::string_view(escaped.text).substr(begin, n));
    if (id >= 0) {
      out.push_back({id, escaped.source[begin].first, escaped.source[last].second});
      continue;
    }
    // A character the vocabulary lacks: one byte piece per byte, or unk when some byte has no piece.
    bool all_bytes = true;
    for (size_t k = begin; k <= last; ++k) all_bytes &= byte_ids_[static_cast<uint8_t>(escaped.text[k])] >= 0;
    if (all_bytes) {
      for (size_t k = begin; k <= last; ++k) {
        out.push_back({byte_ids_[static_cast<uint8_t>(escaped.text[k])], escaped.source[k].first,
                       escaped.source[k].second});
      }
    } else if (vocab_.unk_id >= 0) {
      out.push_back({vocab_.unk_id, escaped.source[begin].first, escaped.source[last].second});
    } else {
      throw InputError(description_ + ": cannot encode byte offset " +
                       std::to_string(escaped.source[begin].first) +
                       ": no piece, no byte piece and no unk piece");
    }
  }
}

std::string SpmTokenizer::decode_token(int prev, int id) const {
  check_id(id);
  switch (vocab_.types[id]) {
    case PieceType::Control: return "";
    case PieceType::Byte:
      if (byte_of_id_[id] >= 0) return std::string(1, static_cast<char>(byte_of_id_[id]));
      break;
    default: break;
  }
  return Tokenizer::decode_token(prev, id);
}

// --- llama2.c tokenizer.bin ---

namespace {

// llama2.c's exporter wrote pieces with "▁" turned back into ' ' and BOS/EOS as "\n<s>\n" / "\n</s>\n";
// undo both so pieces look as they do in the SentencePiece model and in GGUF.
std::string normalize_llama2c_piece(std::string piece) {
  if (piece == "\n<s>\n") return "<s>";
  if (piece == "\n</s>\n") return "</s>";
  std::string out;
  out.reserve(piece.size());
  for (char c : piece) {
    if (c == ' ') {
      out.append(kSpaceMark);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A bounds-checked cursor over tokenizer.bin whose errors say which piece the file ends in.
class Llama2cReader {
 public:
  explicit Llama2cReader(const MappedFile& file) : file_(file) {}

  bool at_end() const { return pos_ >= file_.size(); }

  int32_t read_max_token_length() {
    const int32_t max_length = read<int32_t>("max_token_length header");
    if (max_length <= 0) {
      throw FormatError(file_.path(), "max_token_length " + std::to_string(max_length) +
                                          " is not positive (not a llama2.c tokenizer.bin?)");
    }
    return max_length;
  }

  // One record: f32 score, int32 length, `length` bytes.
  void read_piece(int32_t max_length, SpmVocab& vocab) {
    index_ = vocab.pieces.size();
    const float score = read<float>("score");
    const int32_t length = read<int32_t>("length");
    if (length < 0 || length > max_length) {
      throw FormatError(file_.path(), "piece " + std::to_string(index_) + " has length " +
                                          std::to_string(length) + ", outside [0, max_token_length " +
                                          std::to_string(max_length) + "]");
    }
    const uint8_t* bytes = take(static_cast<size_t>(length), "bytes");
    vocab.scores.push_back(score);
    vocab.pieces.push_back(
        normalize_llama2c_piece(std::string(reinterpret_cast<const char*>(bytes), length)));
  }

 private:
  template <typename T>
  T read(const char* what) {
    T value;
    std::memcpy(&value, take(sizeof value, what), sizeof value);
    return value;
  }

  const uint8_t* take(size_t n, const char* what) {
    if (n > file_.size() - pos_) {
      throw FormatError(file_.path(), "truncated: piece " + std::to_string(index_) + " " + what +
                                          " at offset " + std::to_string(pos_) + " needs " +
                                          std::to_string(n) + " bytes but the file ends at " +
                                          std::to_string(file_.size()));
    }
    const uint8_t* p = file_.data() + pos_;
    pos_ += n;
    return p;
  }

  const MappedFile& file_;
  size_t pos_ = 0;
  size_t index_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::string& path, int vocab_size) {
  if (vocab_size < 0) throw InputError(path + ": negative vocab_size " + std::to_string(vocab_size));
  const auto file = MappedFile::open(path);
  Llama2cReader reader(*file);
  const int32_t max_length = reader.read_max_token_length();
  SpmVocab vocab;  // BOS 1, EOS 2, unk 0 and the dummy prefix are llama2.c's fixed conventions
  // Without a vocab_size the pieces run to the end of the file; with one, any bytes after them are ignored.
  while (vocab_size > 0 ? static_cast<int>(vocab.pieces.size()) < vocab_size : !reader.at_end()) {
    reader.read_piece(max_length, vocab);
  }
  if (vocab.pieces.size() < 3) {
    throw FormatError(path, "only " + std::to_string(vocab.pieces.size()) +
                                " pieces; a llama2.c tokenizer has at least <unk>, <s>, </s>");
  }
  const std::string description =
      "llama2.c tokenizer.bin, " + std::to_string(vocab.pieces.size()) + " pieces, " + path;
  return std::make_unique<SpmTokenizer>(std::move(vocab), description);
}

}  // namespace resid
