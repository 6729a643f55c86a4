// Tokenizers: hand-traced merges on tiny in-memory vocabularies, then the real Llama 2 / stories260K /
// BabyLlama tokenizers against llama.cpp's oracle vectors and llama2.c's reference tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/tokenizer/sentencepiece_tokenizer.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "test_support.h"

namespace resid {
namespace {

using ::resid::testing::TempDir;

std::string byte_piece(int b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

// <unk> <s> </s>, optionally the 256 byte pieces, then a handful of pieces whose scores make the merge order
// easy to trace by hand: "▁a" beats "bc" beats "ab" beats "aa" beats "▁b".
SpmVocab tiny_vocab(bool with_bytes, float bc_score = -2.0f) {
  SpmVocab v;
  auto add = [&v](const std::string& piece, float score) {
    v.pieces.push_back(piece);
    v.scores.push_back(score);
  };
  add("<unk>", 0);
  add("<s>", 0);
  add("</s>", 0);
  if (with_bytes) {
    for (int b = 0; b < 256; ++b) add(byte_piece(b), 0);
  }
  add("▁", -10);
  add("a", -20);
  add("b", -21);
  add("c", -22);
  add("é", -23);
  add("▁a", -1);
  add("bc", bc_score);
  add("ab", -3);
  add("aa", -4);
  add("▁b", -5);
  return v;
}

std::vector<std::string> pieces_of(const Tokenizer& tok, const std::vector<int>& ids) {
  std::vector<std::string> out;
  for (int id : ids) out.push_back(tok.piece(id));
  return out;
}

std::vector<std::string> encode_pieces(const Tokenizer& tok, std::string_view text, bool add_bos = false) {
  return pieces_of(tok, tok.encode(text, add_bos));
}

// The source is UTF-8: "▁" is U+2581 (E2 96 81), "é" C3 A9, "ü" C3 BC, "🦙" F0 9F A6 99.
const std::string kA = "▁a";
const std::string kB = "▁b";
const std::string kMark = "▁";

struct Span {
  std::string piece;
  size_t begin;
  size_t end;
  bool operator==(const Span&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Span& s) {
  return os << "{" << s.piece << ", " << s.begin << ", " << s.end << "}";
}

std::vector<Span> spans_of(const Tokenizer& tok, std::string_view text, bool add_bos = false) {
  std::vector<Span> out;
  for (const TokenSpan& s : tok.encode_with_offsets(text, add_bos)) {
    out.push_back({tok.piece(s.id), s.begin, s.end});
  }
  return out;
}

// --- merge order, traced by hand ---

// The shared start of byte-fallback vocabularies: ids 0..2 are <unk> <s> </s>, 3..258 the bytes in order, so
// a tokenizer built on it alone spells any text byte by byte and reads it back.
TEST(SpmTokenizer, ByteFallbackVocabularyIsUnkBosEosThenTheBytes) {
  SpmVocab v = byte_fallback_vocab();
  ASSERT_EQ(v.pieces.size(), 259u);
  ASSERT_EQ(v.scores.size(), 259u);
  ASSERT_EQ(v.types.size(), 259u);
  EXPECT_EQ(v.pieces[0], "<unk>");
  EXPECT_EQ(v.types[0], PieceType::Unknown);
  EXPECT_EQ(v.pieces[1], "<s>");
  EXPECT_EQ(v.pieces[2], "</s>");
  EXPECT_EQ(v.types[2], PieceType::Control);
  EXPECT_EQ(v.pieces[3], "<0x00>");
  EXPECT_EQ(v.pieces[3 + 0x41], "<0x41>");
  EXPECT_EQ(v.pieces[258], "<0xFF>");
  EXPECT_EQ(v.types[258], PieceType::Byte);
  const SpmTokenizer t(std::move(v), "bytes only");
  EXPECT_EQ(t.encode("A", false), (std::vector<int>{3 + 0xE2, 3 + 0x96, 3 + 0x81, 3 + 0x41}));  // "▁A"
  // Byte pieces decode to their bytes as they are, so the space marker's three bytes stay "▁" (as in
  // llama.cpp).
  EXPECT_EQ(t.decode(t.encode("Hi there", true)), "\u2581Hi\u2581there");
}

TEST(SpmTokenizer, MergesHighestScoreFirst) {
  SpmVocab v = tiny_vocab(false);
  v.add_space_prefix = false;
  SpmTokenizer bc_first(v, "tiny");
  // a b c: "bc" (-2) beats "ab" (-3); "abc" is not a piece, so the merge stops at a|bc.
  EXPECT_EQ(encode_pieces(bc_first, "abc"), (std::vector<std::string>{"a", "bc"}));

  SpmVocab v2 = tiny_vocab(false, /*bc_score=*/-6.0f);
  v2.add_space_prefix = false;
  SpmTokenizer ab_first_no_prefix(v2, "tiny");
  EXPECT_EQ(encode_pieces(ab_first_no_prefix, "abc"), (std::vector<std::string>{"ab", "c"}));
}

TEST(SpmTokenizer, DummyPrefixTakesPartInMerges) {
  SpmTokenizer tok(tiny_vocab(false), "tiny");
  // ▁ a b c: "▁a" (-1) first, then "bc" (-2); "▁ab" is not a piece.
  EXPECT_EQ(encode_pieces(tok, "abc"), (std::vector<std::string>{kA, "bc"}));
  // Spaces become ▁ and merge like any character: ▁a ▁b.
  EXPECT_EQ(encode_pieces(tok, "a b"), (std::vector<std::string>{kA, kB}));
  // A leading space gives ▁▁a; "▁▁" is not a piece so the dummy prefix stays alone.
  EXPECT_EQ(encode_pieces(tok, " a"), (std::vector<std::string>{kMark, kA}));
}

TEST(SpmTokenizer, EqualScoresMergeLeftmostFirst) {
  SpmVocab v = tiny_vocab(false);
  v.add_space_prefix = false;
  SpmTokenizer tok(v, "tiny");
  EXPECT_EQ(encode_pieces(tok, "aaa"), (std::vector<std::string>{"aa", "a"}));
  EXPECT_EQ(encode_pieces(tok, "aaaaa"), (std::vector<std::string>{"aa", "aa", "a"}));
}

TEST(SpmTokenizer, MissingCharactersFallBackToBytes) {
  SpmTokenizer tok(tiny_vocab(true), "tiny");
  EXPECT_EQ(encode_pieces(tok, "ax"), (std::vector<std::string>{kA, "<0x78>"}));
  // é is a piece; ü (C3 BC) is not and becomes two byte pieces; a 4-byte emoji becomes four.
  EXPECT_EQ(encode_pieces(tok, "aéü"), (std::vector<std::string>{kA, "é", "<0xC3>", "<0xBC>"}));
  EXPECT_EQ(encode_pieces(tok, "🦙"),
            (std::vector<std::string>{kMark, "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"}));
}

TEST(SpmTokenizer, WithoutBytePiecesAMissingCharacterIsOneUnk) {
  SpmTokenizer tok(tiny_vocab(false), "tiny");
  EXPECT_EQ(encode_pieces(tok, "aüb"), (std::vector<std::string>{kA, "<unk>", "b"}));
}

TEST(SpmTokenizer, InvalidUtf8IsSplitLikeLlamaCpp) {
  SpmVocab v = tiny_vocab(true);
  v.add_space_prefix = false;
  SpmTokenizer tok(v, "tiny");
  // A stray continuation byte is a character of its own; a lead byte cut off by the end takes what is left.
  const std::string text = std::string("a") + '\xA9' + "a" + '\xE2' + '\x96';
  EXPECT_EQ(encode_pieces(tok, text), (std::vector<std::string>{"a", "<0xA9>", "a", "<0xE2>", "<0x96>"}));
}

TEST(SpmTokenizer, EmptyTextAndBos) {
  SpmTokenizer tok(tiny_vocab(false), "tiny");
  EXPECT_TRUE(tok.encode("", false).empty());
  EXPECT_EQ(tok.encode("", true), std::vector<int>{1});
  EXPECT_EQ(encode_pieces(tok, "a", true), (std::vector<std::string>{"<s>", kA}));
}

TEST(SpmTokenizer, NoSpacePrefixWhenTheVocabularySaysSo) {
  SpmVocab v = tiny_vocab(false);
  v.add_space_prefix = false;
  SpmTokenizer tok(v, "tiny");
  EXPECT_EQ(encode_pieces(tok, "a b"), (std::vector<std::string>{"a", kB}));
}

TEST(SpmTokenizer, InfersPieceTypes) {
  SpmTokenizer tok(tiny_vocab(true), "tiny");
  EXPECT_EQ(tok.type(0), PieceType::Unknown);
  EXPECT_EQ(tok.type(1), PieceType::Control);
  EXPECT_EQ(tok.type(2), PieceType::Control);
  EXPECT_EQ(tok.type(3), PieceType::Byte);
  EXPECT_EQ(tok.type(3 + 255), PieceType::Byte);
  EXPECT_EQ(tok.type(3 + 256), PieceType::Normal);
}

TEST(SpmTokenizer, UserDefinedPiecesAreCutOutBeforeMerging) {
  SpmVocab v = tiny_vocab(false);
  v.pieces.push_back("<sep>");
  v.scores.push_back(0);
  v.types.assign(v.pieces.size(), PieceType::Normal);
  v.types[0] = PieceType::Unknown;
  v.types[1] = v.types[2] = PieceType::Control;
  v.types.back() = PieceType::UserDefined;
  SpmTokenizer tok(v, "tiny");
  // As in llama.cpp, the text after a user-defined piece gets the dummy prefix again.
  EXPECT_EQ(spans_of(tok, "a<sep>b"), (std::vector<Span>{{kA, 0, 1}, {"<sep>", 1, 6}, {kB, 6, 7}}));
}

TEST(SpmTokenizer, RejectsInconsistentVocabularies) {
  SpmVocab v = tiny_vocab(false);
  v.scores.pop_back();
  EXPECT_THROW(SpmTokenizer(v, "tiny"), InputError);
  SpmVocab w = tiny_vocab(false);
  w.bos_id = static_cast<int>(w.pieces.size());
  EXPECT_THROW(SpmTokenizer(w, "tiny"), InputError);
  EXPECT_THROW(SpmTokenizer(SpmVocab{}, "tiny"), InputError);
}

// --- offsets ---

TEST(SpmTokenizer, OffsetsPointIntoTheInput) {
  SpmTokenizer tok(tiny_vocab(true), "tiny");
  // "▁a" covers only "a": its ▁ is the dummy prefix. "▁b" was made from the input space, so it covers it.
  EXPECT_EQ(spans_of(tok, "a b", true), (std::vector<Span>{{"<s>", 0, 0}, {kA, 0, 1}, {kB, 1, 3}}));
  // A dummy prefix left alone covers nothing; byte pieces cover one byte each.
  EXPECT_EQ(spans_of(tok, "üc"),
            (std::vector<Span>{{kMark, 0, 0}, {"<0xC3>", 0, 1}, {"<0xBC>", 1, 2}, {"c", 2, 3}}));
  EXPECT_EQ(spans_of(tok, " a"), (std::vector<Span>{{kMark, 0, 0}, {kA, 0, 2}}));
  EXPECT_EQ(spans_of(tok, "x é"),
            (std::vector<Span>{{kMark, 0, 0}, {"<0x78>", 0, 1}, {kMark, 1, 2}, {"é", 2, 4}}));
}

// --- decoding ---

TEST(Tokenizer, DecodeFollowsLlama2cRules) {
  SpmTokenizer tok(tiny_vocab(true), "tiny");
  const std::vector<int> ids = tok.encode("a bü!", true);
  EXPECT_EQ(tok.decode(ids), "a bü!");
  const int a = tok.encode("a", false)[0];
  EXPECT_EQ(tok.decode_token(tok.bos_id(), a), "a");  // after BOS the leading space goes
  EXPECT_EQ(tok.decode_token(a, a), " a");
  EXPECT_EQ(tok.decode_token(a, tok.bos_id()), "");
  EXPECT_EQ(tok.decode_token(a, tok.eos_id()), "");
  EXPECT_EQ(tok.decode_token(a, 3 + 0x0A), "\n");
  EXPECT_THROW(tok.decode_token(a, tok.vocab_size()), InputError);
  EXPECT_THROW(tok.decode_token(a, -1), InputError);
  EXPECT_THROW(tok.piece(tok.vocab_size()), InputError);
}

// --- llama2.c tokenizer.bin ---

// Writes a tokenizer.bin the way llama2.c's exporter does: ▁ as ' ', BOS/EOS as "\n<s>\n" / "\n</s>\n".
void write_llama2c(const std::string& path, const SpmVocab& v) {
  std::ofstream out(path, std::ios::binary);
  auto put = [&out](const void* p, size_t n) {
    out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
  };
  std::vector<std::string> pieces;
  for (size_t i = 0; i < v.pieces.size(); ++i) {
    std::string p = v.pieces[i];
    if (i == 1) p = "\n<s>\n";
    if (i == 2) p = "\n</s>\n";
    std::string with_spaces;
    for (size_t k = 0; k < p.size(); ++k) {
      if (p.compare(k, kMark.size(), kMark) == 0) {
        with_spaces += ' ';
        k += kMark.size() - 1;
      } else {
        with_spaces += p[k];
      }
    }
    pieces.push_back(with_spaces);
  }
  int32_t max_len = 0;
  for (const auto& p : pieces) max_len = std::max(max_len, static_cast<int32_t>(p.size()));
  put(&max_len, 4);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const int32_t len = static_cast<int32_t>(pieces[i].size());
    put(&v.scores[i], 4);
    put(&len, 4);
    put(pieces[i].data(), pieces[i].size());
  }
}

TEST(Llama2cTokenizer, ReadsPiecesBackInSentencePieceForm) {
  TempDir dir;
  const std::string path = dir.file("tokenizer.bin");
  write_llama2c(path, tiny_vocab(true));
  const auto tok = load_llama2c_tokenizer(path);
  SpmTokenizer ref(tiny_vocab(true), "tiny");
  EXPECT_EQ(tok->vocab_size(), ref.vocab_size());
  EXPECT_EQ(tok->piece(1), "<s>");
  EXPECT_EQ(tok->piece(2), "</s>");
  for (int id = 0; id < ref.vocab_size(); ++id) EXPECT_EQ(tok->piece(id), ref.piece(id)) << id;
  EXPECT_EQ(tok->encode("a bc ü", true), ref.encode("a bc ü", true));
  EXPECT_EQ(tok->decode(tok->encode("a bc ü", true)), "a bc ü");
  EXPECT_NE(tok->describe().find(path), std::string::npos);
  EXPECT_EQ(load_llama2c_tokenizer(path, 10)->vocab_size(), 10);
  EXPECT_NE(load_tokenizer(path)->describe().find("llama2.c"), std::string::npos);
}

void expect_format_error_naming(const std::function<void()>& f, const std::string& path) {
  try {
    f();
    ADD_FAILURE() << "no FormatError for " << path;
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Llama2cTokenizer, TruncatedFileIsAFormatErrorNamingIt) {
  TempDir dir;
  const std::string path = dir.file("tokenizer.bin");
  write_llama2c(path, tiny_vocab(true));
  const auto full = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, full - 3);  // cuts into the last piece's bytes
  expect_format_error_naming([&] { load_llama2c_tokenizer(path); }, path);
  expect_format_error_naming([&] { load_tokenizer(path); }, path);
  std::filesystem::resize_file(path, 4 + 13 + 13 + 14 + 6);  // cuts into the fourth piece's header
  expect_format_error_naming([&] { load_llama2c_tokenizer(path); }, path);
  // Asking for more pieces than the file holds is a truncation too.
  write_llama2c(path, tiny_vocab(true));
  expect_format_error_naming([&] { load_llama2c_tokenizer(path, 100000); }, path);
}

TEST(LoadTokenizer, RejectsRandomBytesAndMissingFiles) {
  TempDir dir;
  const std::string path = dir.file("noise.bin");
  std::mt19937 rng(1234);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  std::ofstream(path, std::ios::binary) << noise;
  expect_format_error_naming([&] { load_tokenizer(path); }, path);
  expect_format_error_naming([&] { load_sentencepiece_tokenizer(path); }, path);
  try {
    load_tokenizer(path);
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("not a tokenizer"), std::string::npos) << e.what();
  }
  const std::string empty = dir.file("empty.model");
  std::ofstream(empty, std::ios::binary).flush();
  expect_format_error_naming([&] { load_tokenizer(empty); }, empty);
  const std::string missing = dir.file("missing.model");
  expect_format_error_naming([&] { load_tokenizer(missing); }, missing);
  expect_format_error_naming([&] { load_llama2c_tokenizer(missing); }, missing);
  expect_format_error_naming([&] { load_sentencepiece_tokenizer(missing); }, missing);
}

// --- real tokenizers ---

struct VocabTest {
  std::string text;
  std::vector<int> ids;
};

// llama.cpp's test-tokenizer-0 format: every test string is followed by "\n__ggml_vocab_test__\n"; the .out
// holds one line of ids per string.
std::vector<VocabTest> read_vocab_tests(const std::string& inp_path, const std::string& out_path) {
  std::ifstream inp(inp_path, std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(inp)), std::istreambuf_iterator<char>());
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(raw.substr(pos));
      break;
    }
    texts.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::ifstream out(out_path);
  std::vector<VocabTest> tests;
  std::string line;
  for (size_t i = 0; std::getline(out, line); ++i) {
    std::istringstream ids(line);
    VocabTest t{i < texts.size() ? texts[i] : std::string(), {}};
    for (int id; ids >> id;) t.ids.push_back(id);
    tests.push_back(std::move(t));
  }
  EXPECT_EQ(tests.size(), texts.size());
  return tests;
}

#define RESID_REQUIRE_LLAMA_VECTORS(var)                                                    \
  RESID_REQUIRE_SHARED(inp_##var, "models/llama2-tokenizer/ggml-vocab-llama-spm.gguf.inp"); \
  RESID_REQUIRE_SHARED(out_##var, "models/llama2-tokenizer/ggml-vocab-llama-spm.gguf.out"); \
  const std::vector<VocabTest> var = read_vocab_tests(inp_##var, out_##var);                \
  ASSERT_GT(var.size(), 30u);

void expect_vectors(const Tokenizer& tok, const std::vector<VocabTest>& tests) {
  for (size_t i = 0; i < tests.size(); ++i) {
    EXPECT_EQ(tok.encode(tests[i].text, false), tests[i].ids)
        << "test " << i << ": \"" << tests[i].text << "\"";
  }
}

// The spans of an encoding must be ordered, inside the text, and together cover every input byte.
void expect_spans_cover(const Tokenizer& tok, const std::string& text) {
  const std::vector<TokenSpan> spans = tok.encode_with_offsets(text, true);
  std::vector<int> ids;
  for (const auto& s : spans) ids.push_back(s.id);
  EXPECT_EQ(ids, tok.encode(text, true)) << text;
  std::vector<bool> covered(text.size(), false);
  size_t last_begin = 0;
  for (const auto& s : spans) {
    ASSERT_LE(s.begin, s.end) << text;
    ASSERT_LE(s.end, text.size()) << text;
    EXPECT_GE(s.begin, last_begin) << text;
    last_begin = s.begin;
    for (size_t k = s.begin; k < s.end; ++k) covered[k] = true;
  }
  for (size_t k = 0; k < text.size(); ++k)
    EXPECT_TRUE(covered[k]) << "byte " << k << " of \"" << text << "\"";
}

TEST(RealTokenizers, LlamaCppVectorsThroughSentencePiece) {
  RESID_REQUIRE_LLAMA_VECTORS(tests);
  RESID_REQUIRE_SHARED(path, "models/llama2-tokenizer/tokenizer.model");
  const auto tok = load_tokenizer(path);
  EXPECT_NE(tok->describe().find("SentencePiece"), std::string::npos);
  EXPECT_EQ(tok->vocab_size(), 32000);
  expect_vectors(*tok, tests);
}

TEST(RealTokenizers, LlamaCppVectorsThroughLlama2cBin) {
  RESID_REQUIRE_LLAMA_VECTORS(tests);
  RESID_REQUIRE_SHARED(path, "models/llama2-tokenizer/tokenizer.bin");
  const auto tok = load_tokenizer(path);
  EXPECT_NE(tok->describe().find("llama2.c"), std::string::npos);
  EXPECT_EQ(tok->vocab_size(), 32000);
  expect_vectors(*tok, tests);
}

TEST(RealTokenizers, BinAndModelAgreeOnPiecesAndDecoding) {
  RESID_REQUIRE_LLAMA_VECTORS(tests);
  RESID_REQUIRE_SHARED(bin_path, "models/llama2-tokenizer/tokenizer.bin");
  RESID_REQUIRE_SHARED(model_path, "models/llama2-tokenizer/tokenizer.model");
  const auto bin = load_llama2c_tokenizer(bin_path);
  const auto model = load_sentencepiece_tokenizer(model_path);
  for (int id = 0; id < bin->vocab_size(); ++id) ASSERT_EQ(bin->piece(id), model->piece(id)) << id;
  for (const auto& t : tests) {
    const std::vector<int> ids = bin->encode(t.text, true);
    EXPECT_EQ(bin->decode(ids), t.text);
    EXPECT_EQ(model->decode(ids), t.text);
  }
}

TEST(RealTokenizers, OffsetsCoverTheInput) {
  RESID_REQUIRE_LLAMA_VECTORS(tests);
  RESID_REQUIRE_SHARED(bin_path, "models/llama2-tokenizer/tokenizer.bin");
  RESID_REQUIRE_SHARED(model_path, "models/llama2-tokenizer/tokenizer.model");
  const auto bin = load_tokenizer(bin_path);
  const auto model = load_tokenizer(model_path);
  for (const auto& t : tests) {
    expect_spans_cover(*bin, t.text);
    expect_spans_cover(*model, t.text);
  }
  // Hand-checked: "▁Hello" covers "Hello", "▁world" covers " world" (its ▁ is the input space).
  const std::vector<TokenSpan> spans = bin->encode_with_offsets("Hello world", false);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].id, 15043);
  EXPECT_EQ(spans[0].begin, 0u);
  EXPECT_EQ(spans[0].end, 5u);
  EXPECT_EQ(spans[1].id, 3186);
  EXPECT_EQ(spans[1].begin, 5u);
  EXPECT_EQ(spans[1].end, 11u);
  const std::vector<TokenSpan> sp_spans = model->encode_with_offsets("Hello world", false);
  ASSERT_EQ(sp_spans.size(), 2u);
  EXPECT_EQ(sp_spans[1].begin, 5u);
  EXPECT_EQ(sp_spans[1].end, 11u);
}

TEST(RealTokenizers, BinAgreesWithSentencePieceOnTinyStories) {
  RESID_REQUIRE_SHARED(bin_path, "models/llama2-tokenizer/tokenizer.bin");
  RESID_REQUIRE_SHARED(model_path, "models/llama2-tokenizer/tokenizer.model");
  RESID_REQUIRE_SHARED(text_path, "data/tinystories/tinystories_sample.txt");
  const auto bin = load_llama2c_tokenizer(bin_path);
  const auto model = load_sentencepiece_tokenizer(model_path);
  std::ifstream in(text_path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int paragraphs = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t next = text.find("\n\n", pos);
    if (next == std::string::npos) next = text.size();
    const std::string paragraph = text.substr(pos, next - pos);
    EXPECT_EQ(bin->encode(paragraph, true), model->encode(paragraph, true)) << paragraph;
    ++paragraphs;
    pos = next + 2;
  }
  EXPECT_GT(paragraphs, 1000);
}

TEST(RealTokenizers, Stories260KOnceUponATime) {
  RESID_REQUIRE_SHARED(path, "models/stories260K/tok512.bin");
  RESID_REQUIRE_SHARED(ref_path, "models/stories260K/reference/once_upon_a_time.tokens.txt");
  std::ifstream ref(ref_path);
  std::vector<int> expected;
  for (int id; ref >> id;) expected.push_back(id);
  ASSERT_EQ(expected.size(), 16u);
  const auto tok = load_tokenizer(path);
  EXPECT_EQ(tok->vocab_size(), 512);
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  EXPECT_EQ(tok->encode(text, true), expected);
  EXPECT_EQ(tok->decode(expected), text);
  EXPECT_EQ(tok->piece(1), "<s>");
  expect_spans_cover(*tok, text);
}

TEST(RealTokenizers, ACheckpointIsNotATokenizer) {
  RESID_REQUIRE_SHARED(path, "models/stories260K/stories260K.bin");
  expect_format_error_naming([&] { load_tokenizer(path); }, path);
}

TEST(RealTokenizers, TinyStoriesSampleRoundTrips) {
  RESID_REQUIRE_SHARED(tok_path, "models/stories260K/tok512.bin");
  RESID_REQUIRE_SHARED(text_path, "data/tinystories/tinystories_sample.txt");
  std::ifstream in(text_path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.resize(std::min<size_t>(text.size(), 20000));
  while (!text.empty() && (static_cast<uint8_t>(text.back()) & 0xC0) == 0x80) text.pop_back();  // whole chars
  if (!text.empty() && static_cast<uint8_t>(text.back()) >= 0xC0) text.pop_back();
  const auto tok = load_tokenizer(tok_path);
  EXPECT_EQ(tok->decode(tok->encode(text, true)), text);
  expect_spans_cover(*tok, text);
}

TEST(RealTokenizers, BabyLlamaModelRoundTrips) {
  RESID_REQUIRE_SHARED(path, "models/babyllama-tok105/tok105.model");
  const auto tok = load_tokenizer(path);
  EXPECT_EQ(tok->vocab_size(), 105);
  EXPECT_NE(tok->describe().find("SentencePiece"), std::string::npos);
  for (const std::string text :
       {"Once upon a time, there was a little girl named Lily.",
        "She said, \"Look! A big red ball.\" Tom was happy; they played all day.", "x"}) {
    const std::vector<int> ids = tok->encode(text, true);
    EXPECT_EQ(ids.front(), tok->bos_id());
    EXPECT_EQ(tok->decode(ids), text);
    expect_spans_cover(*tok, text);
  }
}

}  // namespace
}  // namespace resid
