// Inputs as a user's bad day brings them (issue 7): special files refused before they are opened, vector
// files (.npy and text) held to their declared shape, sampling parameters and layer ranges checked, and
// quoted input escaped so every message stays one line.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/formats/model_file.h"
#include "core/formats/vector_file.h"
#include "core/input_file.h"
#include "core/mapped_file.h"
#include "core/sampler.h"
#include "core/tokenizer/tokenizer.h"
#include "hooks/hook_selector.h"
#include "test_support.h"

namespace resid {
namespace {

using testing::error_of;
using testing::TempDir;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string make_fifo(const TempDir& dir) {
  const std::string path = dir.file("fifo");
  EXPECT_EQ(mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  return path;
}

// --- special files ---

TEST(RequireRegularFile, NamesTheKindOfFile) {
  TempDir dir;
  const std::string fifo = make_fifo(dir);
  EXPECT_EQ(error_of<InputError>([&] { require_regular_file(fifo, "the dataset file"); }),
            fifo + ": the dataset file is a FIFO (named pipe), not a regular file");
  EXPECT_CONTAINS(error_of<InputError>([&] { require_regular_file(dir.path().string(), "x"); }),
                  "a directory");
  EXPECT_CONTAINS(error_of<InputError>([&] { require_regular_file("/dev/zero", "x"); }),
                  "a character device");
  write_bytes(dir.file("plain"), "x");
  EXPECT_NO_THROW(require_regular_file(dir.file("plain"), "x"));
  EXPECT_NO_THROW(
      require_regular_file(dir.file("missing"), "x"));  // the caller's open() names a missing file
}

// Opening a FIFO without O_NONBLOCK waited for a writer forever: `resid info FIFO`, `--tokenizer FIFO`.
TEST(RequireRegularFile, LoadersRefuseAFifoInsteadOfBlocking) {
  TempDir dir;
  const std::string fifo = make_fifo(dir);
  EXPECT_CONTAINS(error_of<Error>([&] { MappedFile::open(fifo); }), "FIFO");
  EXPECT_CONTAINS(error_of<Error>([&] { load_tokenizer(fifo); }), "FIFO");
  EXPECT_CONTAINS(error_of<Error>([&] { load_model(fifo); }), "FIFO");
  EXPECT_CONTAINS(error_of<Error>([&] { read_vector_file(fifo); }), "FIFO");
  EXPECT_CONTAINS(error_of<Error>([&] { read_vector_file("/dev/zero"); }), "character device");
  EXPECT_CONTAINS(error_of<Error>([&] { read_vector_file(dir.path().string()); }), "a directory");
}

// --- printable ---

TEST(Printable, EscapesControlBytesAndCuts) {
  EXPECT_EQ(printable(std::string("a\nb\tc\rd\0e\x1b\x7f", 11)), "a\\nb\\tc\\rd\\x00e\\x1b\\x7f");
  EXPECT_EQ(printable("\xE2\x96\x81ok"), "\xE2\x96\x81ok");  // UTF-8 passes
  EXPECT_EQ(printable("abcdef", 3), "abc...");
}

// --- vector files ---

std::string npy(const std::string& shape, const std::string& data, const std::string& descr = "<f4",
                const std::string& order = "False") {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

std::string f32s(std::initializer_list<float> values) {
  std::string s;
  for (float v : values) s.append(reinterpret_cast<const char*>(&v), 4);
  return s;
}

TEST(VectorFile, NpyFloat32AndFloat64) {
  EXPECT_EQ(parse_vector_file(npy("(3,)", f32s({1, -2, 0.5f})), "v.npy"), (std::vector<float>{1, -2, 0.5f}));
  double d[2] = {0.25, -4};
  EXPECT_EQ(parse_vector_file(npy("(2,)", std::string(reinterpret_cast<const char*>(d), 16), "<f8"), "v.npy"),
            (std::vector<float>{0.25f, -4}));
  // Version 2 (a 4-byte header length) says the same.
  std::string v1 = npy("(1,)", f32s({7}));
  std::string v2 =
      std::string("\x93NUMPY\x02\x00", 8) + v1.substr(8, 2) + std::string(2, '\0') + v1.substr(10);
  EXPECT_EQ(parse_vector_file(v2, "v.npy"), (std::vector<float>{7}));
}

// The shape was ignored: (128,) over 64 values, 2^62, and (2, 32) all loaded as the bytes present.
TEST(VectorFile, NpyShapeMustMatchTheData) {
  const std::string zeros64(64 * 4, '\0');
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file(npy("(128,)", zeros64), "a.npy"); }),
                  "a.npy: .npy shape (128,) of <f4 needs 512 bytes of data but the file has 256");
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file(npy("(32,)", zeros64), "a.npy"); }), "(32,)");
  EXPECT_CONTAINS(
      error_of<FormatError>([&] { parse_vector_file(npy("(4611686018427387904,)", zeros64), "a.npy"); }),
      "more than 2^64");
  EXPECT_CONTAINS(
      error_of<FormatError>([&] { parse_vector_file(npy("(99999999999999999999999,)", zeros64), "a.npy"); }),
      "not a tuple of sizes");
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file(npy("(2, 32)", zeros64), "a.npy"); }),
                  "shape (2, 32) is not 1-D");
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file(npy("()", zeros64), "a.npy"); }), "not 1-D");
  EXPECT_CONTAINS(
      error_of<FormatError>([&] { parse_vector_file(npy("(64,)", zeros64, "<f4", "True"), "a.npy"); }),
      "Fortran");
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file(npy("(64,)", zeros64, ">f4"), "a.npy"); }),
                  ">f4");
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file(npy("(-1,)", zeros64), "a.npy"); }), "shape");
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file(npy("(0,)", ""), "a.npy"); }), "no values");
  // Headers that are not the dict numpy writes.
  for (const std::string bad : {std::string("\x93NUMPY\x01\x00\x40\x00{", 11),
                                std::string("\x93NUMPY\x09\x00", 8), std::string("\x93NUMPY", 6)})
    EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file(bad, "a.npy"); }), "a.npy");
  std::string no_shape = npy("(1,)", f32s({1}));
  no_shape.replace(no_shape.find("'shape'"), 7, "'shapf'");
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file(no_shape, "a.npy"); }), "'shape'");
}

TEST(VectorFile, TextNumbers) {
  EXPECT_EQ(parse_vector_file("1 -2.5\n+3e2\t4\n", "v.txt"), (std::vector<float>{1, -2.5f, 300, 4}));
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file("1 nan 2", "v.txt"); }), "NaN");
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file("1 1e999", "v.txt"); }), "'1e999'");
  EXPECT_CONTAINS(error_of<FormatError>([&] { parse_vector_file("  \n", "v.txt"); }), "no values");
  // Garbage with a NUL is quoted in full, escaped: the message was cut at the NUL.
  EXPECT_EQ(error_of<FormatError>([&] { parse_vector_file(std::string("1 ab\0cd 2", 9), "v.txt"); }),
            "v.txt: 'ab\\x00cd' is not a number");
}

// --- sampling parameters ---

TEST(Sampler, RefusesParametersThatGiveGarbage) {
  EXPECT_NO_THROW(Sampler(0.0f, 0.9f, 1));
  EXPECT_NO_THROW(Sampler(Sampler::kMinTemperature, 1.0f, 1));
  for (float t : {std::nanf(""), 1e-45f, -1.0f, INFINITY, 1e-4f})
    EXPECT_CONTAINS(error_of<InputError>([&] { Sampler(t, 0.9f, 1); }), "temperature");
  for (float p : {std::nanf(""), -1.0f, 2.0f, 0.0f})
    EXPECT_CONTAINS(error_of<InputError>([&] { Sampler(1.0f, p, 1); }), "top-p");
}

// --- layer ranges ---

TEST(HookSelector, LayerRangesOutOfIntRangeAreInputErrors) {
  const Config c = testing::tiny_config();
  EXPECT_CONTAINS(error_of<InputError>([&] {
                    HookSelector::select(
                        c, std::vector<std::string>{"blocks.0-99999999999999999999.hook_resid_post"});
                  }),
                  "99999999999999999999 is out of range");
  // A range past the model's layers selects the layers there are.
  EXPECT_EQ(HookSelector::select(c, std::vector<std::string>{"blocks.0-2000000000.hook_resid_post"}).size(),
            static_cast<size_t>(c.n_layers));
  EXPECT_THROW(HookSelector::select(c, std::vector<std::string>{"blocks.5-9.hook_resid_post"}), InputError);
}

// --- HF config.json ---

TEST(HfConfig, NumberOverflowIsAFormatErrorNamingTheFile) {
  TempDir dir;
  write_bytes(dir.file("config.json"), R"({"hidden_size": 1e999})");
  write_bytes(dir.file("model.safetensors"), std::string(8, '\0'));
  const std::string message = error_of<Error>([&] { load_model(dir.path().string()); });
  EXPECT_CONTAINS(message, "config.json");
}

}  // namespace
}  // namespace resid
