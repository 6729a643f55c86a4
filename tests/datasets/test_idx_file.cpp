// The IDX reader (datasets/idx_file.h) and image sets (datasets/image_set.h): files written by the test,
// plain and gzip, every element type, the bad headers a corrupt download produces, and the real MNIST test
// set.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "datasets/idx_file.h"
#include "datasets/image_set.h"
#include "test_support.h"

namespace resid {
namespace {

using testing::error_of;
using testing::TempDir;

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

IdxArray u8(std::vector<int64_t> dims, std::vector<uint8_t> bytes) {
  IdxArray a;
  a.type = IdxType::U8;
  a.dims = std::move(dims);
  a.bytes = std::move(bytes);
  return a;
}

TEST(IdxFile, PlainAndGzipRoundTrip) {
  TempDir dir;
  const IdxArray a = u8({3, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255});
  for (bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "plain");
    const std::string path = dir.file(gzip ? "a.idx.gz" : "a.idx");
    write_idx(path, a, gzip);
    const IdxArray b = read_idx(path);
    EXPECT_EQ(b.type, IdxType::U8);
    EXPECT_EQ(b.dims, (std::vector<int64_t>{3, 2, 2}));
    EXPECT_EQ(b.bytes, a.bytes);
    EXPECT_EQ(b.at(11), 255.0);
  }
  // The gzip file really is compressed (magic 1f 8b), the plain one starts with the IDX magic.
  std::ifstream gz(dir.file("a.idx.gz"), std::ios::binary);
  EXPECT_EQ(gz.get(), 0x1f);
  EXPECT_EQ(gz.get(), 0x8b);
}

TEST(IdxFile, EveryElementTypeIsBigEndian) {
  TempDir dir;
  const std::string path = dir.file("t.idx");
  struct Case {
    IdxType type;
    std::vector<uint8_t> bytes;
    double expected;
  };
  const std::vector<Case> cases = {
      {IdxType::I8, {0xFE}, -2},
      {IdxType::I16, {0xFF, 0x38}, -200},
      {IdxType::I32, {0x00, 0x01, 0x00, 0x02}, 65538},
      {IdxType::F32, {0x3F, 0xC0, 0x00, 0x00}, 1.5},
      {IdxType::F64, {0xC0, 0x04, 0, 0, 0, 0, 0, 0}, -2.5},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(idx_type_name(c.type));
    IdxArray a;
    a.type = c.type;
    a.dims = {1};
    a.bytes = c.bytes;
    write_idx(path, a, false);
    EXPECT_EQ(read_idx(path).at(0), c.expected);
  }
}

TEST(IdxFile, BadFilesNameThePathAndTheProblem) {
  TempDir dir;
  const std::string path = dir.file("bad.idx");
  struct Case {
    const char* label;
    std::vector<uint8_t> bytes;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"PNG instead", {0x89, 'P', 'N', 'G', 0, 0, 0, 0}, "not an IDX file: magic 0x89504E47"},
      {"unknown type", {0, 0, 0x07, 1, 0, 0, 0, 1, 0}, "not an IDX file: magic 0x00000701"},
      {"zero dimensions", {0, 0, 0x08, 0}, "not an IDX file: magic 0x00000800"},
      {"shorter than a magic", {0, 0}, "truncated: 2 bytes"},
      {"ends inside the dimensions", {0, 0, 8, 3, 0, 0, 0, 2, 0, 0}, "ends inside them"},
      {"truncated elements",
       {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3},
       "declares 2 x 3 unsigned byte elements (6 bytes) but the file holds only 3"},
      {"bytes after the elements", {0, 0, 8, 1, 0, 0, 0, 1, 7, 8}, "has bytes after the 1 elements"},
      // 65535^3 bytes is 2.8e14: refused from the header, before any allocation.
      {"absurd dimensions", {0, 0, 8, 3, 0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF}, "byte limit"},
      {"corrupt gzip",
       {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4},
       "corrupt gzip data"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    write_bytes(path, c.bytes);
    const std::string msg = error_of<FormatError>([&] { read_idx(path); });
    EXPECT_CONTAINS(msg, path);
    EXPECT_CONTAINS(msg, c.expected);
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  EXPECT_CONTAINS(error_of<FormatError>([&] { read_idx(dir.file("absent.idx")); }), "cannot open");
  EXPECT_CONTAINS(error_of<FormatError>([&] { read_idx(dir.path().string()); }), "is a directory");
}

TEST(IdxFile, TruncatedGzipStreamIsAnError) {
  TempDir dir;
  const std::string full = dir.file("full.idx.gz"), path = dir.file("short.idx.gz");
  std::vector<uint8_t> values(100000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  write_idx(full, u8({100, 1000}, values), true);
  std::ifstream in(full, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  bytes.resize(bytes.size() / 2);  // the download stopped half way
  write_bytes(path, bytes);
  const std::string msg = error_of<FormatError>([&] { read_idx(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("corrupt gzip") != std::string::npos)
      << msg;
}

TEST(ImageSet, PixelsAreScaledToUnitRangeAndLabelsMatch) {
  TempDir dir;
  const std::string images = dir.file("img.idx.gz"), labels = dir.file("lab.idx");
  write_idx(images, u8({2, 1, 3}, {0, 51, 255, 255, 0, 102}), true);
  write_idx(labels, u8({2}, {3, 9}), false);
  const ImageSet set = read_idx_images(images, labels);
  EXPECT_EQ(set.size(), 2);
  EXPECT_EQ(set.image_shape, (std::vector<int64_t>{1, 3}));
  ASSERT_EQ(set.pixels.cols(), 3);
  EXPECT_FLOAT_EQ(set.pixels(0, 1), 0.2f);
  EXPECT_FLOAT_EQ(set.pixels(0, 2), 1.0f);
  EXPECT_FLOAT_EQ(set.pixels(1, 2), 0.4f);
  EXPECT_EQ(set.labels, (std::vector<int32_t>{3, 9}));
  EXPECT_TRUE(read_idx_images(images).labels.empty());
}

TEST(ImageSet, LabelCountDifferingFromImageCountNamesBothFiles) {
  TempDir dir;
  const std::string images = dir.file("img.idx"), labels = dir.file("lab.idx");
  write_idx(images, u8({3, 2}, {1, 2, 3, 4, 5, 6}), false);
  write_idx(labels, u8({2}, {0, 1}), false);
  const std::string msg = error_of<InputError>([&] { read_idx_images(images, labels); });
  EXPECT_CONTAINS(msg, labels + ": has 2 labels but " + images + " has 3 images");

  write_idx(labels, u8({3, 1}, {0, 1, 2}), false);
  EXPECT_CONTAINS(error_of<FormatError>([&] { read_idx_images(images, labels); }),
                  "labels must be one-dimensional");
  write_idx(images, u8({6}, {1, 2, 3, 4, 5, 6}), false);
  EXPECT_CONTAINS(error_of<FormatError>([&] { read_idx_images(images); }), "has 1 dimension");
}

TEST(ImageSet, RealMnistTestSet) {
  RESID_REQUIRE_SHARED(images_path, "data/mnist/t10k-images-idx3-ubyte.gz");
  RESID_REQUIRE_SHARED(labels_path, "data/mnist/t10k-labels-idx1-ubyte.gz");
  const ImageSet set = read_idx_images(images_path, labels_path);
  EXPECT_EQ(set.size(), 10000);
  EXPECT_EQ(set.image_shape, (std::vector<int64_t>{28, 28}));
  EXPECT_EQ(set.pixels.cols(), 784);
  EXPECT_GE(set.pixels.minCoeff(), 0.0f);
  EXPECT_LE(set.pixels.maxCoeff(), 1.0f);
  std::vector<int> per_class(10, 0);
  for (int32_t l : set.labels) {
    ASSERT_GE(l, 0);
    ASSERT_LE(l, 9);
    ++per_class[l];
  }
  for (int c = 0; c < 10; ++c)
    EXPECT_GT(per_class[c], 800) << "class " << c;  // MNIST's classes are 892..1135
}

}  // namespace
}  // namespace resid
