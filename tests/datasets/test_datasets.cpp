// Datasets: every kind on small files with a hand-traceable in-memory tokenizer (label alignment checked
// token by token), rule labels, the error messages for bad input, rewind, and token windows over real
// TinyStories text with the stories260K tokenizer from ../shared.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "datasets/dataset.h"
#include "datasets/document_chunker.h"
#include "datasets/label_file_dataset.h"
#include "datasets/line_reader.h"
#include "datasets/rule_labels.h"
#include "datasets/tagged_dataset.h"
#include "test_support.h"

namespace resid {
namespace {

using ::resid::testing::TempDir;

// --- helpers ---

// <unk> <s> </s>, the 256 byte pieces, then whole words with every prefix of two or more characters, all
// scored alike: merges then go leftmost first, so a word of the list is one token and anything else splits
// into the longest listed prefixes, the rest falling back to bytes. "▁walked" is "▁walk" + "ed".
std::unique_ptr<SpmTokenizer> tiny_tokenizer() {
  SpmVocab v;
  auto add = [&v](const std::string& piece) {
    if (std::find(v.pieces.begin(), v.pieces.end(), piece) == v.pieces.end()) v.pieces.push_back(piece);
  };
  add("<unk>");
  add("<s>");
  add("</s>");
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    add(buf);
  }
  const std::vector<std::string> words = {"▁",     "▁The", "▁the", "▁cat", "▁sat", "▁walk", "ed",
                                          ".",     ",",    "!",    "?",    "\"",   "▁\"",   "Hi",
                                          "▁said", "▁she", "▁is",  "▁1",   "2",    "▁A",    "▁dog"};
  for (const std::string& w : words) {
    // Character prefixes: "▁" is three bytes, so count UTF-8 lead bytes.
    std::vector<size_t> cuts;
    for (size_t i = 1; i <= w.size(); ++i) {
      if (i == w.size() || (static_cast<unsigned char>(w[i]) & 0xC0) != 0x80) cuts.push_back(i);
    }
    for (size_t k = 1; k < cuts.size(); ++k) add(w.substr(0, cuts[k]));
    add(w);
  }
  v.scores.assign(v.pieces.size(), 0.0f);
  return std::make_unique<SpmTokenizer>(std::move(v), "tiny test vocabulary");
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> pieces(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(tok.piece(id));
  return out;
}

std::vector<Example> read_all(Dataset& d) {
  std::vector<Example> out;
  Example e;
  while (d.next(e)) out.push_back(e);
  return out;
}

void expect_same(const std::vector<Example>& a, const std::vector<Example>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens) << "example " << i;
    EXPECT_EQ(a[i].text, b[i].text) << "example " << i;
    EXPECT_EQ(a[i].source_line, b[i].source_line) << "example " << i;
    EXPECT_EQ(a[i].token_classes, b[i].token_classes) << "example " << i;
    ASSERT_EQ(a[i].sequence_values.size(), b[i].sequence_values.size());
    for (size_t k = 0; k < a[i].sequence_values.size(); ++k) {
      const double x = a[i].sequence_values[k], y = b[i].sequence_values[k];
      EXPECT_TRUE(x == y || (std::isnan(x) && std::isnan(y))) << "example " << i << " column " << k;
    }
  }
}

// The message of the InputError `f` throws ("" and a failure when it throws nothing).
template <typename F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

DatasetOptions options_for(const std::string& path, const std::string& kind = "auto") {
  DatasetOptions o;
  o.path = path;
  o.kind = kind;
  return o;
}

class DatasetsTest : public ::testing::Test {
 protected:
  std::unique_ptr<SpmTokenizer> tok = tiny_tokenizer();
  TempDir dir;
  int id(const std::string& piece) const {
    for (int i = 0; i < tok->vocab_size(); ++i) {
      if (tok->piece(i) == piece) return i;
    }
    ADD_FAILURE() << "no piece " << piece;
    return -1;
  }
};

// The tokenizer itself, so the hand-checked expectations below rest on known tokens.
TEST_F(DatasetsTest, TinyTokenizerSplitsAsExpected) {
  const auto spans = tok->encode_with_offsets("The cat walked .", true);
  std::vector<std::string> got;
  for (const TokenSpan& s : spans)
    got.push_back(tok->piece(s.id) + "@" + std::to_string(s.begin) + "-" + std::to_string(s.end));
  EXPECT_EQ(got, (std::vector<std::string>{"<s>@0-0", "▁The@0-3", "▁cat@3-7", "▁walk@7-12", "ed@12-14",
                                           "▁@14-15", ".@15-16"}));
}

// --- text ---

TEST_F(DatasetsTest, TextOneExamplePerNonBlankLine) {
  const std::string path = dir.file("lines.txt");
  write_file(path, "the cat sat.\r\n\n   \nThe dog\n");
  auto d = open_dataset(options_for(path), tok.get());
  EXPECT_EQ(d->describe(), "text");
  EXPECT_TRUE(d->labels().empty());
  EXPECT_EQ(d->count_examples(), 2u);
  const auto all = read_all(*d);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].text, "the cat sat.");
  EXPECT_EQ(all[0].source_line, 1u);
  EXPECT_EQ(pieces(*tok, all[0].tokens), (std::vector<std::string>{"<s>", "▁the", "▁cat", "▁sat", "."}));
  EXPECT_EQ(all[1].text, "The dog");
  EXPECT_EQ(all[1].source_line, 4u);
  EXPECT_EQ(pieces(*tok, all[1].tokens), (std::vector<std::string>{"<s>", "▁The", "▁dog"}));

  DatasetOptions no_bos = options_for(path, "text");
  no_bos.add_bos = false;
  auto d2 = open_dataset(no_bos, tok.get());
  Example e;
  ASSERT_TRUE(d2->next(e));
  EXPECT_EQ(pieces(*tok, e.tokens), (std::vector<std::string>{"▁the", "▁cat", "▁sat", "."}));
  EXPECT_EQ(d2->describe(), "text no_bos");
}

TEST_F(DatasetsTest, TooLongExampleIsAnErrorUnlessTruncated) {
  const std::string path = dir.file("long.txt");
  write_file(path, "the cat\nthe cat sat the dog\n");
  DatasetOptions o = options_for(path);
  o.max_tokens = 3;
  auto d = open_dataset(o, tok.get());
  Example e;
  ASSERT_TRUE(d->next(e));  // BOS + 2 tokens fits
  EXPECT_EQ(input_error([&] { d->next(e); }),
            path + ":2: example has 6 tokens, longer than max_tokens = 3 (set truncate to cut it)");

  o.truncate = true;
  o.rules = {"starts_word"};
  auto t = open_dataset(o, tok.get());
  EXPECT_EQ(t->describe(), "text rules=starts_word truncate=3");
  ASSERT_TRUE(t->next(e));
  ASSERT_TRUE(t->next(e));
  EXPECT_EQ(pieces(*tok, e.tokens), (std::vector<std::string>{"<s>", "▁the", "▁cat"}));
  EXPECT_EQ(e.text, "the cat");  // cut where the last kept token ends
  EXPECT_EQ(e.token_classes[0], (std::vector<int32_t>{kRuleNone, kRuleYes, kRuleYes}));
}

// --- rules ---

TEST_F(DatasetsTest, RuleLabelsOnAQuotation) {
  const std::string path = dir.file("quotes.txt");
  write_file(path, "the cat said \"Hi, the cat!\" the cat sat.\nHi 12 A\n");
  DatasetOptions o = options_for(path);
  o.rules = {"in_quotes", "end_of_sentence", "starts_word", "is_digit", "is_capitalised"};
  auto d = open_dataset(o, tok.get());
  ASSERT_EQ(d->labels().size(), 5u);
  for (const LabelColumn& c : d->labels()) {
    EXPECT_EQ(c.kind, LabelColumn::Kind::TokenClass);
    EXPECT_EQ(c.classes, (std::vector<std::string>{"none", "no", "yes"}));
  }
  Example e;
  ASSERT_TRUE(d->next(e));
  ASSERT_EQ(pieces(*tok, e.tokens),
            (std::vector<std::string>{"<s>", "▁the", "▁cat", "▁said", "▁\"", "Hi", ",", "▁the", "▁cat", "!",
                                      "\"", "▁the", "▁cat", "▁sat", "."}));
  constexpr int32_t N = kRuleNone, n = kRuleNo, Y = kRuleYes;
  // The quotation spans six tokens, marks included; the tokens after the closing mark are outside again.
  EXPECT_EQ(e.token_classes[0], (std::vector<int32_t>{N, n, n, n, Y, Y, Y, Y, Y, Y, Y, n, n, n, n}));
  EXPECT_EQ(e.token_classes[1], (std::vector<int32_t>{N, n, n, n, n, n, n, n, n, Y, n, n, n, n, Y}));
  EXPECT_EQ(e.token_classes[2], (std::vector<int32_t>{N, Y, Y, Y, Y, n, n, Y, Y, n, n, Y, Y, Y, n}));
  EXPECT_EQ(e.token_classes[3], (std::vector<int32_t>{N, n, n, n, n, n, n, n, n, n, n, n, n, n, n}));
  EXPECT_EQ(e.token_classes[4], (std::vector<int32_t>{N, n, n, n, n, Y, n, n, n, n, n, n, n, n, n}));

  // "Hi" cannot merge with the dummy prefix, which stays a token of its own covering no text: "none"
  // everywhere.
  ASSERT_TRUE(d->next(e));
  ASSERT_EQ(pieces(*tok, e.tokens), (std::vector<std::string>{"<s>", "▁", "Hi", "▁1", "2", "▁A"}));
  EXPECT_EQ(e.token_classes[2], (std::vector<int32_t>{N, N, Y, Y, n, Y}));
  EXPECT_EQ(e.token_classes[3], (std::vector<int32_t>{N, N, n, Y, Y, n}));
  EXPECT_EQ(e.token_classes[4], (std::vector<int32_t>{N, N, Y, n, n, Y}));
}

TEST(RuleLabels, CurlyAndUnclosedQuotes) {
  // Hand-made spans: one token per word-ish piece of the text.
  // Bytes: a 0, space 1, “ 2-4, b 5, space 6, c 7, ” 8-10, space 11, d 12, space 13, " 14, e 15, space 16,
  // f 17.
  const std::string text =
      "a \xE2\x80\x9C"
      "b c\xE2\x80\x9D d \"e f";
  const std::vector<TokenSpan> spans = {{0, 0, 0},  {0, 0, 1},   {0, 1, 5},   {0, 5, 6},  {0, 6, 8},
                                        {0, 8, 11}, {0, 11, 13}, {0, 13, 15}, {0, 15, 18}};
  EXPECT_EQ(rule_classes("in_quotes", text, spans),
            (std::vector<int32_t>{kRuleNone, kRuleNo, kRuleYes, kRuleYes, kRuleYes, kRuleYes, kRuleNo,
                                  kRuleYes, kRuleYes}));
  EXPECT_EQ(input_error([&] { rule_classes("is_shouting", text, spans); }),
            "unknown label rule \"is_shouting\" (rules: in_quotes, end_of_sentence, starts_word, is_digit, "
            "is_capitalised)");
}

TEST_F(DatasetsTest, UnknownRuleIsAnErrorAtOpen) {
  const std::string path = dir.file("a.txt");
  write_file(path, "the cat\n");
  DatasetOptions o = options_for(path);
  o.rules = {"in_quote"};
  EXPECT_NE(input_error([&] { open_dataset(o, tok.get()); }).find("unknown label rule \"in_quote\""),
            std::string::npos);
}

// --- jsonl ---

TEST_F(DatasetsTest, JsonlTextAndLabelFields) {
  const std::string path = dir.file("rows.jsonl");
  write_file(
      path,
      "{\"sentence\": \"the cat sat.\", \"sentiment\": \"pos\", \"score\": 0.5, \"flag\": true}\n"
      "\n"
      "{\"sentence\": \"the dog\", \"sentiment\": \"neg\", \"score\": -2, \"flag\": false, \"extra\": [1]}\n"
      "{\"score\": 3, \"flag\": true, \"sentiment\": \"pos\", \"sentence\": \"Hi\"}\n");
  DatasetOptions o = options_for(path);
  o.text_field = "sentence";
  o.label_fields = {"sentiment", "score", "flag"};
  o.rules = {"is_capitalised"};
  auto d = open_dataset(o, tok.get());
  EXPECT_EQ(d->describe(), "jsonl text=sentence labels=sentiment,score,flag rules=is_capitalised");
  EXPECT_EQ(d->count_examples(), 3u);
  ASSERT_EQ(d->labels().size(), 4u);
  EXPECT_EQ(d->labels()[0].kind, LabelColumn::Kind::SequenceClass);
  EXPECT_EQ(d->labels()[1].kind, LabelColumn::Kind::SequenceNumber);
  EXPECT_EQ(d->labels()[2].kind, LabelColumn::Kind::SequenceNumber);
  EXPECT_EQ(d->labels()[3].kind, LabelColumn::Kind::TokenClass);
  const auto all = read_all(*d);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].text, "the cat sat.");
  EXPECT_EQ(all[1].source_line, 3u);
  EXPECT_EQ(all[0].sequence_values[0], 0);  // "pos"
  EXPECT_EQ(all[1].sequence_values[0], 1);  // "neg"
  EXPECT_EQ(all[2].sequence_values[0], 0);
  EXPECT_EQ(d->labels()[0].classes, (std::vector<std::string>{"pos", "neg"}));
  EXPECT_EQ(all[0].sequence_values[1], 0.5);
  EXPECT_EQ(all[1].sequence_values[1], -2);
  EXPECT_EQ(all[0].sequence_values[2], 1);
  EXPECT_EQ(all[1].sequence_values[2], 0);
  // Token columns carry NaN in sequence_values; sequence columns carry no token classes.
  EXPECT_TRUE(std::isnan(all[0].sequence_values[3]));
  EXPECT_TRUE(all[0].token_classes[0].empty());
  EXPECT_EQ(all[2].token_classes[3], (std::vector<int32_t>{kRuleNone, kRuleNone, kRuleYes}));
}

TEST_F(DatasetsTest, JsonlBadRows) {
  auto open_with = [&](const std::string& content, std::vector<std::string> labels = {"label"}) {
    const std::string path = dir.file("bad.jsonl");
    write_file(path, content);
    DatasetOptions o = options_for(path);
    o.label_fields = std::move(labels);
    auto d = open_dataset(o, tok.get());
    read_all(*d);
  };
  const std::string p = dir.file("bad.jsonl");
  EXPECT_EQ(
      input_error([&] { open_with("{\"text\": \"the cat\", \"label\": 1}\n{\"text\": \"the dog\"}\n"); }),
      p + ":2: no field \"label\"");
  EXPECT_EQ(
      input_error([&] { open_with("{\"text\": \"the cat\", \"label\": 1}\n{\"text\": 5, \"label\": 1}\n"); }),
      p + ":2: field \"text\" is a number, not a string");
  EXPECT_EQ(input_error([&] {
              open_with("{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\", \"label\": \"x\"}\n");
            }),
            p + ":3: field \"label\" is a string, but line 1 made it a number column");
  EXPECT_EQ(input_error(
                [&] { open_with("{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": 2}\n"); }),
            p + ":2: field \"label\" is a number, but line 1 made it a class (string) column");
  EXPECT_EQ(input_error([&] { open_with("{\"text\": \"a\", \"label\": null}\n"); }),
            p + ":1: field \"label\" is null; a label must be a number, a bool or a string");
  const std::string invalid =
      input_error([&] { open_with("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\",\n"); });
  EXPECT_EQ(invalid.rfind(p + ":2: invalid JSON: ", 0), 0u) << invalid;
  EXPECT_EQ(invalid.find('\n'), std::string::npos);
  const std::string array =
      input_error([&] { open_with("[{\"text\": \"a\", \"label\": 1},\n{\"text\": \"b\"}]\n"); });
  EXPECT_NE(array.find(p + ":1: "), std::string::npos) << array;
  EXPECT_NE(array.find("a JSON array is not JSONL"), std::string::npos) << array;
  EXPECT_EQ(input_error([&] {
              open_with("{\"text\": \"a\"}\n", {});
              open_with("3\n", {});
            }),
            p + ":1: expected a JSON object, got number");
}

// --- tokens ---

TEST_F(DatasetsTest, TokenFiles) {
  const std::string path = dir.file("ids.tokens");
  const int the = id("▁the"), cat = id("▁cat"), hi = id("Hi");
  write_file(path, "1 " + std::to_string(the) + " " + std::to_string(cat) + "\n\n" + std::to_string(hi) +
                       ", " + std::to_string(the) + ",  " + std::to_string(cat) + "\n");
  DatasetOptions o = options_for(path);
  o.rules = {"starts_word", "is_capitalised"};
  auto d = open_dataset(o, tok.get());
  EXPECT_EQ(d->describe(), "tokens rules=starts_word,is_capitalised");
  const auto all = read_all(*d);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].tokens, (std::vector<int32_t>{1, the, cat}));  // as written: no BOS added to line 3
  EXPECT_EQ(all[1].tokens, (std::vector<int32_t>{hi, the, cat}));
  EXPECT_EQ(all[1].source_line, 3u);
  EXPECT_EQ(all[0].text, "");
  // Rules over the decoded text "Hi the cat".
  EXPECT_EQ(all[1].token_classes[0], (std::vector<int32_t>{kRuleYes, kRuleYes, kRuleYes}));
  EXPECT_EQ(all[1].token_classes[1], (std::vector<int32_t>{kRuleYes, kRuleNo, kRuleNo}));
  EXPECT_EQ(all[0].token_classes[0], (std::vector<int32_t>{kRuleNone, kRuleYes, kRuleYes}));

  // Without a tokenizer: ids as written, no vocabulary check, no rules.
  auto bare = open_dataset(options_for(path), nullptr);
  EXPECT_EQ(read_all(*bare).size(), 2u);
  EXPECT_NE(input_error([&] { open_dataset(o, nullptr); }).find("need a tokenizer"), std::string::npos);
}

TEST_F(DatasetsTest, TokenFileErrors) {
  const std::string path = dir.file("bad.ids");
  auto read_with = [&](const std::string& content, const Tokenizer* t) {
    write_file(path, content);
    auto d = open_dataset(options_for(path), t);
    read_all(*d);
  };
  const std::string vocab = std::to_string(tok->vocab_size());
  EXPECT_EQ(input_error([&] { read_with("1 2 3\n4 700 5\n", tok.get()); }),
            path + ":2: token id 700 is outside the vocabulary [0, " + vocab + ")");
  EXPECT_EQ(input_error([&] { read_with("1 -4\n", nullptr); }), path + ":1: token id -4 is negative");
  EXPECT_EQ(input_error([&] { read_with("\n1 2x 3\n", nullptr); }),
            path + ":2: \"2x\" is not a token id (expected integers separated by spaces or commas)");
  EXPECT_EQ(input_error([&] { read_with("1 2\n , ,\n", nullptr); }), path + ":2: no token ids on the line");
  write_file(path, "1 2 3 4\n");
  DatasetOptions o = options_for(path);
  o.max_tokens = 3;
  EXPECT_EQ(input_error([&] { read_all(*open_dataset(o, nullptr)); }),
            path + ":1: example has 4 tokens, longer than max_tokens = 3 (set truncate to cut it)");
  o.truncate = true;
  EXPECT_EQ(read_all(*open_dataset(o, nullptr))[0].tokens, (std::vector<int32_t>{1, 2, 3}));
}

// --- tagged ---

TEST_F(DatasetsTest, TaggedWordsGiveTheirTagToTheirLastSubToken) {
  const std::string path = dir.file("corpus.tags");
  write_file(path, "The/DT cat/NN walked/VBD ./.\n\nthe/DT 1/2/CD dog/NN\n");
  DatasetOptions o = options_for(path);
  o.rules = {"starts_word"};
  auto d = open_dataset(o, tok.get());
  EXPECT_EQ(d->describe(), "tagged rules=starts_word");
  ASSERT_EQ(d->labels().size(), 2u);
  EXPECT_EQ(d->labels()[0].name, "tag");
  EXPECT_EQ(d->labels()[0].kind, LabelColumn::Kind::TokenClass);
  Example e;
  ASSERT_TRUE(d->next(e));
  EXPECT_EQ(e.text, "The cat walked .");
  ASSERT_EQ(pieces(*tok, e.tokens),
            (std::vector<std::string>{"<s>", "▁The", "▁cat", "▁walk", "ed", "▁", "."}));
  // BOS none, The DT, cat NN, "walk" is not walked's last piece: none, "ed" VBD, the lone space none, "." .
  EXPECT_EQ(e.token_classes[0], (std::vector<int32_t>{0, 1, 2, 0, 3, 0, 4}));
  EXPECT_EQ(d->labels()[0].classes, (std::vector<std::string>{"none", "DT", "NN", "VBD", "."}));
  EXPECT_EQ(e.token_classes[1],
            (std::vector<int32_t>{kRuleNone, kRuleYes, kRuleYes, kRuleYes, kRuleNo, kRuleNo, kRuleYes}));

  ASSERT_TRUE(d->next(e));  // split at the last '/': the word is "1/2"
  EXPECT_EQ(e.source_line, 3u);
  EXPECT_EQ(e.text, "the 1/2 dog");
  ASSERT_EQ(pieces(*tok, e.tokens), (std::vector<std::string>{"<s>", "▁the", "▁1", "<0x2F>", "2", "▁dog"}));
  EXPECT_EQ(e.token_classes[0], (std::vector<int32_t>{0, 1, 0, 0, 5, 2}));
  EXPECT_EQ(d->labels()[0].classes.back(), "CD");
  EXPECT_FALSE(d->next(e));
}

TEST_F(DatasetsTest, TaggedTruncationDropsCutWords) {
  const std::string path = dir.file("cut.tagged");
  write_file(path, "The/DT cat/NN walked/VBD\n");
  DatasetOptions o = options_for(path);
  o.max_tokens = 4;
  o.truncate = true;
  auto d = open_dataset(o, tok.get());
  Example e;
  ASSERT_TRUE(d->next(e));
  EXPECT_EQ(pieces(*tok, e.tokens), (std::vector<std::string>{"<s>", "▁The", "▁cat", "▁walk"}));
  EXPECT_EQ(e.token_classes[0], (std::vector<int32_t>{0, 1, 2, 0}));  // "walked" lost its last piece
  EXPECT_EQ(d->labels()[0].classes, (std::vector<std::string>{"none", "DT", "NN"}));
}

TEST_F(DatasetsTest, TaggedBadItems) {
  const std::string path = dir.file("bad.tags");
  auto read_with = [&](const std::string& content) {
    write_file(path, content);
    read_all(*open_dataset(options_for(path), tok.get()));
  };
  EXPECT_EQ(input_error([&] { read_with("The/DT cat\n"); }), path + ":1: item \"cat\" is not word/TAG");
  EXPECT_EQ(input_error([&] { read_with("the/DT\nThe/DT cat/\n"); }),
            path + ":2: item \"cat/\" is not word/TAG");
  EXPECT_EQ(input_error([&] { read_with("/NN\n"); }), path + ":1: item \"/NN\" is not word/TAG");
  EXPECT_EQ(input_error([&] { read_with("cat/none\n"); }),
            path + ":1: tag \"none\" is reserved for tokens without a tag (item \"cat/none\")");
}

TEST(TaggedAlignment, TokenSpanningTwoWordsLabelsBoth) {
  // A piece that runs over a word boundary is the last token of both words; the later word's tag wins.
  std::vector<TaggedWord> words = {{0, 2, "A"}, {3, 5, "B"}, {6, 7, "C"}};
  const std::vector<TokenSpan> spans = {{1, 0, 0}, {7, 0, 1}, {8, 1, 4}, {9, 4, 5}, {10, 5, 7}};
  EXPECT_EQ(last_token_of_words(words, spans), (std::vector<int>{2, 3, 4}));
}

// Real tokenizers (llama2.c tokenizer.bin and a SentencePiece .model through libsentencepiece): every word's
// tag lands on exactly one token, in word order, and that token's bytes end where the word ends.
TEST(TaggedAlignment, RealTokenizers) {
  RESID_REQUIRE_SHARED(tok512, "models/stories260K/tok512.bin");
  RESID_REQUIRE_SHARED(tok105, "models/babyllama-tok105/tok105.model");
  for (const std::string& tok_path : {tok512, tok105}) {
    const auto tok = load_tokenizer(tok_path);
    TempDir dir;
    const std::string path = dir.file("s.tags");
    write_file(path,
               "Lily/NNP wanted/VBD to/TO share/VB the/DT needle/NN ,/, so/RB she/PRP smiled/VBD ./.\n");
    auto d = open_dataset(options_for(path), tok.get());
    Example e;
    ASSERT_TRUE(d->next(e));
    const auto spans = tok->encode_with_offsets(e.text, true);
    ASSERT_EQ(spans.size(), e.tokens.size());
    std::vector<std::string> words;
    std::vector<std::string> tags;
    for (size_t t = 0; t < spans.size(); ++t) {
      const int32_t c = e.token_classes[0][t];
      if (c == 0) continue;
      tags.push_back(d->labels()[0].classes[c]);
      const size_t end = spans[t].end;
      const size_t space = e.text.rfind(' ', end - 1);
      const size_t start = space == std::string::npos ? 0 : space + 1;
      words.push_back(e.text.substr(start, end - start));
      EXPECT_TRUE(end == e.text.size() || e.text[end] == ' ') << tok_path << " token " << t;
    }
    EXPECT_EQ(words, (std::vector<std::string>{"Lily", "wanted", "to", "share", "the", "needle", ",", "so",
                                               "she", "smiled", "."}))
        << tok_path;
    EXPECT_EQ(tags,
              (std::vector<std::string>{"NNP", "VBD", "TO", "VB", "DT", "NN", ",", "RB", "PRP", "VBD", "."}));
  }
}

// --- windows ---

TEST(DocumentChunker, ParagraphsAndForcedCuts) {
  TempDir dir;
  const std::string path = dir.file("doc.txt");
  write_file(path,
             "\xEF\xBB\xBF"
             "First para\r\nline two.\r\n\r\nSecond.\n\n\n  \nThird");
  DocumentChunker chunker(path);
  std::vector<std::string> chunks;
  for (std::string c; chunker.next(c);) chunks.push_back(c);
  EXPECT_EQ(chunks, (std::vector<std::string>{"First para\nline two.\n\n", "Second.\n\n\n  \n", "Third"}));

  // One long line: cut after spaces, never past max_chunk bytes, nothing lost.
  std::string line;
  for (int i = 0; i < 200; ++i) line += "word" + std::to_string(i) + " ";
  write_file(path, line);
  DocumentChunker small(path, 64);
  std::string joined;
  for (std::string c; small.next(c);) {
    EXPECT_LE(c.size(), 64u);
    EXPECT_EQ(c.back(), ' ');
    joined += c;
  }
  EXPECT_EQ(joined, line);
  small.rewind();
  std::string first;
  ASSERT_TRUE(small.next(first));
  EXPECT_EQ(first, line.substr(0, first.size()));
}

TEST_F(DatasetsTest, WindowsOnASmallDocument) {
  const std::string path = dir.file("doc.txt");
  write_file(path, "the cat sat.\n\nthe \"dog\" sat.\n");
  DatasetOptions o = options_for(path, "windows");
  o.window = 4;
  o.rules = {"in_quotes"};
  auto d = open_dataset(o, tok.get());
  EXPECT_EQ(d->describe(), "windows window=4 rules=in_quotes");
  EXPECT_FALSE(d->count_examples().has_value());
  const auto all = read_all(*d);
  // Stream: ▁the ▁cat ▁sat . \n \n | ▁the ▁" <d> <o> <g> " ▁sat . \n  (15 tokens, 3 per window after BOS)
  ASSERT_EQ(all.size(), 5u);
  std::string text;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].tokens.front(), tok->bos_id());
    EXPECT_EQ(all[i].source_line, i + 1);
    EXPECT_EQ(all[i].tokens.size(), 4u);
    text += all[i].text;
  }
  EXPECT_EQ(text, read_file(path));
  EXPECT_EQ(pieces(*tok, all[2].tokens), (std::vector<std::string>{"<s>", "▁the", "▁\"", "<0x64>"}));
  EXPECT_EQ(all[2].token_classes[0], (std::vector<int32_t>{kRuleNone, kRuleNo, kRuleYes, kRuleYes}));
  // The quotation continues into the next window: rules were judged on the whole paragraph.
  EXPECT_EQ(pieces(*tok, all[3].tokens), (std::vector<std::string>{"<s>", "<0x6F>", "<0x67>", "\""}));
  EXPECT_EQ(all[3].token_classes[0], (std::vector<int32_t>{kRuleNone, kRuleYes, kRuleYes, kRuleYes}));

  o.window = 5;
  const auto longer = read_all(*open_dataset(o, tok.get()));
  ASSERT_EQ(longer.size(), 4u);
  EXPECT_EQ(longer.back().tokens.size(), 4u);  // 15 = 4 + 4 + 4 + 3: the last window is shorter
}

TEST_F(DatasetsTest, WindowOptionErrors) {
  const std::string path = dir.file("doc.txt");
  write_file(path, "the cat\n");
  DatasetOptions o = options_for(path, "windows");
  EXPECT_EQ(input_error([&] { open_dataset(o, tok.get()); }),
            path + ": windows need a length: window or max_tokens (both are 0)");
  o.max_tokens = 8;
  EXPECT_EQ(read_all(*open_dataset(o, tok.get())).size(), 1u);  // window = max_tokens
  o.window = 16;
  EXPECT_EQ(input_error([&] { open_dataset(o, tok.get()); }),
            path + ": window 16 is longer than max_tokens = 8");
  o.window = 1;
  EXPECT_EQ(input_error([&] { open_dataset(o, tok.get()); }),
            path + ": window 1 leaves no room for text after BOS");
  o.add_bos = false;
  EXPECT_EQ(read_all(*open_dataset(o, tok.get())).size(), 3u);  // ▁the, ▁cat, <0x0A>: one token each
}

TEST(Windows, TinyStoriesWithStories260KTokenizer) {
  RESID_REQUIRE_SHARED(story_path, "data/tinystories/tinystories_sample.txt");
  RESID_REQUIRE_SHARED(tok_path, "models/stories260K/tok512.bin");
  const auto tok = load_tokenizer(tok_path);
  DatasetOptions o;
  o.path = story_path;
  o.kind = "windows";
  o.max_tokens = 512;
  o.window = 128;
  o.rules = {"in_quotes", "starts_word"};
  auto d = open_dataset(o, tok.get());
  const auto all = read_all(*d);

  // Independently: encode each paragraph (with the blank line after it) on its own and concatenate.
  const std::string doc = read_file(story_path);
  std::vector<int> stream;
  for (size_t pos = 0; pos < doc.size();) {
    size_t cut = doc.find("\n\n", pos);
    cut = cut == std::string::npos ? doc.size() : doc.find_first_not_of('\n', cut);
    if (cut == std::string::npos) cut = doc.size();
    const auto ids = tok->encode(std::string_view(doc).substr(pos, cut - pos), false);
    stream.insert(stream.end(), ids.begin(), ids.end());
    pos = cut;
  }
  const size_t body = 127;
  ASSERT_EQ(all.size(), (stream.size() + body - 1) / body);
  std::string text;
  size_t quoted = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const Example& e = all[i];
    ASSERT_EQ(e.tokens[0], tok->bos_id());
    if (i + 1 < all.size()) {
      ASSERT_EQ(e.tokens.size(), 128u);
    }
    for (size_t t = 1; t < e.tokens.size(); ++t)
      ASSERT_EQ(e.tokens[t], stream[i * body + t - 1]) << i << " " << t;
    ASSERT_EQ(e.token_classes.size(), 2u);
    ASSERT_EQ(e.token_classes[0].size(), e.tokens.size());
    for (int32_t c : e.token_classes[0]) quoted += c == kRuleYes;
    text += e.text;
  }
  EXPECT_EQ(text, doc);
  // Dialogue is common in TinyStories, but most text is narration.
  const size_t total = stream.size();
  EXPECT_GT(quoted, total / 20);
  EXPECT_LT(quoted, total / 2);

  d->rewind();
  expect_same(read_all(*d), all);
}

TEST(Windows, QuotationInRealText) {
  RESID_REQUIRE_SHARED(tok_path, "models/stories260K/tok512.bin");
  const auto tok = load_tokenizer(tok_path);
  TempDir dir;
  const std::string path = dir.file("line.txt");
  write_file(
      path,
      "Lily went to her mom and said, \"Mom, I found this needle. Can you share it?\" Her mom smiled.\n");
  DatasetOptions o;
  o.path = path;
  o.rules = {"in_quotes", "end_of_sentence"};
  auto d = open_dataset(o, tok.get());
  Example e;
  ASSERT_TRUE(d->next(e));
  const size_t open = e.text.find('"'), close = e.text.rfind('"');
  const auto spans = tok->encode_with_offsets(e.text, true);
  ASSERT_EQ(spans.size(), e.tokens.size());
  for (size_t t = 1; t < spans.size(); ++t) {
    const bool inside = spans[t].end > open && spans[t].begin <= close;
    EXPECT_EQ(e.token_classes[0][t], inside ? kRuleYes : kRuleNo)
        << t << " '" << e.text.substr(spans[t].begin, spans[t].end - spans[t].begin) << "'";
    const bool stop = spans[t].end > spans[t].begin &&
                      std::string(".!?").find(e.text[spans[t].end - 1]) != std::string::npos;
    EXPECT_EQ(e.token_classes[1][t], stop ? kRuleYes : kRuleNo) << t;
  }
  EXPECT_EQ(e.token_classes[0][0], kRuleNone);
}

// --- rewind, all kinds ---

TEST_F(DatasetsTest, RewindGivesIdenticalExamples) {
  write_file(dir.file("a.txt"), "the cat sat.\n\nHi \"the dog\"\n");
  write_file(dir.file("a.jsonl"),
             "{\"text\": \"the cat\", \"y\": \"b\"}\n{\"text\": \"Hi\", \"y\": \"a\"}\n");
  write_file(dir.file("a.ids"), "1 2 3\n4,5\n");
  write_file(dir.file("a.tags"), "The/DT cat/NN\nHi/UH\n");
  for (const auto& [file, kind] : std::vector<std::pair<std::string, std::string>>{{"a.txt", "auto"},
                                                                                   {"a.txt", "windows"},
                                                                                   {"a.jsonl", "auto"},
                                                                                   {"a.ids", "auto"},
                                                                                   {"a.tags", "auto"}}) {
    DatasetOptions o = options_for(dir.file(file), kind);
    if (kind == "windows") o.window = 3;
    if (file == "a.jsonl") o.label_fields = {"y"};
    if (file != "a.ids") o.rules = {"in_quotes", "starts_word"};
    auto d = open_dataset(o, tok.get());
    const auto first = read_all(*d);
    EXPECT_GE(first.size(), 2u) << file << " " << kind;
    d->rewind();
    expect_same(read_all(*d), first);
    // Rewinding midway too.
    d->rewind();
    Example e;
    ASSERT_TRUE(d->next(e));
    d->rewind();
    expect_same(read_all(*d), first);
  }
}

// --- open_dataset ---

TEST_F(DatasetsTest, AutoKindByExtension) {
  write_file(dir.file("a.json"), "{\"text\": \"the cat\"}\n");
  write_file(dir.file("a.TXT"), "the cat\n");
  write_file(dir.file("a.tokens"), "1 2\n");
  write_file(dir.file("a.tagged"), "the/DT\n");
  EXPECT_EQ(open_dataset(options_for(dir.file("a.json")), tok.get())->describe(), "jsonl text=text");
  EXPECT_EQ(open_dataset(options_for(dir.file("a.TXT")), tok.get())->describe(), "text");
  EXPECT_EQ(open_dataset(options_for(dir.file("a.tokens")), tok.get())->describe(), "tokens");
  EXPECT_EQ(open_dataset(options_for(dir.file("a.tagged")), tok.get())->describe(), "tagged");

  const std::string csv = dir.file("a.csv");
  write_file(csv, "x\n");
  EXPECT_EQ(
      input_error([&] { open_dataset(options_for(csv), tok.get()); }),
      csv +
          ": cannot tell the dataset kind from the extension \".csv\"; give one of the kinds text, windows, "
          "jsonl, tokens, tagged (auto knows .txt -> text, .jsonl/.json -> jsonl, .tokens/.ids -> tokens, "
          ".tags/.tagged -> tagged)");
  EXPECT_EQ(input_error([&] { open_dataset(options_for(csv, "parquet"), tok.get()); }),
            "unknown dataset kind \"parquet\" (kinds: auto, text, windows, jsonl, tokens, tagged)");
  EXPECT_EQ(open_dataset(options_for(csv, "text"), tok.get())->describe(), "text");

  const std::string missing = dir.file("nope.txt");
  EXPECT_EQ(input_error([&] { open_dataset(options_for(missing), tok.get()); }),
            missing + ": no such dataset file");
  EXPECT_EQ(input_error([&] { open_dataset(options_for(dir.path().string()), tok.get()); }),
            dir.path().string() + ": is a directory, not a dataset file");
  EXPECT_EQ(input_error([&] { open_dataset(options_for(dir.file("a.TXT")), nullptr); }),
            dir.file("a.TXT") + ": dataset kind text needs a tokenizer");
  DatasetOptions fields = options_for(dir.file("a.TXT"));
  fields.label_fields = {"y"};
  EXPECT_NE(input_error([&] { open_dataset(fields, tok.get()); }).find("label fields need a jsonl dataset"),
            std::string::npos);
  DatasetOptions twice = options_for(dir.file("a.tagged"));
  twice.rules = {"starts_word", "starts_word"};
  EXPECT_EQ(input_error([&] { open_dataset(twice, tok.get()); }),
            dir.file("a.tagged") + ": two label columns are named \"starts_word\"");
}

// --- label files ---

TEST_F(DatasetsTest, LabelFilesAlignWithExamples) {
  const std::string data = dir.file("s.txt");
  write_file(data, "the cat\n\nthe dog\nHi\n");
  write_file(dir.file("animal.txt"), "cat\ndog\n none \n");
  write_file(dir.file("len.txt"), "2\n2.5\n-1e1\n");
  DatasetOptions o = options_for(data);
  o.rules = {"starts_word"};
  o.label_files = {"animal=" + dir.file("animal.txt"), dir.file("len.txt")};
  auto d = open_dataset(o, tok.get());
  EXPECT_EQ(d->describe(), "text rules=starts_word label_files=animal=animal.txt,len=len.txt");
  ASSERT_EQ(d->labels().size(), 3u);
  EXPECT_EQ(d->labels()[1].name, "animal");
  EXPECT_EQ(d->labels()[1].kind, LabelColumn::Kind::SequenceClass);
  EXPECT_EQ(d->labels()[1].classes,
            (std::vector<std::string>{"cat", "dog", "none"}));  // known before reading
  EXPECT_EQ(d->labels()[2].name, "len");
  EXPECT_EQ(d->labels()[2].kind, LabelColumn::Kind::SequenceNumber);
  const auto all = read_all(*d);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].text, "the dog");
  EXPECT_EQ(all[1].sequence_values[1], 1);
  EXPECT_EQ(all[1].sequence_values[2], 2.5);
  EXPECT_EQ(all[2].sequence_values[1], 2);
  EXPECT_EQ(all[2].sequence_values[2], -10);
  ASSERT_EQ(all[2].token_classes.size(), 3u);
  EXPECT_TRUE(all[2].token_classes[1].empty());
  d->rewind();
  expect_same(read_all(*d), all);
}

TEST_F(DatasetsTest, LabelFileRowCountMismatch) {
  const std::string data = dir.file("s.txt");
  write_file(data, "the cat\nthe dog\nthe cat sat\n");
  const std::string labels = dir.file("y.txt");
  DatasetOptions o = options_for(data);
  o.label_files = {"y=" + labels};
  // Countable kinds: caught at open, before any work.
  write_file(labels, "1\n2\n");
  EXPECT_EQ(input_error([&] { open_dataset(o, tok.get()); }), labels + ": 2 labels for 3 examples");
  write_file(labels, "1\n2\n3\n4\n");
  EXPECT_EQ(input_error([&] { open_dataset(o, tok.get()); }), labels + ": 4 labels for 3 examples");
  write_file(labels, "1\n\n3\n");
  EXPECT_EQ(input_error([&] { open_dataset(o, tok.get()); }),
            labels + ":2: empty label (a label file has one value per line, line i labelling example i)");

  // Windows cannot be counted up front: caught on the first unlabelled window, or at the end.
  DatasetOptions w = options_for(data, "windows");
  w.window = 2;  // BOS + one token
  const size_t windows = read_all(*open_dataset(w, tok.get())).size();
  ASSERT_GT(windows, 5u);
  w.label_files = {"y=" + labels};
  write_file(labels, "1\n2\n3\n");
  auto d = open_dataset(w, tok.get());
  EXPECT_EQ(input_error([&] { read_all(*d); }),
            labels + ": 3 labels for " + std::to_string(windows) + " examples");
  std::string many;
  for (size_t i = 0; i < windows + 2; ++i) many += "0\n";
  write_file(labels, many);
  auto d2 = open_dataset(w, tok.get());
  EXPECT_EQ(input_error([&] { read_all(*d2); }), labels + ": " + std::to_string(windows + 2) +
                                                     " labels for " + std::to_string(windows) + " examples");

  o.label_files = {"=" + labels};
  EXPECT_NE(input_error([&] { open_dataset(o, tok.get()); }).find("expected NAME=PATH"), std::string::npos);
  o.label_files = {"y=" + dir.file("missing.txt")};
  EXPECT_EQ(input_error([&] { open_dataset(o, tok.get()); }),
            dir.file("missing.txt") + ": no such label file");
}

// --- hostile inputs (issue 7) ---

// A FIFO blocked the reader forever; /dev/zero has no line end and never ends.
TEST_F(DatasetsTest, SpecialFilesAreRefusedAtOpen) {
  const std::string fifo = dir.file("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string kind : {"text", "windows", "jsonl", "tokens", "tagged"}) {
    DatasetOptions o = options_for(fifo, kind);
    o.max_tokens = 8;
    EXPECT_EQ(input_error([&] { open_dataset(o, tok.get()); }),
              fifo + ": the dataset file is a FIFO (named pipe), not a regular file")
        << kind;
  }
  EXPECT_CONTAINS(input_error([&] { open_dataset(options_for("/dev/zero", "text"), tok.get()); }),
                  "/dev/zero: the dataset file is a character device");
  EXPECT_CONTAINS(input_error([&] { LineReader r(fifo); }), "FIFO");
  EXPECT_CONTAINS(input_error([&] { DocumentChunker c(fifo); }), "FIFO");
  const std::string data = dir.file("d.txt");
  write_file(data, "the cat\n");
  DatasetOptions o = options_for(data);
  o.label_files = {"y=" + fifo};
  EXPECT_EQ(input_error([&] { open_dataset(o, tok.get()); }),
            fifo + ": the label file is a FIFO (named pipe), not a regular file");
}

TEST_F(DatasetsTest, OneLineCannotTakeUnboundedMemory) {
  const std::string path = dir.file("long.txt");
  write_file(path, "the cat\r\n" + std::string(100, 'a') + "\r\n" + std::string(101, 'b') + "\n");
  DatasetOptions o = options_for(path);
  o.max_line_bytes = 100;
  auto d = open_dataset(o, tok.get());
  Example e;
  ASSERT_TRUE(d->next(e));
  ASSERT_TRUE(d->next(e));  // exactly at the limit, its "\r\n" not counted
  EXPECT_EQ(e.text, std::string(100, 'a'));
  EXPECT_EQ(
      input_error([&] { d->next(e); }),
      path + ":3: line is longer than max_line_bytes = 100 bytes (not a text file, or a missing line end?)");
  // The same for a file with no line end at all, and for the quick count at open.
  write_file(path, std::string(5000, 'x'));
  o.label_files.clear();
  EXPECT_CONTAINS(input_error([&] { open_dataset(o, tok.get())->count_examples(); }),
                  path + ":1: line is longer");
  // Lines bigger than the reader's 64 KiB block still come back whole.
  write_file(path, std::string(200000, 'x') + "\nthe cat\n");
  o.max_line_bytes = 200000;
  LineReader r(path, o.max_line_bytes);
  std::string line;
  ASSERT_TRUE(r.next(line));
  EXPECT_EQ(line.size(), 200000u);
  ASSERT_TRUE(r.next(line));
  EXPECT_EQ(line, "the cat");
  EXPECT_FALSE(r.next(line));
}

// Truncation tokenises a prefix of a long line, not the whole line; the kept tokens must be the ones
// whole-line tokenisation keeps.
TEST_F(DatasetsTest, TruncatedLongLineKeepsTheSameTokens) {
  std::string line;
  const char* words[] = {"the", "cat", "sat", "walked", "dog", "\"Hi,\"", "she", "said.", "xyz", "12"};
  for (int i = 0; line.size() < 300000; ++i) line += std::string(words[(i * 7) % 10]) + (i % 13 ? " " : "  ");
  const std::string path = dir.file("long.txt");
  write_file(path, line + "\n");
  for (int max_tokens : {5, 64, 1000}) {
    DatasetOptions o = options_for(path);
    o.max_tokens = max_tokens;
    o.truncate = true;
    o.rules = {"starts_word"};
    Example e;
    ASSERT_TRUE(open_dataset(o, tok.get())->next(e));
    const std::vector<TokenSpan> whole = tok->encode_with_offsets(line, true);
    ASSERT_EQ(e.tokens.size(), static_cast<size_t>(max_tokens));
    for (int t = 0; t < max_tokens; ++t) EXPECT_EQ(e.tokens[t], whole[t].id) << "token " << t;
    EXPECT_EQ(e.text, line.substr(0, whole[max_tokens - 1].end));
    o.truncate = false;
    EXPECT_CONTAINS(input_error([&] { open_dataset(o, tok.get())->next(e); }),
                    path + ":1: example has more than ");
  }
}

// nlohmann throws out_of_range (not parse_error) for 1e999: it escaped without file or line, as exit 3.
TEST_F(DatasetsTest, JsonlNumberOverflowNamesFileAndLine) {
  const std::string path = dir.file("d.jsonl");
  write_file(path, "{\"text\": \"the cat\", \"y\": 1}\n{\"text\": \"the cat\", \"y\": 1e999}\n");
  DatasetOptions o = options_for(path);
  o.label_fields = {"y"};
  auto d = open_dataset(o, tok.get());
  Example e;
  ASSERT_TRUE(d->next(e));
  EXPECT_CONTAINS(input_error([&] { d->next(e); }), path + ":2: invalid JSON: number overflow");
}

// A class name too long to store was reported against the output file.
TEST_F(DatasetsTest, TooLongClassNamesNameTheInputLine) {
  const std::string long_name(257, 'x');
  const std::string jsonl = dir.file("d.jsonl");
  write_file(jsonl,
             "{\"text\": \"the cat\", \"y\": \"a\"}\n{\"text\": \"the\", \"y\": \"" + long_name + "\"}\n");
  DatasetOptions o = options_for(jsonl);
  o.label_fields = {"y"};
  auto d = open_dataset(o, tok.get());
  Example e;
  ASSERT_TRUE(d->next(e));
  EXPECT_CONTAINS(input_error([&] { d->next(e); }),
                  jsonl + ":2: class name of label column \"y\" is longer than 256");
  const std::string tags = dir.file("d.tags");
  write_file(tags, "the/DT cat/" + long_name + "\n");
  auto t = open_dataset(options_for(tags), tok.get());
  EXPECT_CONTAINS(input_error([&] { t->next(e); }), tags + ":1: class name");
  const std::string text = dir.file("t.txt");
  write_file(text, "the cat\nthe dog\n");
  const std::string labels = dir.file("y.txt");
  write_file(labels, "a\n" + long_name + "\n");
  DatasetOptions l = options_for(text);
  l.label_files = {"y=" + labels};
  EXPECT_CONTAINS(input_error([&] { open_dataset(l, tok.get()); }), labels + ":2: class name");
  // 256 bytes fit.
  write_file(labels, "a\n" + std::string(256, 'x') + "\n");
  EXPECT_NO_THROW(read_all(*open_dataset(l, tok.get())));
}

}  // namespace
}  // namespace resid
