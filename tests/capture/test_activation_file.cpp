// The HDF5 activation file: round trips per dtype, labels, overwrite/permission errors, resume, SIGKILL
// safety, and reading with h5py the way docs/activation-file-format.md shows.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "capture/activation_file.h"
#include "capture/activation_reader.h"
#include "core/dtype.h"
#include "core/error.h"
#include "test_support.h"

namespace resid {

// Test names and failure messages say "float16" rather than "4-byte object <01-00 00-00>".
void PrintTo(StoreDType t, std::ostream* os) {
  *os << store_dtype_name(t);
}

namespace {

constexpr int64_t kNPos = 6;

// What a capture would hand the writer: file info, hook datasets and label columns.
struct Layout {
  ActivationFileInfo info;
  std::vector<HookDatasetSpec> hooks;
  std::vector<LabelColumn> labels;  // as a dataset starts them: no classes yet except a token column's "none"
};

Layout make_layout() {
  Layout l;
  l.info.resid_version = "0.1.0";
  l.info.model_path = "models/tiny.gguf";
  l.info.model_sha256 = std::string(64, 'a');
  l.info.model_config_json = R"({"d_model": 8, "n_layers": 2})";
  l.info.tokenizer = "embedded";
  l.info.dataset_path = "data/sentences.jsonl";
  l.info.dataset_sha256 = std::string(64, 'b');
  l.info.dataset_description = "jsonl text=text labels=score,sentiment";
  l.info.command_line = "resid capture models/tiny.gguf --dataset 'data/sentences.jsonl'";
  l.info.created = "2025-01-02T03:04:05Z";
  l.info.positions = "all";
  l.info.n_pos = kNPos;
  l.hooks = {{"blocks.0.hook_resid_post", 0, "none", {kNPos, 8}},
             {"blocks.1.mlp.hook_post", 1, "last", {16}},
             {"ln_final.hook_normalized", -1, "mean", {8}}};
  l.labels = {{"score", LabelColumn::Kind::SequenceNumber, {}},
              {"sentiment", LabelColumn::Kind::SequenceClass, {}},
              {"pos", LabelColumn::Kind::TokenClass, {"none"}}};
  return l;
}

uint32_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

// Activation value of element `e` of hook `h` in row `r`: full-mantissa floats, so every f16/bf16 conversion
// rounds; with `specials`, also values that overflow float16, fall into its subnormals or flush to zero, and
// NaNs.
float act_value(int64_t r, size_t h, int64_t e, bool specials) {
  const uint32_t x = mix((static_cast<uint64_t>(r) << 32) ^ (h << 24) ^ static_cast<uint64_t>(e));
  if (specials) {
    switch (x % 61) {
      case 0: return 70000.0f;
      case 1: return -3.1e-7f;
      case 2: return 1e-30f;
      case 3: return -0.0f;
      case 4: return 65519.0f;
      case 5: return std::bit_cast<float>(0x7fc12345u);  // quiet NaN with a payload
      case 6: return std::bit_cast<float>(0xffa00001u);  // negative signalling NaN
      case 7: return 65520.0f;                           // float16's round-to-even tie into infinity
    }
  }
  return (static_cast<float>(x >> 8) / 16777216.0f - 0.5f) * 16.0f;
}

int32_t row_length(int64_t r) {
  return 1 + static_cast<int32_t>(mix(r * 7 + 1) % kNPos);
}

// A batch in append()'s layout.
struct Rows {
  int64_t n = 0;
  std::vector<int32_t> tokens, lengths;
  std::vector<std::vector<double>> sequence;  // indexed by label column
  std::vector<std::vector<int32_t>> token;    // indexed by label column
  std::vector<std::vector<float>> acts;
  std::vector<const float*> act_ptrs() const {
    std::vector<const float*> p;
    for (const auto& a : acts) p.push_back(a.data());
    return p;
  }
};

// Rows [first, first + n). `labels` must have seen rows [0, first): class lists grow in first-seen order, as
// a streaming dataset's do.
Rows make_rows(const Layout& layout, std::vector<LabelColumn>& labels, int64_t first, int64_t n,
               bool specials) {
  static const char* kSentiments[] = {"positive", "negative", "neutral", "mixed", "unsure"};
  static const char* kTags[] = {"NOUN", "VERB", "ADJ", "DET", "PUNCT", "ADV"};
  Rows b;
  b.n = n;
  b.sequence.resize(labels.size());
  b.token.resize(labels.size());
  for (int64_t r = first; r < first + n; ++r) {
    const int32_t len = row_length(r);
    b.lengths.push_back(len);
    for (int64_t j = 0; j < kNPos; ++j)
      b.tokens.push_back(j < len ? static_cast<int32_t>(mix(r * 131 + j) % 5000) : -1);
    b.sequence[0].push_back(r * 0.25 - 7.0);
    const uint32_t s = mix(r * 17 + 3);
    b.sequence[1].push_back(
        s % 13 == 0 ? -1.0 : labels[1].class_id(kSentiments[s % std::min<int64_t>(5, 1 + r / 3)]));
    for (int64_t j = 0; j < kNPos; ++j) {
      const uint32_t t = mix(r * 1000 + j * 7 + 5);
      if (j >= len) {
        b.token[2].push_back(-1);
      } else {
        b.token[2].push_back(t % 4 == 0 ? 0 : labels[2].class_id(kTags[t % std::min<int64_t>(6, 1 + r / 4)]));
      }
    }
  }
  for (size_t h = 0; h < layout.hooks.size(); ++h) {
    int64_t elems = 1;
    for (int64_t d : layout.hooks[h].row_shape) elems *= d;
    std::vector<float> a;
    a.reserve(n * elems);
    for (int64_t r = first; r < first + n; ++r)
      for (int64_t e = 0; e < elems; ++e) a.push_back(act_value(r, h, e, specials));
    b.acts.push_back(std::move(a));
  }
  return b;
}

// The label columns with every class rows [0, rows) use, in first-seen order: what a capture's first pass
// over its dataset gives the writer.
std::vector<LabelColumn> full_labels(const Layout& layout, int64_t rows) {
  std::vector<LabelColumn> labels = layout.labels;
  make_rows(layout, labels, 0, rows, false);
  return labels;
}

WriterOptions with_rows(WriterOptions options, int64_t rows) {
  options.rows = rows;
  return options;
}

// Writes rows [first, end) in batches cycling through `sizes`, committing after each batch.
void write_range(ActivationFileWriter& w, const Layout& layout, std::vector<LabelColumn>& labels,
                 int64_t first, int64_t end, const std::vector<int64_t>& sizes, bool specials) {
  size_t k = 0;
  for (int64_t r = first; r < end;) {
    const int64_t n = std::min(sizes[k++ % sizes.size()], end - r);
    const Rows b = make_rows(layout, labels, r, n, specials);
    w.append(n, b.tokens.data(), b.lengths.data(), b.sequence, b.token, b.act_ptrs());
    w.commit(labels);
    r += n;
  }
}

// Writes a whole file without interruption.
void write_file(const std::string& path, const Layout& layout, const WriterOptions& options, int64_t rows,
                const std::vector<int64_t>& sizes, bool specials) {
  std::vector<LabelColumn> labels = full_labels(layout, rows);
  auto w = ActivationFileWriter::create(path, layout.info, layout.hooks, labels, with_rows(options, rows));
  write_range(*w, layout, labels, 0, rows, sizes, specials);
  w->finish(labels);
}

// What float32 `x` reads back as after storing it as `t`.
float stored(StoreDType t, float x) {
  switch (t) {
    case StoreDType::F32: return x;
    case StoreDType::F16: return f16_to_f32(f32_to_f16(x));
    case StoreDType::BF16: return bf16_to_f32(f32_to_bf16(x));
  }
  return x;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof(float)) == 0;
}

// Checks committed rows [0, rows) of every dataset against the generator.
void expect_rows(const std::string& path, const Layout& layout, StoreDType dtype, int64_t rows,
                 bool specials) {
  std::vector<LabelColumn> labels = layout.labels;
  const Rows want = make_rows(layout, labels, 0, rows, specials);
  std::vector<int32_t> lengths;
  EXPECT_EQ(read_activation_tokens(path, 0, rows, &lengths), want.tokens);
  EXPECT_EQ(lengths, want.lengths);
  EXPECT_EQ(read_activation_labels(path, "score", 0, rows), want.sequence[0]);
  EXPECT_EQ(read_activation_labels(path, "sentiment", 0, rows), want.sequence[1]);
  const std::vector<double> pos = read_activation_labels(path, "pos", 0, rows);
  ASSERT_EQ(pos.size(), want.token[2].size());
  for (size_t i = 0; i < pos.size(); ++i) ASSERT_EQ(pos[i], want.token[2][i]) << "pos label " << i;
  for (size_t h = 0; h < layout.hooks.size(); ++h) {
    std::vector<int64_t> shape;
    const std::vector<float> got = read_activation_rows(path, layout.hooks[h].hook, 0, rows, &shape);
    EXPECT_EQ(shape, layout.hooks[h].row_shape);
    ASSERT_EQ(got.size(), want.acts[h].size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_TRUE(same_bits(got[i], stored(dtype, want.acts[h][i])))
          << layout.hooks[h].hook << " element " << i << ": " << got[i] << " vs " << want.acts[h][i];
  }
}

// Both files hold the same datasets with the same shapes, types and bytes, and the same class lists.
void expect_same_files(const std::string& a, const std::string& b) {
  const std::vector<std::string> names = list_stored_datasets(a);
  ASSERT_EQ(names, list_stored_datasets(b));
  for (const std::string& name : names) {
    std::vector<int64_t> shape_a, shape_b;
    std::string type_a, type_b;
    const auto bytes_a = read_stored_dataset(a, name, &shape_a, &type_a);
    const auto bytes_b = read_stored_dataset(b, name, &shape_b, &type_b);
    EXPECT_EQ(shape_a, shape_b) << name;
    EXPECT_EQ(type_a, type_b) << name;
    EXPECT_TRUE(bytes_a == bytes_b) << name << " differs";
  }
  const ActivationFileSummary sa = read_activation_summary(a), sb = read_activation_summary(b);
  ASSERT_EQ(sa.labels.size(), sb.labels.size());
  for (size_t i = 0; i < sa.labels.size(); ++i) EXPECT_EQ(sa.labels[i].classes, sb.labels[i].classes);
  EXPECT_EQ(sa.committed_rows, sb.committed_rows);
  EXPECT_EQ(sa.complete, sb.complete);
}

template <typename F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

bool have_h5py() {
  return std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == 0;
}

std::string h5py_script() {
  return std::string(RESID_SOURCE_DIR) + "/tests/capture/read_with_h5py.py";
}

// ---- SHA-256 ----------------------------------------------------------------------------------------------

TEST(Sha256, KnownVectors) {
  testing::TempDir dir;
  auto hash_of = [&](const std::string& content) {
    const std::string p = dir.file("blob");
    std::ofstream(p, std::ios::binary) << content;
    return sha256_file(p);
  };
  EXPECT_EQ(hash_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hash_of(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Longer than the 1 MiB read buffer, and not a multiple of the 64-byte block.
  EXPECT_EQ(hash_of(std::string(3000001, 'a')),
            "71b1401c2645810a611615bae0fce7b308f0ed904a54af8ec8be0fe435581611");
  EXPECT_NE(input_error_of([&] { sha256_file(dir.file("missing")); }).find("missing"), std::string::npos);
}

// ---- round trips ------------------------------------------------------------------------------------------

// How a file is stored, for the parameterized tests.
struct StorageCase {
  StoreDType dtype;
  bool compress;
  int64_t chunk_rows;
};

std::string case_name(const StorageCase& c) {
  return store_dtype_name(c.dtype) + (c.compress ? "_deflate" : "_raw") +
         (c.chunk_rows > 0 ? "_chunk" + std::to_string(c.chunk_rows) : "");
}
void PrintTo(const StorageCase& c, std::ostream* os) {
  *os << case_name(c);
}
std::string param_name(const ::testing::TestParamInfo<StorageCase>& info) {
  return case_name(info.param);
}

class RoundTrip : public ::testing::TestWithParam<StorageCase> {};

TEST_P(RoundTrip, WritesAndReadsBack) {
  const StorageCase c = GetParam();
  testing::TempDir dir;
  const std::string path = dir.file("acts.h5");
  const Layout layout = make_layout();
  WriterOptions options;
  options.dtype = c.dtype;
  options.compress = c.compress;
  options.chunk_rows = c.chunk_rows;
  options.rows = 13;
  std::vector<LabelColumn> labels = full_labels(layout, 13);
  auto w = ActivationFileWriter::create(path, layout.info, layout.hooks, labels, options);
  EXPECT_EQ(w->committed_rows(), 0);
  EXPECT_EQ(read_activation_summary(path).committed_rows, 0);
  EXPECT_FALSE(read_activation_summary(path).complete);

  int64_t rows = 0;
  for (int64_t n : {5, 1, 7}) {
    const Rows b = make_rows(layout, labels, rows, n, true);
    w->append(n, b.tokens.data(), b.lengths.data(), b.sequence, b.token, b.act_ptrs());
    rows += n;
    EXPECT_EQ(w->appended_rows(), rows);
    w->commit(labels);
    // Every commit commits every appended row (a file is compressed only once finished).
    EXPECT_EQ(w->committed_rows(), rows);
    const ActivationFileSummary partial = read_activation_summary(path);  // a reader, while the writer runs
    EXPECT_EQ(partial.committed_rows, rows);
    EXPECT_EQ(partial.rows, 13);
    EXPECT_FALSE(partial.compressed);
    expect_rows(path, layout, c.dtype, rows, true);
  }
  w->finish(labels);
  EXPECT_THROW(w->commit(labels), InputError);

  const ActivationFileSummary s = read_activation_summary(path);
  EXPECT_EQ(s.format_version, 2);
  EXPECT_EQ(s.rows, 13);
  EXPECT_EQ(s.committed_rows, 13);
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.dtype, c.dtype);
  EXPECT_EQ(s.compressed, c.compress);
  ASSERT_EQ(s.hooks.size(), 3u);
  for (size_t h = 0; h < 3; ++h) {
    EXPECT_EQ(s.hooks[h], layout.hooks[h].hook);  // capture order, not alphabetical
    EXPECT_EQ(s.hook_specs[h].layer, layout.hooks[h].layer);
    EXPECT_EQ(s.hook_specs[h].reduction, layout.hooks[h].reduction);
    EXPECT_EQ(s.hook_specs[h].row_shape, layout.hooks[h].row_shape);
  }
  EXPECT_EQ(s.info.model_sha256, layout.info.model_sha256);
  EXPECT_EQ(s.info.model_config_json, layout.info.model_config_json);
  EXPECT_EQ(s.info.command_line, layout.info.command_line);
  EXPECT_EQ(s.info.dataset_description, layout.info.dataset_description);
  EXPECT_EQ(s.info.created, layout.info.created);
  EXPECT_EQ(s.info.positions, "all");
  EXPECT_EQ(s.info.n_pos, kNPos);
  expect_rows(path, layout, c.dtype, 13, true);

  std::vector<int64_t> shape;
  std::string type;
  const auto bytes = read_stored_dataset(path, "/acts/blocks.0.hook_resid_post", &shape, &type);
  EXPECT_EQ(shape, (std::vector<int64_t>{13, kNPos, 8}));
  EXPECT_EQ(type, store_dtype_name(c.dtype));
  EXPECT_EQ(bytes.size(), 13u * kNPos * 8 * (c.dtype == StoreDType::F32 ? 4 : 2));
  // Reads past the commit are refused.
  EXPECT_THROW(read_activation_rows(path, "blocks.1.mlp.hook_post", 10, 4), InputError);
  EXPECT_THROW(read_activation_rows(path, "blocks.9.hook_resid_post", 0, 1), InputError);
}

INSTANTIATE_TEST_SUITE_P(
    DTypes, RoundTrip,
    ::testing::Values(StorageCase{StoreDType::F32, false, 0}, StorageCase{StoreDType::F16, false, 0},
                      StorageCase{StoreDType::BF16, false, 0}, StorageCase{StoreDType::F32, false, 4},
                      StorageCase{StoreDType::F32, true, 0}, StorageCase{StoreDType::F16, true, 4},
                      StorageCase{StoreDType::BF16, true, 3}),
    param_name);

TEST(ActivationFile, LabelsOfEachKindWithTheirClassLists) {
  testing::TempDir dir;
  const std::string path = dir.file("labels.h5");
  const Layout layout = make_layout();
  write_file(path, layout, WriterOptions{}, 40, {3, 5, 1}, false);

  std::vector<LabelColumn> expected = layout.labels;
  make_rows(layout, expected, 0, 40, false);
  ASSERT_GE(expected[1].classes.size(), 4u);  // the rows use several classes of each column
  ASSERT_GE(expected[2].classes.size(), 5u);
  const ActivationFileSummary s = read_activation_summary(path);
  ASSERT_EQ(s.labels.size(), 3u);
  EXPECT_EQ(s.labels[0].name, "score");
  EXPECT_EQ(s.labels[0].kind, LabelColumn::Kind::SequenceNumber);
  EXPECT_TRUE(s.labels[0].classes.empty());
  EXPECT_EQ(s.labels[1].kind, LabelColumn::Kind::SequenceClass);
  EXPECT_EQ(s.labels[1].classes, expected[1].classes);
  EXPECT_EQ(s.labels[2].kind, LabelColumn::Kind::TokenClass);
  EXPECT_EQ(s.labels[2].classes, expected[2].classes);
  EXPECT_EQ(s.labels[2].classes[0], "none");

  std::vector<int64_t> shape;
  std::string type;
  read_stored_dataset(path, "/labels/score", &shape, &type);
  EXPECT_EQ(shape, (std::vector<int64_t>{40}));
  EXPECT_EQ(type, "float64");
  read_stored_dataset(path, "/labels/sentiment", &shape, &type);
  EXPECT_EQ(shape, (std::vector<int64_t>{40}));
  EXPECT_EQ(type, "int32");
  read_stored_dataset(path, "/labels/pos", &shape, &type);
  EXPECT_EQ(shape, (std::vector<int64_t>{40, kNPos}));
  EXPECT_EQ(type, "int32");
  read_stored_dataset(path, "/tokens", &shape, &type);
  EXPECT_EQ(shape, (std::vector<int64_t>{40, kNPos}));
  EXPECT_EQ(type, "int32");
  expect_rows(path, layout, StoreDType::F32, 40, false);
}

TEST(ActivationFile, ClassListsAreFixedWhenTheFileIsCreated) {
  testing::TempDir dir;
  const Layout layout = make_layout();
  std::vector<LabelColumn> labels = full_labels(layout, 10);
  {
    // Ids without names: the file was created with empty class lists.
    auto w = ActivationFileWriter::create(dir.file("a.h5"), layout.info, layout.hooks, layout.labels,
                                          with_rows({}, 10));
    const Rows b = make_rows(layout, labels, 0, 10, false);
    EXPECT_NE(input_error_of([&] {
                w->append(10, b.tokens.data(), b.lengths.data(), b.sequence, b.token, b.act_ptrs());
              }).find("class names"),
              std::string::npos);
    w->discard();
  }
  auto w =
      ActivationFileWriter::create(dir.file("a.h5"), layout.info, layout.hooks, labels, with_rows({}, 10));
  const Rows b = make_rows(layout, labels, 0, 10, false);
  w->append(10, b.tokens.data(), b.lengths.data(), b.sequence, b.token, b.act_ptrs());
  // A known class renamed, a class added, a class missing: the lists must be the file's.
  std::vector<LabelColumn> changed = labels;
  changed[1].classes[0] = "renamed";
  EXPECT_NE(input_error_of([&] { w->commit(changed); }).find("renamed"), std::string::npos);
  changed = labels;
  changed[2].classes.push_back("NEW");
  EXPECT_NE(input_error_of([&] { w->commit(changed); }).find("gained class 'NEW'"), std::string::npos);
  changed = labels;
  changed[1].classes.pop_back();
  EXPECT_NE(input_error_of([&] { w->commit(changed); }).find("sentiment"), std::string::npos);
  EXPECT_EQ(read_activation_summary(dir.file("a.h5")).committed_rows, 0);  // nothing committed by those
  w->commit(labels);
  w->finish(labels);
  EXPECT_EQ(read_activation_summary(dir.file("a.h5")).labels[1].classes, labels[1].classes);
}

TEST(ActivationFile, RowCountIsFixedWhenTheFileIsCreated) {
  testing::TempDir dir;
  const Layout layout = make_layout();
  std::vector<LabelColumn> labels = full_labels(layout, 8);
  EXPECT_NE(input_error_of([&] {
              ActivationFileWriter::create(dir.file("a.h5"), layout.info, layout.hooks, labels,
                                           WriterOptions{});
            }).find("number of rows"),
            std::string::npos);
  auto w =
      ActivationFileWriter::create(dir.file("a.h5"), layout.info, layout.hooks, labels, with_rows({}, 5));
  const Rows b = make_rows(layout, labels, 0, 8, false);
  EXPECT_NE(input_error_of([&] {
              w->append(8, b.tokens.data(), b.lengths.data(), b.sequence, b.token, b.act_ptrs());
            }).find("past the 5 rows"),
            std::string::npos);
  const Rows four = make_rows(layout, labels, 0, 4, false);
  w->append(4, four.tokens.data(), four.lengths.data(), four.sequence, four.token, four.act_ptrs());
  EXPECT_NE(input_error_of([&] { w->finish(labels); }).find("finished after 4 of the 5 rows"),
            std::string::npos);
  EXPECT_FALSE(read_activation_summary(dir.file("a.h5")).complete);
  // Every dataset is allocated at its final size when the file is created; committed_rows says how many
  // rows are valid.
  std::vector<int64_t> shape;
  read_stored_dataset(dir.file("a.h5"), "/acts/blocks.0.hook_resid_post", &shape);
  EXPECT_EQ(shape[0], 5);
}

TEST(ActivationFile, AppendRejectsMalformedRows) {
  testing::TempDir dir;
  const std::string path = dir.file("a.h5");
  const Layout layout = make_layout();
  std::vector<LabelColumn> labels = full_labels(layout, 4);
  auto w = ActivationFileWriter::create(path, layout.info, layout.hooks, labels, with_rows({}, 4));
  Rows b = make_rows(layout, labels, 0, 4, false);
  auto append = [&](const Rows& r) {
    w->append(r.n, r.tokens.data(), r.lengths.data(), r.sequence, r.token, r.act_ptrs());
  };
  Rows bad = b;
  bad.lengths[1] = kNPos + 1;
  EXPECT_NE(input_error_of([&] { append(bad); }).find("length"), std::string::npos);
  bad = b;
  // A short row: its padding must be -1, in the tokens and in a token label column.
  int64_t short_row = 0;
  while (b.lengths[short_row] == kNPos) ++short_row;
  ASSERT_LT(short_row, 4);
  bad.tokens[short_row * kNPos + kNPos - 1] = 7;
  EXPECT_NE(input_error_of([&] { append(bad); }).find("not -1 past its length"), std::string::npos);
  bad = b;
  bad.sequence[0].pop_back();
  EXPECT_NE(input_error_of([&] { append(bad); }).find("score"), std::string::npos);
  bad = b;
  bad.sequence[1][2] = 1.5;
  EXPECT_NE(input_error_of([&] { append(bad); }).find("not a class id"), std::string::npos);
  bad = b;
  bad.token[2][short_row * kNPos + kNPos - 1] = 3;
  EXPECT_NE(input_error_of([&] { append(bad); }).find("expected -1"), std::string::npos);
  bad = b;
  bad.token[2][0] = -2;
  EXPECT_NE(input_error_of([&] { append(bad); }).find("label pos of row 0"), std::string::npos);
  bad = b;
  bad.acts.pop_back();
  EXPECT_NE(input_error_of([&] { append(bad); }).find("hooks"), std::string::npos);

  // Compact label vectors (only the columns of that kind) are accepted too.
  Rows compact = b;
  compact.sequence = {b.sequence[0], b.sequence[1]};
  compact.token = {b.token[2]};
  append(compact);
  w->finish(labels);
  expect_rows(path, layout, StoreDType::F32, 4, false);
}

// ---- refusing to overwrite, unwritable places -------------------------------------------------------------

TEST(ActivationFile, RefusesToOverwriteWithoutForce) {
  testing::TempDir dir;
  const std::string path = dir.file("acts.h5");
  const Layout layout = make_layout();
  write_file(path, layout, WriterOptions{}, 9, {4}, false);
  EXPECT_EQ(input_error_of([&] {
              ActivationFileWriter::create(path, layout.info, layout.hooks, layout.labels, with_rows({}, 9));
            }),
            path + " exists (set force to replace it)");
  EXPECT_EQ(read_activation_summary(path).committed_rows, 9);  // untouched

  WriterOptions force;
  force.force = true;
  force.dtype = StoreDType::F16;
  force.rows = 9;
  auto w = ActivationFileWriter::create(path, layout.info, layout.hooks, layout.labels, force);
  // Not even --force replaces a file that a writer still has open.
  EXPECT_EQ(input_error_of(
                [&] { ActivationFileWriter::create(path, layout.info, layout.hooks, layout.labels, force); }),
            path + " is being written by another process");
  const ActivationFileSummary s = read_activation_summary(path);
  EXPECT_EQ(s.committed_rows, 0);
  EXPECT_FALSE(s.complete);
  EXPECT_EQ(s.dtype, StoreDType::F16);
  w.reset();
  // No side files left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(ActivationFile, UnwritablePathsAreInputErrors) {
  testing::TempDir dir;
  const Layout layout = make_layout();
  auto create_error = [&](const std::string& path) {
    return input_error_of([&] {
      ActivationFileWriter::create(path, layout.info, layout.hooks, layout.labels, with_rows({}, 1));
    });
  };
  const std::string missing_dir = dir.file("no/such/dir/acts.h5");
  EXPECT_NE(create_error(missing_dir).find(missing_dir), std::string::npos);
  std::ofstream(dir.file("plain")) << "x";
  const std::string under_file = dir.file("plain") + "/acts.h5";
  EXPECT_NE(create_error(under_file).find(under_file), std::string::npos);
  EXPECT_NE(create_error(dir.path().string()).find("directory"), std::string::npos);
  // Permission bits do not stop root; /proc refuses new files even to root.
  const std::string proc = "/proc/resid-acts.h5";
  EXPECT_NE(create_error(proc).find(proc), std::string::npos);
  if (::geteuid() != 0) {
    const std::filesystem::path ro = dir.path() / "readonly";
    std::filesystem::create_directory(ro);
    ::chmod(ro.c_str(), 0555);
    const std::string p = (ro / "acts.h5").string();
    EXPECT_NE(create_error(p).find(p), std::string::npos);
    ::chmod(ro.c_str(), 0755);
  }
}

TEST(ActivationFile, ReaderReadsOneSnapshotOfTheCommittedRows) {
  testing::TempDir dir;
  const std::string path = dir.file("acts.h5");
  const Layout layout = make_layout();
  std::vector<LabelColumn> labels = full_labels(layout, 20);
  auto w = ActivationFileWriter::create(path, layout.info, layout.hooks, labels, with_rows({}, 20));
  write_range(*w, layout, labels, 0, 8, {8}, false);
  const ActivationReader reader(path);
  EXPECT_EQ(reader.rows(), 8);
  write_range(*w, layout, labels, 8, 20, {12}, false);  // commits while the reader is open
  EXPECT_EQ(reader.rows(), 8);                          // its snapshot
  EXPECT_EQ(ActivationReader(path).rows(), 20);         // a new reader sees the new commit
  std::vector<float> acts;
  EXPECT_NE(
      input_error_of([&] { reader.read_rows("blocks.0.hook_resid_post", 4, 5, &acts); }).find("8 committed"),
      std::string::npos);
  reader.read_rows("blocks.1.mlp.hook_post", 2, 6, &acts);
  EXPECT_EQ(acts, read_activation_rows(path, "blocks.1.mlp.hook_post", 2, 6));
  EXPECT_EQ(reader.row_shape("blocks.1.mlp.hook_post"), layout.hooks[1].row_shape);
  std::vector<int32_t> tokens, lengths;
  reader.read_tokens(0, 8, &tokens, &lengths);
  EXPECT_EQ(tokens, make_rows(layout, labels, 0, 8, false).tokens);
  std::vector<double> values;
  reader.read_labels("score", 0, 8, &values);
  EXPECT_EQ(values, make_rows(layout, labels, 0, 8, false).sequence[0]);
  EXPECT_NE(
      input_error_of([&] { reader.read_rows("nope", 0, 1, &acts); }).find("no activations of hook nope"),
      std::string::npos);
  EXPECT_NE(input_error_of([&] { reader.read_labels("nope", 0, 1, &values); }).find("no label column nope"),
            std::string::npos);
  w->finish(labels);
}

TEST(ActivationFile, ReadingSomethingElseIsAnError) {
  testing::TempDir dir;
  std::ofstream(dir.file("text.h5")) << "not hdf5";
  EXPECT_THROW(read_activation_summary(dir.file("text.h5")), FormatError);
  EXPECT_THROW(read_activation_summary(dir.file("missing.h5")), InputError);
}

// ---- resume -----------------------------------------------------------------------------------------------

class Resume : public ::testing::TestWithParam<StorageCase> {};

TEST_P(Resume, EqualsAnUninterruptedRun) {
  const StorageCase c = GetParam();
  testing::TempDir dir;
  const Layout layout = make_layout();
  WriterOptions options;
  options.dtype = c.dtype;
  options.compress = c.compress;
  options.chunk_rows = c.chunk_rows;
  const int64_t total = 57;
  const std::string reference = dir.file("reference.h5"), resumed = dir.file("resumed.h5");
  write_file(reference, layout, options, total, {4, 7, 2}, true);

  options.rows = total;
  std::vector<LabelColumn> labels = full_labels(layout, total);
  {
    // A run that commits 30 rows, appends more without committing, then stops.
    auto w = ActivationFileWriter::create(resumed, layout.info, layout.hooks, labels, options);
    write_range(*w, layout, labels, 0, 30, {6, 3}, true);
    const Rows extra = make_rows(layout, labels, 30, 9, true);
    w->append(9, extra.tokens.data(), extra.lengths.data(), extra.sequence, extra.token, extra.act_ptrs());
  }
  const int64_t committed = read_activation_summary(resumed).committed_rows;
  EXPECT_EQ(committed, 30);
  EXPECT_FALSE(read_activation_summary(resumed).compressed);  // compressed only once finished

  // A different row count is refused before anything is written.
  EXPECT_NE(input_error_of([&] {
              ActivationFileWriter::resume(resumed, layout.info, layout.hooks, labels,
                                           with_rows(options, total + 1));
            }).find("created for 57 rows"),
            std::string::npos);
  auto w = ActivationFileWriter::resume(resumed, layout.info, layout.hooks, labels, options);
  EXPECT_EQ(w->committed_rows(), committed);
  EXPECT_EQ(w->appended_rows(), committed);
  write_range(*w, layout, labels, committed, total, {5, 8}, true);
  w->finish(labels);
  expect_same_files(reference, resumed);
  expect_rows(resumed, layout, c.dtype, total, true);
}

INSTANTIATE_TEST_SUITE_P(Variants, Resume,
                         ::testing::Values(StorageCase{StoreDType::F32, false, 0},
                                           StorageCase{StoreDType::F16, false, 8},
                                           StorageCase{StoreDType::BF16, true, 8},
                                           StorageCase{StoreDType::F32, true, 5}),
                         param_name);

TEST(ActivationFile, ResumeChecksWhatDiffers) {
  testing::TempDir dir;
  const std::string path = dir.file("partial.h5");
  const Layout layout = make_layout();
  WriterOptions options;
  options.dtype = StoreDType::F16;
  options.rows = 12;
  {
    std::vector<LabelColumn> labels = full_labels(layout, 12);
    auto w = ActivationFileWriter::create(path, layout.info, layout.hooks, labels, options);
    write_range(*w, layout, labels, 0, 10, {5}, false);
  }
  auto resume_error = [&](const Layout& l, const WriterOptions& o) {
    return input_error_of([&] { ActivationFileWriter::resume(path, l.info, l.hooks, l.labels, o); });
  };
  auto expect_mentions = [&](const Layout& l, const WriterOptions& o, const std::string& what) {
    const std::string message = resume_error(l, o);
    EXPECT_NE(message.find(what), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
  };
  Layout l = layout;
  l.info.model_sha256 = std::string(64, 'c');
  expect_mentions(l, options, "model_sha256");
  l = layout;
  l.info.dataset_sha256 = "0";
  expect_mentions(l, options, "dataset_sha256");
  l = layout;
  l.info.positions = "last";
  expect_mentions(l, options, "positions");
  l = layout;
  l.info.n_pos = kNPos + 1;
  expect_mentions(l, options, "n_pos");
  l = layout;
  l.hooks.pop_back();
  expect_mentions(l, options, "hook list");
  l = layout;
  l.hooks[1].row_shape = {17};
  expect_mentions(l, options, "row shape of blocks.1.mlp.hook_post");
  l = layout;
  l.labels[1].kind = LabelColumn::Kind::SequenceNumber;
  expect_mentions(l, options, "label columns");
  WriterOptions f32 = options;
  f32.dtype = StoreDType::F32;
  expect_mentions(layout, f32, "dtype");

  // Nothing above touched the file; a matching resume works, and hooks may come in another order.
  l = layout;
  std::swap(l.hooks[0], l.hooks[2]);
  auto w = ActivationFileWriter::resume(path, l.info, l.hooks, l.labels, options);
  EXPECT_EQ(w->committed_rows(), 10);
  // A second writer on the same file is refused while this one is open.
  EXPECT_NE(resume_error(layout, options).find("another process"), std::string::npos);
  std::vector<LabelColumn> labels = full_labels(l, 12);
  write_range(*w, l, labels, 10, 12, {2}, false);
  w->finish(labels);
  EXPECT_NE(resume_error(layout, options).find("already complete"), std::string::npos);
  EXPECT_NE(resume_error(layout, options).find(path), std::string::npos);
  EXPECT_NE(input_error_of([&] {
              ActivationFileWriter::resume(dir.file("none.h5"), layout.info, layout.hooks, layout.labels,
                                           options);
            }).find("does not exist"),
            std::string::npos);
}

// ---- SIGKILL ----------------------------------------------------------------------------------------------

// Runs `work` in a child process and kills it with SIGKILL after `seconds` unless it ended first. Returns
// true when it was killed; fails the test when it ended with an error.
template <typename F>
bool run_and_kill(F&& work, double seconds) {
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) {
    ADD_FAILURE() << "fork failed";
    return false;
  }
  if (child == 0) {
    int code = 0;
    try {
      work();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "writer child: %s\n", e.what());
      code = 3;
    }
    ::_exit(code);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) return true;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the writer failed on its own";
  return false;
}

// Continues a partial file from its committed rows to `total` and finishes it, like `resid capture --resume`.
void resume_to_end(const std::string& path, const Layout& layout, const WriterOptions& options,
                   int64_t total) {
  std::vector<LabelColumn> labels = full_labels(layout, total);
  auto w = ActivationFileWriter::resume(path, layout.info, layout.hooks, labels, with_rows(options, total));
  write_range(*w, layout, labels, w->committed_rows(), total, {7, 13}, false);
  w->finish(labels);
}

// A child process writes and commits batches until it finishes or is killed with SIGKILL after a random
// delay; then a second child resumes the file and is killed too. After each kill the file must open (in our
// reader and in h5py) with its committed rows intact, and a final resume must complete it to exactly the file
// of an uninterrupted run.
TEST(ActivationFile, SigkillLeavesCommittedRowsIntact) {
  testing::TempDir dir;
  const Layout layout = make_layout();
  const int64_t total = 900;
  const std::vector<int64_t> sizes = {3, 11, 1, 8, 16, 5};
  WriterOptions variants[2];
  variants[0].dtype = StoreDType::F32;
  variants[0].chunk_rows = 10;
  variants[1].dtype = StoreDType::F16;
  variants[1].compress = true;
  variants[1].chunk_rows = 16;
  std::string references[2];
  double seconds[2];
  for (int v = 0; v < 2; ++v) {
    references[v] = dir.file("reference" + std::to_string(v) + ".h5");
    const auto start = std::chrono::steady_clock::now();
    write_file(references[v], layout, variants[v], total, sizes, false);
    seconds[v] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  const bool h5py = have_h5py();
  // Everything a killed writer must leave behind.
  auto expect_intact = [&](const std::string& path, StoreDType dtype) -> bool {
    if (!std::filesystem::exists(path)) return false;  // killed while the file was still being built aside
    const ActivationFileSummary s = read_activation_summary(path);
    EXPECT_LE(s.committed_rows, total);
    expect_rows(path, layout, dtype, s.committed_rows, false);
    if (h5py) {
      const std::string cmd = "/usr/bin/python3 '" + h5py_script() + "' --partial '" + path + "'";
      EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    return !s.complete;
  };

  std::mt19937 rng(20240607);
  int kills_between_commits = 0;
  const int iterations = 8;
  for (int iteration = 0; iteration < iterations; ++iteration) {
    const int v = iteration % 2;
    const WriterOptions& options = variants[v];
    const std::string path = dir.file("killed" + std::to_string(iteration) + ".h5");
    std::uniform_real_distribution<double> delay(0.0, 1.1 * seconds[v]);
    const double first_wait = delay(rng), second_wait = delay(rng) / 2;
    SCOPED_TRACE("iteration " + std::to_string(iteration) + ", kills after " + std::to_string(first_wait) +
                 " s and " + std::to_string(second_wait) + " s");

    run_and_kill([&] { write_file(path, layout, options, total, sizes, false); }, first_wait);
    if (!expect_intact(path, options.dtype)) continue;
    const int64_t first_commit = read_activation_summary(path).committed_rows;
    kills_between_commits += first_commit > 0;

    run_and_kill([&] { resume_to_end(path, layout, options, total); }, second_wait);
    if (expect_intact(path, options.dtype)) {
      EXPECT_GE(read_activation_summary(path).committed_rows, first_commit);
      resume_to_end(path, layout, options, total);
    }
    expect_same_files(references[v], path);
  }
  std::cout << "[          ] " << kills_between_commits << " of " << iterations
            << " first writers were killed between commits\n";
}

// ---- h5py -------------------------------------------------------------------------------------------------

class H5py : public ::testing::TestWithParam<StoreDType> {};

TEST_P(H5py, ReadsTheFileWithoutResid) {
  if (!have_h5py()) {
    GTEST_SKIP() << "/usr/bin/python3 has no h5py (Debian package python3-h5py)";
  }
  const StoreDType dtype = GetParam();
  testing::TempDir dir;
  const std::string path = dir.file("acts.h5");
  const Layout layout = make_layout();
  WriterOptions options;
  options.dtype = dtype;
  options.compress = dtype != StoreDType::F32;
  const int64_t rows = 23;
  write_file(path, layout, options, rows, {6, 9}, false);

  std::vector<LabelColumn> labels = layout.labels;
  const Rows want = make_rows(layout, labels, 0, rows, false);
  nlohmann::json j;
  j["committed_rows"] = rows;
  j["complete"] = 1;
  j["attrs"] = {{"format", "resid-activations"},
                {"resid_version", layout.info.resid_version},
                {"model_path", layout.info.model_path},
                {"model_sha256", layout.info.model_sha256},
                {"model_config", layout.info.model_config_json},
                {"tokenizer", layout.info.tokenizer},
                {"dataset_path", layout.info.dataset_path},
                {"dataset_sha256", layout.info.dataset_sha256},
                {"dataset", layout.info.dataset_description},
                {"command_line", layout.info.command_line},
                {"created", layout.info.created},
                {"positions", layout.info.positions}};
  j["int_attrs"] = {{"format_version", 2}, {"n_pos", kNPos}};
  j["tokens"] = want.tokens;
  j["lengths"] = want.lengths;
  j["labels"]["score"] = {{"kind", "sequence_number"}, {"values", want.sequence[0]}};
  j["labels"]["sentiment"] = {
      {"kind", "sequence_class"}, {"classes", labels[1].classes}, {"values", want.sequence[1]}};
  j["labels"]["pos"] = {{"kind", "token_class"}, {"classes", labels[2].classes}, {"values", want.token[2]}};
  for (size_t h = 0; h < layout.hooks.size(); ++h) {
    std::vector<int64_t> shape{rows};
    shape.insert(shape.end(), layout.hooks[h].row_shape.begin(), layout.hooks[h].row_shape.end());
    std::vector<float> values;
    for (float x : want.acts[h]) values.push_back(stored(dtype, x));
    j["acts"][layout.hooks[h].hook] = {{"hook", layout.hooks[h].hook},
                                       {"layer", layout.hooks[h].layer},
                                       {"reduction", layout.hooks[h].reduction},
                                       {"dtype", store_dtype_name(dtype)},
                                       {"shape", shape},
                                       {"values", values}};
  }
  const std::string expect = dir.file("expect.json");
  std::ofstream(expect) << j.dump();
  const std::string cmd = "/usr/bin/python3 '" + h5py_script() + "' '" + path + "' '" + expect + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

INSTANTIATE_TEST_SUITE_P(DTypes, H5py, ::testing::Values(StoreDType::F32, StoreDType::F16, StoreDType::BF16),
                         [](const ::testing::TestParamInfo<StoreDType>& info) {
                           return store_dtype_name(info.param);
                         });

}  // namespace
}  // namespace resid
