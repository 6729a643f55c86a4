// GGUF v3: the real stories260K conversion by llama.cpp, llama.cpp's tokenizer vectors through a GGUF
// vocabulary, write/read round trips, and malformed files (each must give a FormatError naming the file and
// the problem).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/error.h"
#include "core/formats/gguf.h"
#include "core/init.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "core/transformer.h"
#include "core/weights.h"
#include "test_support.h"

namespace resid {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr const char* kStories = "models/stories260K/stories260K.gguf";
constexpr const char* kVocabGguf = "models/llama2-tokenizer/ggml-vocab-llama-spm.gguf";
constexpr const char* kPrompt = "Once upon a time, there was a little girl named Lily.";

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const Bytes& b) {
  // Unlink rather than truncate: ext4 flushes a truncated-and-rewritten file on close (auto_da_alloc), which
  // made the corruption loops below wait on the disk.
  fs::remove(path);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<int32_t> parse_ids(const std::string& line) {
  std::istringstream in(line);
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

RowMatrix all_logits(const Transformer& t, const std::vector<int32_t>& ids) {
  ForwardOptions options;
  options.logits = LogitsAt::All;
  return t.forward(TokenBatch::single(ids), options);
}

std::vector<int32_t> some_tokens(int vocab, int n) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back((i * 37 + 11) % vocab);
  return ids;
}

float max_abs_diff(const RowMatrix& a, const RowMatrix& b) {
  return (a - b).cwiseAbs().maxCoeff();
}

// Runs `f`, which must throw FormatError; returns its message (or "" after recording a failure).
std::string format_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected FormatError, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected FormatError, nothing was thrown";
  return "";
}

// load_gguf(path) must fail with a one-line message naming the file and containing every fragment.
void expect_load_error(const std::string& path, const std::vector<std::string>& fragments) {
  const std::string msg = format_error([&] { load_gguf(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const std::string& f : fragments)
    EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
}

// ---- locating fields in a written file, for targeted corruption ----

// Offset just past the first u64-length-prefixed occurrence of `s`.
size_t after_string(const Bytes& b, const std::string& s) {
  std::string needle(8, '\0');
  const uint64_t n = s.size();
  std::memcpy(needle.data(), &n, 8);
  needle += s;
  auto it = std::search(b.begin(), b.end(), needle.begin(), needle.end());
  if (it == b.end()) throw std::runtime_error("test setup: '" + s + "' not in the file");
  return static_cast<size_t>(it - b.begin()) + needle.size();
}

template <typename T>
void put(Bytes& b, size_t offset, T v) {
  std::memcpy(b.data() + offset, &v, sizeof v);
}

template <typename T>
T get(const Bytes& b, size_t offset) {
  T v;
  std::memcpy(&v, b.data() + offset, sizeof v);
  return v;
}

// Field offsets of a tensor info: n_dims, then ne[], then type and offset.
struct InfoFields {
  size_t n_dims, ne, type, offset;
};
InfoFields info_fields(const Bytes& b, const std::string& tensor) {
  const size_t at = after_string(b, tensor);
  const uint32_t n = get<uint32_t>(b, at);
  return {at, at + 4, at + 4 + 8 * n, at + 8 + 8 * n};
}

// ---- a tiny model written by write_gguf, the base of the round-trip and corruption tests ----

class GgufTiny : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::tiny_config();
    weights_ = random_weights(config_, 7);
    path_ = dir_.file("tiny.gguf");
    write_gguf(path_, config_, weights_);
    bytes_ = read_bytes(path_);
  }
  // Writes `b` to a new file and returns its path.
  std::string corrupt(const Bytes& b, const std::string& name) {
    const std::string p = dir_.file(name);
    write_bytes(p, b);
    return p;
  }

  testing::TempDir dir_;
  Config config_;
  TransformerWeights weights_;
  std::string path_;
  Bytes bytes_;
};

// ---- the real model ----

TEST(GgufStories, LoadsConfigAndTensorTable) {
  RESID_REQUIRE_SHARED(path, kStories);
  const LoadedModel m = load_gguf(path);
  ASSERT_TRUE(m.transformer);
  const Config& c = m.transformer->config();
  EXPECT_EQ(c.d_model, 64);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.d_head, 8);
  EXPECT_EQ(c.d_mlp, 172);
  EXPECT_EQ(c.d_vocab, 512);
  EXPECT_EQ(c.n_ctx, 128);
  EXPECT_FLOAT_EQ(c.eps, 1e-5f);
  EXPECT_EQ(c.rotary_base, 10000.0f);
  EXPECT_EQ(c.rotary_style, RotaryStyle::Interleaved);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_EQ(m.format, ModelFormat::Gguf);
  EXPECT_EQ(m.format_detail, "GGUF v3");
  ASSERT_EQ(m.tensors.size(), 48u);
  for (const TensorRecord& t : m.tensors) {
    EXPECT_EQ(t.dtype, DType::F32) << t.name;
    EXPECT_TRUE(t.mapped) << t.name;
  }
  EXPECT_EQ(m.tensors[0].name, "token_embd.weight");
  EXPECT_EQ(m.tensors[0].shape, (std::vector<int64_t>{512, 64}));
  auto down = std::find_if(m.tensors.begin(), m.tensors.end(),
                           [](const TensorRecord& t) { return t.name == "blk.0.ffn_down.weight"; });
  ASSERT_NE(down, m.tensors.end());
  EXPECT_EQ(down->shape, (std::vector<int64_t>{64, 172}));  // PyTorch order: ne was [172, 64]
  ASSERT_TRUE(m.tokenizer);
  EXPECT_EQ(m.tokenizer->vocab_size(), 512);
  EXPECT_EQ(m.tokenizer->bos_id(), 1);
  EXPECT_EQ(m.tokenizer->eos_id(), 2);
  EXPECT_FALSE(m.notes.empty());
}

TEST(GgufStories, DetectedByLoadModel) {
  RESID_REQUIRE_SHARED(path, kStories);
  EXPECT_EQ(detect_format(path), ModelFormat::Gguf);
}

TEST(GgufStories, LogitsMatchReference) {
  RESID_REQUIRE_SHARED(path, kStories);
  RESID_REQUIRE_SHARED(tokens_path, "models/stories260K/reference/once_upon_a_time.tokens.txt");
  RESID_REQUIRE_SHARED(logits_path, "models/stories260K/reference/once_upon_a_time.logits.f32");
  const std::vector<int32_t> ids = parse_ids(read_text(tokens_path));
  ASSERT_EQ(ids.size(), 16u);
  const Bytes raw = read_bytes(logits_path);
  ASSERT_EQ(raw.size(), 16u * 512 * 4);
  RowMatrix expected(16, 512);
  std::memcpy(expected.data(), raw.data(), raw.size());

  const LoadedModel m = load_gguf(path);
  const RowMatrix got = all_logits(*m.transformer, ids);
  ASSERT_EQ(got.rows(), 16);
  ASSERT_EQ(got.cols(), 512);
  EXPECT_LT(max_abs_diff(got, expected), 1e-4f);
}

TEST(GgufStories, EmbeddedTokenizerEncodesPrompt) {
  RESID_REQUIRE_SHARED(path, kStories);
  RESID_REQUIRE_SHARED(tokens_path, "models/stories260K/reference/once_upon_a_time.tokens.txt");
  const std::vector<int32_t> want = parse_ids(read_text(tokens_path));
  const std::unique_ptr<Tokenizer> tok = load_gguf_tokenizer(path);
  const std::vector<int> got = tok->encode(kPrompt, /*add_bos=*/true);
  EXPECT_EQ(std::vector<int32_t>(got.begin(), got.end()), want);
  EXPECT_EQ(tok->piece(1), "<s>");
}

TEST(GgufStories, MetadataGetters) {
  RESID_REQUIRE_SHARED(path, kStories);
  const GgufFile g(path);
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.keys().size(), 19u);
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_EQ(g.get_uint("llama.block_count"), 5u);
  EXPECT_NEAR(g.get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
  const std::vector<std::string> tokens = g.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(g.get_float_array("tokenizer.ggml.scores").size(), 512u);
  const std::vector<int64_t> types = g.get_int_array("tokenizer.ggml.token_type");
  ASSERT_EQ(types.size(), 512u);
  EXPECT_EQ(types[0], 2);  // unknown
  EXPECT_EQ(types[1], 3);  // control
  EXPECT_EQ(types[3], 6);  // byte
  EXPECT_EQ(g.describe("tokenizer.ggml.tokens"), "[512 x string]");
  EXPECT_EQ(g.describe("llama.embedding_length"), "64");
  ASSERT_EQ(g.tensors().size(), 48u);
  const GgufTensorInfo* q = g.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->ne, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(g.find_tensor("blk.0.attn_k.weight")->shape(), (std::vector<int64_t>{32, 64}));

  const std::string msg = format_error([&] { g.get_string("llama.block_count"); });
  EXPECT_NE(msg.find("llama.block_count"), std::string::npos) << msg;
  EXPECT_NE(msg.find("u32"), std::string::npos) << msg;
  const std::string missing = format_error([&] { g.get_uint("llama.no_such_key"); });
  EXPECT_NE(missing.find("missing required metadata key 'llama.no_such_key'"), std::string::npos) << missing;
}

// ---- llama.cpp's tokenizer test vectors through the GGUF vocabulary ----

TEST(GgufTokenizer, LlamaCppVocabTestVectors) {
  RESID_REQUIRE_SHARED(vocab, kVocabGguf);
  RESID_REQUIRE_SHARED(inp, std::string(kVocabGguf) + ".inp");
  RESID_REQUIRE_SHARED(out, std::string(kVocabGguf) + ".out");
  // .inp: each test string is followed by "\n__ggml_vocab_test__\n" (the string itself may contain newlines).
  const std::string text = read_text(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = text.find(sep, pos);
    ASSERT_NE(end, std::string::npos) << "unterminated case at byte " << pos;
    cases.push_back(text.substr(pos, end - pos));
    pos = end + sep.size();
  }
  // .out: one line of ids (no BOS) per case.
  std::vector<std::vector<int32_t>> expected;
  std::istringstream lines(read_text(out));
  for (std::string line; std::getline(lines, line);) expected.push_back(parse_ids(line));
  ASSERT_EQ(cases.size(), 46u);
  ASSERT_EQ(expected.size(), cases.size());

  const std::unique_ptr<Tokenizer> tok = load_gguf_tokenizer(vocab);
  EXPECT_EQ(tok->vocab_size(), 32000);
  int failures = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<int> got = tok->encode(cases[i], /*add_bos=*/false);
    const std::vector<int32_t> got32(got.begin(), got.end());
    EXPECT_EQ(got32, expected[i]) << "case " << i << ": '" << cases[i] << "'";
    failures += got32 != expected[i];
  }
  EXPECT_EQ(failures, 0);
}

TEST(GgufTokenizer, VocabOnlyFileIsNotAModel) {
  RESID_REQUIRE_SHARED(vocab, kVocabGguf);
  expect_load_error(vocab, {"token_embd.weight"});
}

TEST(GgufTokenizer, NonSentencePieceVocabularyIsRefused) {
  RESID_REQUIRE_SHARED(vocab, kVocabGguf);
  testing::TempDir dir;
  Bytes b = read_bytes(vocab);
  // "llama" -> "gpt2x" in tokenizer.ggml.model's value (same length, so nothing moves).
  const size_t value = after_string(b, "tokenizer.ggml.model") + 4;
  ASSERT_EQ(get<uint64_t>(b, value), 5u);
  std::memcpy(b.data() + value + 8, "gpt2x", 5);
  const std::string path = dir.file("gpt2.gguf");
  write_bytes(path, b);
  const std::string msg = format_error([&] { load_gguf_tokenizer(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("gpt2x"), std::string::npos) << msg;
}

// ---- round trips ----

void expect_same_config(const Config& a, const Config& b) {
  EXPECT_EQ(a.d_model, b.d_model);
  EXPECT_EQ(a.n_layers, b.n_layers);
  EXPECT_EQ(a.n_heads, b.n_heads);
  EXPECT_EQ(a.n_kv_heads, b.n_kv_heads);
  EXPECT_EQ(a.d_head, b.d_head);
  EXPECT_EQ(a.d_mlp, b.d_mlp);
  EXPECT_EQ(a.d_vocab, b.d_vocab);
  EXPECT_EQ(a.n_ctx, b.n_ctx);
  EXPECT_EQ(a.eps, b.eps);
  EXPECT_EQ(a.rotary_base, b.rotary_base);
  EXPECT_EQ(a.tied_embeddings, b.tied_embeddings);
  EXPECT_TRUE(a.gated_mlp == b.gated_mlp && a.act_fn == b.act_fn);
}

// Writes a random model with `config` as `dtype`, loads it back, and returns (original, loaded) logits.
// The file stays in `dir`.
std::pair<RowMatrix, RowMatrix> round_trip(const testing::TempDir& dir, const Config& config, DType dtype,
                                           LoadedModel* loaded_out = nullptr) {
  const TransformerWeights w = random_weights(config, 42);
  const Transformer original(config, w, "random");
  const std::string path = dir.file("m.gguf");
  write_gguf(path, config, w, nullptr, dtype);
  LoadedModel loaded = load_gguf(path);
  expect_same_config(loaded.transformer->config(), config);
  const std::vector<int32_t> ids = some_tokens(config.d_vocab, 12);
  std::pair<RowMatrix, RowMatrix> out{all_logits(original, ids), all_logits(*loaded.transformer, ids)};
  if (loaded_out) *loaded_out = std::move(loaded);
  return out;
}

TEST(GgufRoundTrip, F32UntiedIsBitIdentical) {
  LoadedModel m;
  const auto [a, b] = round_trip(testing::TempDir(), testing::tiny_config(), DType::F32, &m);
  EXPECT_TRUE(a == b) << "max diff " << max_abs_diff(a, b);
  EXPECT_FALSE(m.transformer->config().tied_embeddings);
  for (const TensorRecord& t : m.tensors) EXPECT_TRUE(t.mapped && t.dtype == DType::F32) << t.name;
  EXPECT_FALSE(m.tokenizer);
}

TEST(GgufRoundTrip, F32TiedIsBitIdentical) {
  Config c = testing::tiny_config();
  c.tied_embeddings = true;
  LoadedModel m;
  const auto [a, b] = round_trip(testing::TempDir(), c, DType::F32, &m);
  EXPECT_TRUE(a == b) << "max diff " << max_abs_diff(a, b);
  const TransformerWeights& w = m.transformer->weights();
  EXPECT_EQ(w.unembed.data, w.embed.data);
  for (const TensorRecord& t : m.tensors) EXPECT_NE(t.name, "output.weight");
}

TEST(GgufRoundTrip, F16IsClose) {
  LoadedModel m;
  const auto [a, b] = round_trip(testing::TempDir(), testing::tiny_config(), DType::F16, &m);
  EXPECT_LT(max_abs_diff(a, b), 2e-3f * a.cwiseAbs().maxCoeff());
  for (const TensorRecord& t : m.tensors) {
    EXPECT_EQ(t.dtype, t.shape.size() == 1 ? DType::F32 : DType::F16) << t.name;
    EXPECT_EQ(t.mapped, t.shape.size() == 1) << t.name;
  }
}

TEST(GgufRoundTrip, BF16IsClose) {
  const auto [a, b] = round_trip(testing::TempDir(), testing::tiny_config(), DType::BF16);
  EXPECT_LT(max_abs_diff(a, b), 1e-2f * a.cwiseAbs().maxCoeff());
}

TEST(GgufRoundTrip, Q8_0IsClose) {
  testing::TempDir dir;
  LoadedModel m;
  const auto [a, b] = round_trip(dir, testing::tiny_config(), DType::Q8_0, &m);
  EXPECT_LT(max_abs_diff(a, b), 2e-2f * a.cwiseAbs().maxCoeff());
  EXPECT_GT(max_abs_diff(a, b), 0.0f);  // it really was quantised
  for (const TensorRecord& t : m.tensors)
    EXPECT_EQ(t.dtype, t.shape.size() == 1 ? DType::F32 : DType::Q8_0) << t.name;
  const GgufFile g(m.path);
  EXPECT_EQ(g.get_uint("general.file_type"), 7u);
  EXPECT_EQ(g.get_uint("general.quantization_version"), 2u);
}

TEST(GgufRoundTrip, Q8_0FallsBackToF16ForRowsThatAreNotWholeBlocks) {
  Config c = testing::tiny_config();
  c.d_mlp = 72;  // ffn_down rows are 72 long
  LoadedModel m;
  const auto [a, b] = round_trip(testing::TempDir(), c, DType::Q8_0, &m);
  EXPECT_LT(max_abs_diff(a, b), 2e-2f * a.cwiseAbs().maxCoeff());
  for (const TensorRecord& t : m.tensors) {
    const DType want = t.shape.size() == 1                   ? DType::F32
                       : t.name.ends_with("ffn_down.weight") ? DType::F16
                                                             : DType::Q8_0;
    EXPECT_EQ(t.dtype, want) << t.name;
  }
}

TEST(GgufRoundTrip, Q8_0ValuesMatchTheBlockFormula) {
  // One block by hand: scale = max|x| / 127, q = round(x / scale); the largest magnitude maps to +-127.
  Config c = testing::tiny_config();
  testing::TempDir dir;
  const TransformerWeights w = random_weights(c, 3);
  write_gguf(dir.file("q.gguf"), c, w, nullptr, DType::Q8_0);
  const GgufFile g(dir.file("q.gguf"));
  const Tensor q = g.tensor("blk.0.attn_v.weight");
  const float* x = w.layers[0].w_v.data;
  float amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float scale = f16_to_f32(f32_to_f16(amax / 127.0f));
  for (int j = 0; j < 32; ++j) EXPECT_NEAR(q.data[j], x[j], 0.5f * scale * 1.01f) << j;
}

TEST(GgufRoundTrip, HalfStyleQkRowsArePermutedToInterleaved) {
  Config c = testing::tiny_config();
  c.rotary_style = RotaryStyle::Half;
  testing::TempDir dir;
  const TransformerWeights w = random_weights(c, 5);
  const Transformer original(c, w, "random");
  write_gguf(dir.file("h.gguf"), c, w);
  const LoadedModel m = load_gguf(dir.file("h.gguf"));
  EXPECT_EQ(m.transformer->config().rotary_style, RotaryStyle::Interleaved);
  // Head 1 of w_k: interleaved row 2i + p is Half row p * d/2 + i.
  const int d = c.d_head;
  const Tensor& k = m.transformer->weights().layers[0].w_k;
  for (int i = 0; i < d / 2; ++i)
    for (int p = 0; p < 2; ++p)
      EXPECT_EQ(k.data[(d + 2 * i + p) * c.d_model], w.layers[0].w_k.data[(d + p * d / 2 + i) * c.d_model]);
  const std::vector<int32_t> ids = some_tokens(c.d_vocab, 12);
  const RowMatrix a = all_logits(original, ids), b = all_logits(*m.transformer, ids);
  EXPECT_LT(max_abs_diff(a, b), 1e-5f * std::max(1.0f, a.cwiseAbs().maxCoeff()));
}

TEST(GgufRoundTrip, DHeadOtherThanDModelOverHeads) {
  Config c = testing::tiny_config();
  c.d_head = 32;  // 4 heads of 32 on a 64-wide stream
  const auto [a, b] = round_trip(testing::TempDir(), c, DType::F32);
  EXPECT_TRUE(a == b);
}

// A small hand-made SentencePiece vocabulary, so the tokenizer round trip needs nothing from ../shared.
SpmVocab small_vocab() {
  SpmVocab v;
  v.pieces = {"<unk>",
              "<s>",
              "</s>",
              "\xe2\x96\x81",
              "a",
              "b",
              "c",
              "\xe2\x96\x81"
              "a",
              "ab",
              "abc",
              "<0x0A>"};
  v.scores = {0, 0, 0, -1, -2, -3, -4, -1.5f, -0.5f, -0.25f, 0};
  v.types = {PieceType::Unknown, PieceType::Control, PieceType::Control, PieceType::Normal,
             PieceType::Normal,  PieceType::Normal,  PieceType::Normal,  PieceType::Normal,
             PieceType::Normal,  PieceType::Normal,  PieceType::Byte};
  return v;
}

TEST(GgufRoundTrip, TokenizerVocabularyIsEmbedded) {
  const SpmVocab v = small_vocab();
  const SpmTokenizer tok(v, "hand-made");
  Config c = testing::tiny_config();
  c.d_vocab = static_cast<int>(v.pieces.size());
  testing::TempDir dir;
  const std::string path = dir.file("t.gguf");
  write_gguf(path, c, random_weights(c, 1), &tok);

  const GgufFile g(path);
  EXPECT_EQ(g.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(g.get_string_array("tokenizer.ggml.tokens"), v.pieces);
  EXPECT_EQ(g.get_float_array("tokenizer.ggml.scores"), v.scores);
  const std::vector<int64_t> types = g.get_int_array("tokenizer.ggml.token_type");
  for (size_t i = 0; i < types.size(); ++i) EXPECT_EQ(types[i], static_cast<int64_t>(v.types[i])) << i;

  const LoadedModel m = load_gguf(path);
  ASSERT_TRUE(m.tokenizer);
  EXPECT_EQ(m.tokenizer->vocab_size(), c.d_vocab);
  for (const char* text : {"abc", "a b c", "cab ba", "x"})
    EXPECT_EQ(m.tokenizer->encode(text, true), tok.encode(text, true)) << text;
}

TEST(GgufRoundTrip, StoriesTokenizerSurvivesRewrite) {
  RESID_REQUIRE_SHARED(path, kStories);
  const LoadedModel src = load_gguf(path);
  testing::TempDir dir;
  const std::string out = dir.file("rewritten.gguf");
  write_gguf(out, src.transformer->config(), src.transformer->weights(), src.tokenizer.get());
  const LoadedModel m = load_gguf(out);
  ASSERT_TRUE(m.tokenizer);
  for (int id = 0; id < 512; ++id) ASSERT_EQ(m.tokenizer->piece(id), src.tokenizer->piece(id)) << id;
  EXPECT_EQ(m.tokenizer->encode(kPrompt, true), src.tokenizer->encode(kPrompt, true));
  const std::vector<int32_t> ids = some_tokens(512, 16);
  const RowMatrix before = all_logits(*src.transformer, ids);
  const RowMatrix again = all_logits(*src.transformer, ids);
  ASSERT_TRUE(before == again) << "Transformer::forward is not run-to-run deterministic (max diff "
                               << max_abs_diff(before, again) << "); not a GGUF problem";
  EXPECT_TRUE(all_logits(*m.transformer, ids) == before);
}

// ---- writer failures ----

TEST(GgufWrite, RefusesUnsupportedDtypeAndFfn) {
  testing::TempDir dir;
  Config c = testing::tiny_config();
  const TransformerWeights w = random_weights(c, 1);
  EXPECT_THROW(write_gguf(dir.file("a.gguf"), c, w, nullptr, DType::I8), InputError);
  Config relu = c;
  relu.gated_mlp = false;
  relu.act_fn = ActFn::ReLU;
  EXPECT_THROW(write_gguf(dir.file("b.gguf"), relu, random_weights(relu, 1)), InputError);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(GgufWrite, FailedWriteLeavesDestinationUntouched) {
  testing::TempDir dir;
  const std::string path = dir.file("model.gguf");
  write_bytes(path, Bytes{'o', 'l', 'd'});
  const SpmVocab v = small_vocab();
  const SpmTokenizer tok(v, "hand-made");
  Config c = testing::tiny_config();  // d_vocab 128 != 11 pieces
  EXPECT_THROW(write_gguf(path, c, random_weights(c, 1), &tok), InputError);
  EXPECT_EQ(read_bytes(path), (Bytes{'o', 'l', 'd'}));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

  const std::string nowhere = dir.file("no/such/dir/model.gguf");
  const std::string msg = format_error([&] { write_gguf(nowhere, c, random_weights(c, 1)); });
  EXPECT_NE(msg.find(nowhere), std::string::npos) << msg;
}

// ---- malformed files ----

TEST_F(GgufTiny, TruncatedAnywhere) {
  const GgufFile g(path_);
  const size_t data = g.data_offset();
  const size_t name = after_string(bytes_, "general.name");
  const size_t info = after_string(bytes_, "blk.1.ffn_up.weight");
  for (size_t cut : {size_t{0}, size_t{3}, size_t{6}, size_t{20}, size_t{30}, name - 3, name + 10, info + 2,
                     data - 1, data, data + 100, bytes_.size() / 2, bytes_.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    const std::string p = corrupt(Bytes(bytes_.begin(), bytes_.begin() + cut), "cut.gguf");
    expect_load_error(p, {"truncated"});
  }
}

TEST_F(GgufTiny, EveryPrefixOfTheHeaderFailsCleanly) {
  const size_t header = GgufFile(path_).data_offset();
  for (size_t cut = 0; cut < header; cut += 7) {
    const std::string p = corrupt(Bytes(bytes_.begin(), bytes_.begin() + cut), "prefix.gguf");
    EXPECT_THROW(load_gguf(p), FormatError) << "cut at " << cut;
  }
}

TEST_F(GgufTiny, WrongMagic) {
  Bytes b = bytes_;
  std::memcpy(b.data(), "GGML", 4);
  expect_load_error(corrupt(b, "magic.gguf"), {"not a GGUF file", "GGML"});
}

TEST_F(GgufTiny, Version2) {
  Bytes b = bytes_;
  put<uint32_t>(b, 4, 2);
  expect_load_error(corrupt(b, "v2.gguf"), {"GGUF version 2 is not supported"});
}

TEST_F(GgufTiny, BigEndianIsNamed) {
  Bytes b = bytes_;
  put<uint32_t>(b, 4, 0x03000000u);
  expect_load_error(corrupt(b, "be.gguf"), {"big-endian"});
}

TEST_F(GgufTiny, TensorOffsetPastTheEnd) {
  for (uint64_t offset : {uint64_t{1} << 40, ~uint64_t{0} - 31}) {
    Bytes b = bytes_;
    put<uint64_t>(b, info_fields(b, "blk.1.ffn_down.weight").offset, offset);
    expect_load_error(corrupt(b, "offset.gguf"), {"blk.1.ffn_down.weight", "runs past the end of the file"});
  }
}

TEST_F(GgufTiny, MisalignedTensorOffset) {
  Bytes b = bytes_;
  const size_t at = info_fields(b, "blk.0.ffn_up.weight").offset;
  put<uint64_t>(b, at, get<uint64_t>(b, at) + 4);
  expect_load_error(corrupt(b, "misaligned.gguf"),
                    {"blk.0.ffn_up.weight", "not a multiple of the alignment"});
}

TEST_F(GgufTiny, UnknownTensorType) {
  for (uint32_t type : {99u, 12u}) {
    Bytes b = bytes_;
    put<uint32_t>(b, info_fields(b, "blk.0.attn_q.weight").type, type);
    expect_load_error(corrupt(b, "type.gguf"), {"blk.0.attn_q.weight", "type " + std::to_string(type)});
  }
}

TEST_F(GgufTiny, WrongShapeForConfig) {
  Bytes b = bytes_;
  const InfoFields f = info_fields(b, "blk.0.attn_k.weight");  // ne {64, 32} -> {32, 64}: same bytes
  put<uint64_t>(b, f.ne, 32);
  put<uint64_t>(b, f.ne + 8, 64);
  expect_load_error(corrupt(b, "shape.gguf"), {"blk.0.attn_k.weight has shape [64, 32], expected [32, 64]"});
}

TEST_F(GgufTiny, TooManyDimensions) {
  Bytes b = bytes_;
  put<uint32_t>(b, info_fields(b, "blk.0.attn_v.weight").n_dims, 5);
  expect_load_error(corrupt(b, "dims.gguf"), {"blk.0.attn_v.weight", "5 dimensions"});
}

TEST_F(GgufTiny, ElementCountOverflow) {
  Bytes b = bytes_;
  const InfoFields f = info_fields(b, "blk.0.attn_v.weight");
  put<uint64_t>(b, f.ne, uint64_t{1} << 40);
  put<uint64_t>(b, f.ne + 8, uint64_t{1} << 40);
  expect_load_error(corrupt(b, "numel.gguf"), {"blk.0.attn_v.weight", "too many elements"});
}

TEST_F(GgufTiny, StringLengthLargerThanTheFile) {
  Bytes b = bytes_;
  put<uint64_t>(b, after_string(b, "general.name") + 4, uint64_t{1} << 40);
  expect_load_error(corrupt(b, "strlen.gguf"),
                    {"general.name", "string length 1099511627776", "larger than the rest"});

  Bytes k = bytes_;  // a key's own length
  put<uint64_t>(k, after_string(k, "llama.block_count") - 17 - 8, ~uint64_t{0});
  expect_load_error(corrupt(k, "keylen.gguf"), {"string length", "larger than the rest"});
}

TEST_F(GgufTiny, MissingRequiredMetadataKey) {
  for (const std::string key : {"llama.embedding_length", "llama.attention.layer_norm_rms_epsilon",
                                "general.architecture", "llama.context_length"}) {
    Bytes b = bytes_;
    b[after_string(b, key) - 1] ^= 0x20;  // rename the key: last letter to upper case
    expect_load_error(corrupt(b, "missing.gguf"), {"missing required metadata key '" + key + "'"});
  }
}

TEST_F(GgufTiny, WrongArchitecture) {
  Bytes b = bytes_;
  const size_t value = after_string(b, "general.architecture") + 4 + 8;
  std::memcpy(b.data() + value, "gptj2", 5);
  expect_load_error(corrupt(b, "arch.gguf"), {"general.architecture", "gptj2"});
}

TEST_F(GgufTiny, MetadataOfWrongType) {
  Bytes b = bytes_;
  put<uint32_t>(b, after_string(b, "llama.block_count"), static_cast<uint32_t>(GgufType::F32));
  expect_load_error(corrupt(b, "kvtype.gguf"), {"llama.block_count", "f32", "expected an integer"});
}

TEST_F(GgufTiny, UnknownMetadataValueType) {
  Bytes b = bytes_;
  put<uint32_t>(b, after_string(b, "llama.block_count"), 77);
  expect_load_error(corrupt(b, "kvtype2.gguf"), {"llama.block_count", "unknown value type 77"});
}

TEST_F(GgufTiny, DuplicateKey) {
  Bytes b = bytes_;
  const std::string key = "general.alignment";  // 17 bytes, as is "llama.block_count"
  std::memcpy(b.data() + after_string(b, key) - key.size(), "llama.block_count", 17);
  expect_load_error(corrupt(b, "dup.gguf"), {"duplicate metadata key 'llama.block_count'"});
}

TEST_F(GgufTiny, AbsurdCounts) {
  Bytes b = bytes_;
  put<uint64_t>(b, 8, uint64_t{1} << 60);  // tensor count
  expect_load_error(corrupt(b, "ntensors.gguf"), {"tensor table", "more than the rest of the file"});
  Bytes k = bytes_;
  put<uint64_t>(k, 16, ~uint64_t{0});  // metadata count
  expect_load_error(corrupt(k, "nkv.gguf"), {"metadata", "more than the rest of the file"});
}

TEST_F(GgufTiny, UnexpectedTensor) {
  // Renaming output.weight makes the model look tied, and leaves a tensor the llama layout does not know.
  Bytes b = bytes_;
  const std::string name = "output.weight";
  std::memcpy(b.data() + after_string(b, name) - name.size(), "output.weighX", name.size());
  expect_load_error(corrupt(b, "extra.gguf"), {"unexpected tensor 'output.weighX'"});
}

TEST_F(GgufTiny, MissingTensor) {
  Bytes b = bytes_;
  const std::string name = "blk.1.ffn_up.weight";
  std::memcpy(b.data() + after_string(b, name) - name.size(), "blk.1.ffn_XX.weight", name.size());
  expect_load_error(corrupt(b, "missing_tensor.gguf"), {"missing tensor 'blk.1.ffn_up.weight'"});
}

TEST_F(GgufTiny, BadAlignment) {
  Bytes b = bytes_;
  put<uint32_t>(b, after_string(b, "general.alignment") + 4, 24);
  expect_load_error(corrupt(b, "align.gguf"), {"general.alignment = 24"});
}

// Random corruption of the header must end in a resid::Error or a valid model, never a crash or a foreign
// exception (bad_alloc, length_error...). A micro model with an embedded vocabulary keeps the file small and
// puts the tokenizer metadata in the line of fire too.
TEST(GgufFuzz, RandomHeaderCorruptionNeverCrashes) {
  const SpmVocab v = small_vocab();
  const SpmTokenizer tok(v, "hand-made");
  Config c;
  c.d_model = 32;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.d_head = 16;
  c.d_mlp = 32;
  c.d_vocab = static_cast<int>(v.pieces.size());
  c.n_ctx = 16;
  testing::TempDir dir;
  const std::string path = dir.file("micro.gguf");
  write_gguf(path, c, random_weights(c, 9), &tok);
  ASSERT_TRUE(load_gguf(path).tokenizer);
  const Bytes bytes = read_bytes(path);
  const size_t header = GgufFile(path).data_offset();

  Rng rng(123);
  int loaded = 0, refused = 0;
  constexpr int kIterations = 1500;
  for (int iter = 0; iter < kIterations; ++iter) {
    Bytes b = bytes;
    const int flips = 1 + static_cast<int>(rng.next_u64() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t at = rng.next_u64() % header;
      b[at] = rng.next_u64() % 3 == 0 ? 0xff : static_cast<uint8_t>(rng.next_u64());
    }
    const std::string p = dir.file("fuzz.gguf");
    write_bytes(p, b);
    try {
      load_gguf(p);
      ++loaded;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "iteration " << iter << ": non-resid exception " << e.what();
    }
  }
  EXPECT_GT(refused, kIterations / 2);
  EXPECT_EQ(loaded + refused, kIterations);
}

// ---- every metadata type, from a hand-built file ----

class RawGguf {
 public:
  template <typename T>
  void kv(const std::string& key, GgufType type, T v) {
    key_header(key, type);
    raw(meta_, &v, sizeof v);
  }
  void kv_string(const std::string& key, const std::string& v) {
    key_header(key, GgufType::String);
    str(meta_, v);
  }
  template <typename T>
  void kv_array(const std::string& key, GgufType element, const std::vector<T>& v) {
    key_header(key, GgufType::Array);
    u32(meta_, static_cast<uint32_t>(element));
    u64(meta_, v.size());
    for (const T& x : v) raw(meta_, &x, sizeof x);
  }
  void kv_string_array(const std::string& key, const std::vector<std::string>& v) {
    key_header(key, GgufType::Array);
    u32(meta_, static_cast<uint32_t>(GgufType::String));
    u64(meta_, v.size());
    for (const std::string& s : v) str(meta_, s);
  }
  void kv_nested(const std::string& key) {  // [[1, 2], [3]] as arrays of u8
    key_header(key, GgufType::Array);
    u32(meta_, static_cast<uint32_t>(GgufType::Array));
    u64(meta_, 2);
    u32(meta_, static_cast<uint32_t>(GgufType::U8));
    u64(meta_, 2);
    meta_ += "\x01\x02";
    u32(meta_, static_cast<uint32_t>(GgufType::U8));
    u64(meta_, 1);
    meta_ += "\x03";
  }
  Bytes build() const {
    std::string out;
    out += "GGUF";
    u32(out, 3);
    u64(out, 0);
    u64(out, n_kv_);
    out += meta_;
    return Bytes(out.begin(), out.end());
  }

 private:
  static void raw(std::string& s, const void* p, size_t n) { s.append(static_cast<const char*>(p), n); }
  static void u32(std::string& s, uint32_t v) { raw(s, &v, 4); }
  static void u64(std::string& s, uint64_t v) { raw(s, &v, 8); }
  static void str(std::string& s, const std::string& v) {
    u64(s, v.size());
    s += v;
  }
  void key_header(const std::string& key, GgufType type) {
    str(meta_, key);
    u32(meta_, static_cast<uint32_t>(type));
    ++n_kv_;
  }
  std::string meta_;
  uint64_t n_kv_ = 0;
};

TEST(GgufMetadata, EveryValueType) {
  RawGguf r;
  r.kv<uint8_t>("t.u8", GgufType::U8, 200);
  r.kv<int8_t>("t.i8", GgufType::I8, -5);
  r.kv<uint16_t>("t.u16", GgufType::U16, 60000);
  r.kv<int16_t>("t.i16", GgufType::I16, -30000);
  r.kv<uint32_t>("t.u32", GgufType::U32, 4000000000u);
  r.kv<int32_t>("t.i32", GgufType::I32, -2000000000);
  r.kv<float>("t.f32", GgufType::F32, 1.5f);
  r.kv<uint8_t>("t.bool", GgufType::Bool, 1);
  r.kv_string("t.string", "h\xc3\xa9llo");
  r.kv<uint64_t>("t.u64", GgufType::U64, uint64_t{1} << 40);
  r.kv<int64_t>("t.i64", GgufType::I64, -(int64_t{1} << 40));
  r.kv<double>("t.f64", GgufType::F64, 0.25);
  r.kv_array<int32_t>("t.i32s", GgufType::I32, {1, -2, 3});
  r.kv_array<uint16_t>("t.u16s", GgufType::U16, {7, 65535});
  r.kv_array<float>("t.f32s", GgufType::F32, {0.5f, -1.0f});
  r.kv_array<double>("t.f64s", GgufType::F64, {2.0});
  r.kv_string_array("t.strings", {"a", "", "\xe2\x96\x81x"});
  r.kv_string_array("t.no_strings", {});
  r.kv_nested("t.nested");
  testing::TempDir dir;
  const std::string path = dir.file("meta.gguf");
  write_bytes(path, r.build());

  const GgufFile g(path);
  EXPECT_EQ(g.keys().size(), 19u);
  EXPECT_EQ(g.keys().front(), "t.u8");
  EXPECT_EQ(g.get_uint("t.u8"), 200u);
  EXPECT_EQ(std::get<int64_t>(g.value("t.i8").scalar), -5);
  EXPECT_EQ(g.get_uint("t.u16"), 60000u);
  EXPECT_EQ(std::get<int64_t>(g.value("t.i16").scalar), -30000);
  EXPECT_EQ(g.get_uint("t.u32"), 4000000000u);
  EXPECT_EQ(std::get<int64_t>(g.value("t.i32").scalar), -2000000000);
  EXPECT_EQ(g.get_float("t.f32"), 1.5);
  EXPECT_TRUE(g.get_bool("t.bool"));
  EXPECT_EQ(g.get_string("t.string"), "h\xc3\xa9llo");
  EXPECT_EQ(g.get_uint("t.u64"), uint64_t{1} << 40);
  EXPECT_EQ(std::get<int64_t>(g.value("t.i64").scalar), -(int64_t{1} << 40));
  EXPECT_EQ(g.get_float("t.f64"), 0.25);
  EXPECT_EQ(g.get_int_array("t.i32s"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(g.get_int_array("t.u16s"), (std::vector<int64_t>{7, 65535}));
  EXPECT_EQ(g.get_float_array("t.f32s"), (std::vector<float>{0.5f, -1.0f}));
  EXPECT_EQ(g.get_float_array("t.f64s"), (std::vector<float>{2.0f}));
  EXPECT_EQ(g.get_string_array("t.strings"), (std::vector<std::string>{"a", "", "\xe2\x96\x81x"}));
  EXPECT_TRUE(g.get_string_array("t.no_strings").empty());
  EXPECT_EQ(g.value("t.nested").element_type, GgufType::Array);
  EXPECT_EQ(g.value("t.nested").count, 2u);
  EXPECT_EQ(g.describe("t.nested"), "[2 x array]");
  EXPECT_EQ(g.describe("t.bool"), "true");
  EXPECT_EQ(g.describe("t.i8"), "-5");
  EXPECT_TRUE(g.tensors().empty());

  EXPECT_THROW(g.get_uint("t.i8"), FormatError);  // negative
  EXPECT_THROW(g.get_float_array("t.i32s"), FormatError);
  EXPECT_THROW(g.get_string_array("t.nested"), FormatError);
  EXPECT_THROW(g.get_bool("t.u8"), FormatError);
}

TEST(GgufMetadata, DeeplyNestedArraysAreRefused) {
  std::string meta;
  auto u32 = [&](uint32_t v) { meta.append(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [&](uint64_t v) { meta.append(reinterpret_cast<const char*>(&v), 8); };
  u64(1);
  meta += "k";
  u32(static_cast<uint32_t>(GgufType::Array));
  for (int i = 0; i < 100; ++i) {
    u32(static_cast<uint32_t>(GgufType::Array));
    u64(1);
  }
  u32(static_cast<uint32_t>(GgufType::U8));
  u64(0);
  std::string file = "GGUF";
  file.append("\x03\0\0\0", 4);
  file.append(std::string("\0\0\0\0\0\0\0\0", 8));
  file.append(std::string("\x01\0\0\0\0\0\0\0", 8));
  file += meta;
  testing::TempDir dir;
  const std::string path = dir.file("nested.gguf");
  write_bytes(path, Bytes(file.begin(), file.end()));
  const std::string msg = format_error([&] { GgufFile{path}; });
  EXPECT_NE(msg.find("nested more than"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(GgufMetadata, SniffsMagic) {
  const uint8_t good[] = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
  const uint8_t bad[] = {'G', 'G', 'M', 'L'};
  EXPECT_TRUE(sniff_gguf(good, sizeof good));
  EXPECT_FALSE(sniff_gguf(bad, sizeof bad));
  EXPECT_FALSE(sniff_gguf(good, 3));
}

}  // namespace
}  // namespace resid
