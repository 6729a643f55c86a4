// SafetensorsFile / write_safetensors: round trips in every float dtype, zero-copy F32, deterministic bytes,
// and one FormatError (naming the file) for each kind of malformed header, never a crash.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/formats/safetensors.h"
#include "test_support.h"

namespace resid {
namespace {

using testing::error_of;
using testing::TempDir;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

// A file with the given JSON header (length prefix computed) and data section.
std::string make_file(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

std::string floats(std::initializer_list<float> values) {
  std::string s;
  for (float f : values) s.append(reinterpret_cast<const char*>(&f), 4);
  return s;
}

// The message of the FormatError `f` throws; fails the test if it throws nothing.
template <typename F>
std::string format_error(F&& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a FormatError";
  return "";
}

Tensor random_tensor(std::vector<int64_t> shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return Tensor::owned(std::move(shape), std::move(v));
}

TEST(Safetensors, F32RoundTripIsExactAndZeroCopy) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  const Tensor a = random_tensor({3, 5}, 1), b = random_tensor({7}, 2);
  write_safetensors(path, {{"w.a", &a}, {"w.b", &b}}, {{"format", "pt"}, {"note", "hello"}});

  const SafetensorsFile file(path);
  ASSERT_EQ(file.entries().size(), 2u);
  EXPECT_EQ(file.metadata().at("note"), "hello");
  EXPECT_EQ(file.entries().at("w.a").dtype, DType::F32);
  EXPECT_EQ(file.entries().at("w.a").shape, (std::vector<int64_t>{3, 5}));
  for (const auto& [name, original] : {std::pair{"w.a", &a}, std::pair{"w.b", &b}}) {
    bool mapped = false;
    const Tensor t = file.tensor(name, &mapped);
    EXPECT_TRUE(mapped) << name;
    EXPECT_EQ(t.shape, original->shape);
    // Points into the map: the entry's bytes, not a copy.
    EXPECT_EQ(static_cast<const void*>(t.data), static_cast<const void*>(file.entries().at(name).bytes));
    EXPECT_EQ(std::memcmp(t.data, original->data, original->numel() * 4), 0) << name;
  }
  // The header is padded so the data section starts 8-byte aligned.
  uint64_t header_len;
  std::memcpy(&header_len, read_bytes(path).data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
}

TEST(Safetensors, MappedTensorOutlivesTheFileObject) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  const Tensor a = random_tensor({4, 4}, 3);
  write_safetensors(path, {{"a", &a}});
  Tensor t;
  {
    const SafetensorsFile file(path);
    t = file.tensor("a");
  }
  EXPECT_EQ(std::memcmp(t.data, a.data, 64), 0);  // the tensor's owner keeps the map alive
}

TEST(Safetensors, HalfPrecisionRoundTrips) {
  TempDir dir;
  // Values exactly representable in both F16 and BF16 come back bit-identical.
  const Tensor exact = Tensor::owned({6}, {0.0f, -2.0f, 0.5f, 1024.0f, -0.125f, 3.0f});
  const Tensor noisy = random_tensor({10, 10}, 4);
  for (DType dtype : {DType::F16, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const std::string path = dir.file(dtype_name(dtype) + ".safetensors");
    write_safetensors(path, {{"exact", &exact}, {"noisy", &noisy}}, {}, dtype);
    const SafetensorsFile file(path);
    EXPECT_EQ(file.entries().at("noisy").dtype, dtype);
    EXPECT_EQ(file.entries().at("noisy").nbytes, 200u);
    bool mapped = true;
    const Tensor e = file.tensor("exact", &mapped);
    EXPECT_FALSE(mapped);
    EXPECT_EQ(std::memcmp(e.data, exact.data, 24), 0);
    // Round to nearest: relative error at most half an ulp (2^-11 for F16, 2^-8 for BF16).
    const float rel = dtype == DType::F16 ? 1.0f / 2048 : 1.0f / 256;
    const Tensor n = file.tensor("noisy");
    for (int64_t i = 0; i < 100; ++i)
      EXPECT_LE(std::abs(n.data[i] - noisy.data[i]), rel * std::abs(noisy.data[i]));
  }
}

TEST(Safetensors, BytesDoNotDependOnArgumentOrder) {
  TempDir dir;
  const Tensor a = random_tensor({2, 3}, 5), b = random_tensor({3}, 6), c = random_tensor({1, 1}, 7);
  write_safetensors(dir.file("x"), {{"b", &b}, {"a", &a}, {"c", &c}}, {{"k", "v"}});
  write_safetensors(dir.file("y"), {{"c", &c}, {"a", &a}, {"b", &b}}, {{"k", "v"}});
  EXPECT_EQ(read_bytes(dir.file("x")), read_bytes(dir.file("y")));
}

TEST(Safetensors, WriteLeavesNoTemporaryAndOverwrites) {
  TempDir dir;
  const Tensor a = random_tensor({2}, 8), b = random_tensor({3}, 9);
  write_safetensors(dir.file("m.safetensors"), {{"a", &a}});
  write_safetensors(dir.file("m.safetensors"), {{"b", &b}});
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "m.safetensors");
  }
  EXPECT_EQ(files, 1);
  EXPECT_TRUE(SafetensorsFile(dir.file("m.safetensors")).has("b"));
  EXPECT_FALSE(SafetensorsFile(dir.file("m.safetensors")).has("a"));
}

TEST(Safetensors, WriteErrors) {
  TempDir dir;
  const Tensor a = random_tensor({2}, 8);
  const std::string missing_dir = dir.file("no/such/dir/m.safetensors");
  EXPECT_CONTAINS(format_error([&] { write_safetensors(missing_dir, {{"a", &a}}); }), missing_dir);
  EXPECT_THROW(write_safetensors(dir.file("m"), {{"a", &a}, {"a", &a}}), InputError);
  EXPECT_THROW(write_safetensors(dir.file("m"), {{"__metadata__", &a}}), InputError);
  EXPECT_THROW(write_safetensors(dir.file("m"), {{"a", &a}}, {}, DType::I32), InputError);
}

TEST(Safetensors, IntegerTensorsAreRecordedButNotFloat) {
  TempDir dir;
  const std::string path = dir.file("ints.safetensors");
  const std::string header = R"({"ids":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},)"
                             R"("big":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},)"
                             R"("small":{"dtype":"I8","shape":[8],"data_offsets":[16,24]}})";
  write_bytes(path, make_file(header, std::string(24, '\1')));
  const SafetensorsFile file(path);
  EXPECT_EQ(file.entries().at("ids").dtype, DType::I32);
  EXPECT_EQ(file.entries().at("big").dtype, DType::I64);
  EXPECT_EQ(file.entries().at("small").dtype, DType::I8);
  const std::string msg = format_error([&] { file.tensor("ids"); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "I32");
}

TEST(Safetensors, MisalignedF32IsCopiedNotViewed) {
  TempDir dir;
  const std::string path = dir.file("odd.safetensors");
  // A 61-byte header puts the data at offset 69: legal, but not float-aligned.
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  header.append(61 - header.size(), ' ');
  write_bytes(path, make_file(header, floats({1.5f, -2.5f})));
  bool mapped = true;
  const Tensor t = SafetensorsFile(path).tensor("x", &mapped);
  EXPECT_FALSE(mapped);
  EXPECT_EQ(t.data[0], 1.5f);
  EXPECT_EQ(t.data[1], -2.5f);
}

TEST(Safetensors, ScalarIsOneElement) {
  TempDir dir;
  const std::string path = dir.file("s.safetensors");
  write_bytes(path, make_file(R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", floats({7.0f})));
  const Tensor t = SafetensorsFile(path).tensor("s");
  EXPECT_EQ(t.numel(), 1);
  EXPECT_EQ(t.data[0], 7.0f);
}

// ---- malformed files: FormatError naming the file and the problem ----

struct BadCase {
  const char* label;
  std::string bytes;
  const char* expected;  // part of the message
};

std::vector<BadCase> bad_cases() {
  const std::string ok_data = floats({1, 2, 3, 4});
  auto entry = [](const std::string& body) { return "{\"t\":{" + body + "}}"; };
  return {
      {"shorter than the length prefix", "abc", "header length"},
      {"header length past EOF", le64(1000) + "{}", "runs past the end of the file"},
      {"header length near 2^64", le64(~0ull) + "{}", "runs past the end of the file"},
      {"invalid JSON", make_file("{\"t\": [1, 2", ok_data), "invalid JSON header"},
      {"JSON is not an object", make_file("[1, 2]", ok_data), "must be an object"},
      {"data_offsets past the end",
       make_file(entry(R"("dtype":"F32","shape":[4],"data_offsets":[0,32])"), ok_data),
       "past the end of the data"},
      {"data_offsets reversed",
       make_file(entry(R"("dtype":"F32","shape":[0],"data_offsets":[8,4])"), ok_data),
       "end before they begin"},
      {"shape/bytes mismatch",
       make_file(entry(R"("dtype":"F32","shape":[3],"data_offsets":[0,16])"), ok_data),
       "needs 12 bytes but data_offsets give 16"},
      {"unknown dtype", make_file(entry(R"("dtype":"F64","shape":[2],"data_offsets":[0,16])"), ok_data),
       "unsupported dtype 'F64'"},
      {"negative dimension", make_file(entry(R"("dtype":"F32","shape":[-4],"data_offsets":[0,16])"), ok_data),
       "negative"},
      {"fractional dimension",
       make_file(entry(R"("dtype":"F32","shape":[4.0],"data_offsets":[0,16])"), ok_data),
       "non-negative integer"},
      {"shape overflows",
       make_file(entry(R"("dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16])"), ok_data),
       "overflows"},
      {"bytes overflow",
       make_file(entry(R"("dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16])"), ok_data),
       "overflows"},
      {"offsets beyond 2^64",
       make_file(entry(R"("dtype":"F32","shape":[4],"data_offsets":[0,1e30])"), ok_data), "data_offsets[1]"},
      {"no dtype", make_file(entry(R"("shape":[4],"data_offsets":[0,16])"), ok_data), "no 'dtype'"},
      {"entry not an object", make_file(R"({"t": 5})", ok_data), "must be an object"},
      {"one offset", make_file(entry(R"("dtype":"F32","shape":[4],"data_offsets":[16])"), ok_data),
       "[begin, end]"},
      {"metadata not strings", make_file(R"({"__metadata__":{"n":1}})", ok_data), "must be a string"},
  };
}

TEST(Safetensors, MalformedHeadersThrowFormatErrorNamingTheFile) {
  TempDir dir;
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.label);
    const std::string path = dir.file("bad.safetensors");
    write_bytes(path, c.bytes);
    const std::string msg = format_error([&] { SafetensorsFile file(path); });
    EXPECT_CONTAINS(msg, path);
    EXPECT_CONTAINS(msg, c.expected);
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";
  }
}

TEST(Safetensors, MissingTensorAndMissingFile) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  const Tensor a = random_tensor({2}, 1);
  write_safetensors(path, {{"a", &a}});
  const SafetensorsFile file(path);
  const std::string msg = format_error([&] { file.tensor("nope"); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "missing tensor 'nope'");
  EXPECT_CONTAINS(format_error([&] { SafetensorsFile f(dir.file("absent.safetensors")); }),
                  dir.file("absent.safetensors"));
}

// Every truncation and many single-byte corruptions of a valid file either load or throw resid::Error.
TEST(Safetensors, TruncatedAndCorruptedFilesNeverCrash) {
  TempDir dir;
  const std::string good_path = dir.file("good.safetensors");
  const Tensor a = random_tensor({3, 4}, 11), b = random_tensor({5}, 12);
  write_safetensors(good_path, {{"layer.a", &a}, {"layer.b", &b}}, {{"format", "pt"}}, DType::BF16);
  const std::string good = read_bytes(good_path);
  const std::string path = dir.file("mutant.safetensors");
  auto try_load = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    try {
      const SafetensorsFile file(path);
      for (const auto& [name, entry] : file.entries()) (void)file.tensor(name);
    } catch (const Error&) {
    }
  };
  for (size_t n = 0; n < good.size(); ++n) try_load(good.substr(0, n));
  uint64_t header_len;
  std::memcpy(&header_len, good.data(), 8);
  const char replacements[] = {'\0', '9', '-', '"', '}', '[', 'e', '\xff'};
  for (size_t i = 0; i < 8 + header_len; ++i) {
    for (char r : replacements) {
      std::string mutant = good;
      mutant[i] = r;
      try_load(mutant);
    }
  }
}

// Two tensors sharing bytes would alias each other's weights (issue 7); the reference implementation refuses
// them.
TEST(Safetensors, OverlappingDataOffsetsAreRefused) {
  TempDir dir;
  const std::string path = dir.file("overlap.safetensors");
  const std::string data = floats({1, 2, 3, 4});
  write_bytes(path, make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                              data));
  const std::string message = format_error([&] { SafetensorsFile f(path); });
  EXPECT_CONTAINS(message, path);
  EXPECT_CONTAINS(message, "overlap");
  // The same range twice is an overlap too; adjacent ranges and empty tensors are not.
  write_bytes(path, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                              data));
  EXPECT_CONTAINS(format_error([&] { SafetensorsFile f(path); }), "overlap");
  write_bytes(path, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                              data));
  EXPECT_NO_THROW(SafetensorsFile f(path));
}

// nlohmann reports a number too large for a double as out_of_range, not parse_error: it escaped as exit 3.
TEST(Safetensors, NumberOverflowInTheHeaderIsAFormatError) {
  TempDir dir;
  const std::string path = dir.file("overflow.safetensors");
  write_bytes(path, make_file(R"({"a":{"dtype":"F32","shape":[1e999],"data_offsets":[0,4]}})", floats({1})));
  EXPECT_CONTAINS(format_error([&] { SafetensorsFile f(path); }), path);
}

}  // namespace
}  // namespace resid
