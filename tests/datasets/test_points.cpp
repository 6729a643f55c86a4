// Labelled points (datasets/point_set.h): the seeded 2-D generators, CSV files with a label column and their
// errors (ragged rows, non-numeric fields), splits, and open_points telling the sources apart.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "datasets/idx_file.h"
#include "datasets/open_points.h"
#include "test_support.h"

namespace resid {
namespace {

using testing::error_of;
using testing::TempDir;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(ToyPoints, EveryKindIsSeededBalancedAndTwoDimensional) {
  for (const ToyKind& kind : toy_kinds()) {
    SCOPED_TRACE(kind.name);
    ToyOptions o;
    o.n = 301;
    const PointSet a = make_toy_points(kind.name, o), b = make_toy_points(kind.name, o);
    EXPECT_EQ(a.x, b.x);
    EXPECT_EQ(a.y, b.y);
    EXPECT_EQ(a.n_features(), 2);
    EXPECT_EQ(a.size(), 301);
    EXPECT_EQ(a.n_classes, kind.default_k ? kind.default_k : 2);
    EXPECT_TRUE(a.x.allFinite());
    // Classes as even as possible: 301 = 100 + 100 + 101 (3 classes) or 150 + 151.
    std::vector<int> count(a.n_classes);
    for (int32_t c : a.y) ++count.at(c);
    for (int c : count) EXPECT_LE(std::abs(c - 301 / a.n_classes), 1);
    o.seed = 1;
    EXPECT_NE(make_toy_points(kind.name, o).x, a.x);
  }
}

TEST(ToyPoints, ShapesWithoutNoise) {
  ToyOptions o;
  o.n = 200;
  o.noise = 0.0;
  const PointSet xr = make_toy_points("xor", o);
  for (int64_t i = 0; i < xr.size(); ++i) {
    EXPECT_EQ(std::abs(xr.x(i, 0)), 1.0f);
    EXPECT_EQ(xr.y[i], (xr.x(i, 0) > 0) != (xr.x(i, 1) > 0) ? 1 : 0);
  }
  const PointSet circles = make_toy_points("circles", o);
  for (int64_t i = 0; i < circles.size(); ++i)
    EXPECT_NEAR(circles.x.row(i).norm(), circles.y[i] == 0 ? 1.0 : 0.5, 1e-6);
  const PointSet spirals = make_toy_points("spirals:5", o);
  EXPECT_EQ(spirals.n_classes, 5);
  EXPECT_EQ(spirals.source, "spirals:5 n=200 noise=0 seed=0");
  for (int64_t i = 0; i < spirals.size(); ++i) EXPECT_LE(spirals.x.row(i).norm(), 1.0f + 1e-6f);
  const PointSet blobs = make_toy_points("blobs:4", o);
  EXPECT_EQ(blobs.n_classes, 4);
  EXPECT_EQ(blobs.x.row(1), Eigen::RowVector2f(std::cos(M_PI / 2), std::sin(M_PI / 2)));
}

TEST(ToyPoints, BadSpecs) {
  ToyOptions o;
  EXPECT_CONTAINS(error_of<InputError>([&] { make_toy_points("swirls", o); }),
                  "unknown point set 'swirls' (expected xor, moons, circles, spirals[:k], blobs[:k])");
  EXPECT_CONTAINS(error_of<InputError>([&] { make_toy_points("xor:3", o); }), "xor has no :k");
  EXPECT_CONTAINS(error_of<InputError>([&] { make_toy_points("spirals:1", o); }), "at least 2 are needed");
  EXPECT_CONTAINS(error_of<InputError>([&] { make_toy_points("spirals:x", o); }),
                  "'x' is not a number of classes");
  o.noise = -0.1;
  EXPECT_CONTAINS(error_of<InputError>([&] { make_toy_points("moons", o); }), "noise -0.1 must be finite");
}

TEST(PointSplit, SeededDisjointAndComplete) {
  ToyOptions o;
  o.n = 100;
  const PointSet set = make_toy_points("blobs", o);
  const PointSplit s = split_points(set, 0.25, 4);
  EXPECT_EQ(s.train.size(), 75);
  EXPECT_EQ(s.test.size(), 25);
  EXPECT_EQ(s.test.x, split_points(set, 0.25, 4).test.x);
  EXPECT_NE(s.test.x, split_points(set, 0.25, 5).test.x);
  // Every row lands in exactly one side: the coordinate sums add up.
  EXPECT_NEAR(s.train.x.sum() + s.test.x.sum(), set.x.sum(), 1e-3);
  EXPECT_EQ(split_points(set, 0, 4).test.size(), 0);
  EXPECT_CONTAINS(error_of<InputError>([&] { split_points(set, 1.0, 0); }),
                  "test_fraction 1 is not in [0, 1)");
}

TEST(CsvPoints, HeaderNamedClassesAndLabelColumn) {
  TempDir dir;
  const std::string path = dir.file("p.csv");
  write_text(path, "x, y ,kind\r\n1,2,cat\n\n3.5,-4e1,dog\n+5,6,cat\n");
  const PointSet p = read_csv_points(path);
  EXPECT_EQ(p.size(), 3);
  EXPECT_EQ(p.x, (RowMatrix(3, 2) << 1, 2, 3.5f, -40, 5, 6).finished());
  EXPECT_EQ(p.y, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(p.class_names, (std::vector<std::string>{"cat", "dog"}));

  write_text(path, "0,1.5,2\n2,0.5,3\n");  // no header; label in column 1, integer ids
  CsvPointOptions first;
  first.label_column = "1";
  const PointSet q = read_csv_points(path, first);
  EXPECT_EQ(q.y, (std::vector<int32_t>{0, 2}));
  EXPECT_EQ(q.n_classes, 3);
  EXPECT_EQ(q.x, (RowMatrix(2, 2) << 1.5f, 2, 0.5f, 3).finished());
  first.label_column = "kind";
  EXPECT_CONTAINS(error_of<InputError>([&] { read_csv_points(path, first); }), "no label column 'kind'");
}

TEST(CsvPoints, RaggedRowsAndNonNumericFieldsNameFileLineAndColumn) {
  TempDir dir;
  const std::string path = dir.file("bad.csv");
  write_text(path, "x,y,label\n1,2,0\n3,4\n");
  EXPECT_EQ(error_of<InputError>([&] { read_csv_points(path); }),
            path + ":3: ragged row: 2 fields, but the first line (the header) has 3");
  write_text(path, "x,y,label\n1,2,0\n3,four,1\n");
  EXPECT_EQ(error_of<InputError>([&] { read_csv_points(path); }),
            path + ":3: column 2 ('y'): 'four' is not a finite number");
  write_text(path, "1,2,0\n1,nan,1\n");
  EXPECT_EQ(error_of<InputError>([&] { read_csv_points(path); }),
            path + ":2: column 2: 'nan' is not a finite number");
  write_text(path, "1,2,0\n1,2,0,7\n");
  EXPECT_EQ(error_of<InputError>([&] { read_csv_points(path); }),
            path + ":2: ragged row: 4 fields, but the first row has 3");
  write_text(path, "x,y,label\n");
  EXPECT_EQ(error_of<InputError>([&] { read_csv_points(path); }), path + ": no data rows");
}

TEST(OpenPoints, GeneratorsCsvAndIdxByContent) {
  TempDir dir;
  PointSource src;
  src.data = "moons";
  src.toy.n = 10;
  EXPECT_EQ(open_points(src).size(), 10);
  src.data = dir.file("p.txt");  // CSV whatever the extension
  write_text(src.data, "1,2,0\n3,4,1\n");
  EXPECT_EQ(open_points(src).size(), 2);
  IdxArray images, labels;
  images.dims = {3, 2};
  images.bytes = {0, 255, 255, 0, 0, 0};
  labels.dims = {3};
  labels.bytes = {1, 0, 1};
  src.data = dir.file("im.idx.gz");
  write_idx(src.data, images, true);
  EXPECT_CONTAINS(error_of<InputError>([&] { open_points(src); }), "IDX images need their IDX labels file");
  src.labels_path = dir.file("lab.idx");
  write_idx(src.labels_path, labels, false);
  const PointSet p = open_points(src);
  EXPECT_EQ(p.y, (std::vector<int32_t>{1, 0, 1}));
  EXPECT_EQ(p.x(0, 1), 1.0f);
  labels.dims = {2};
  labels.bytes = {1, 0};
  write_idx(src.labels_path, labels, false);
  EXPECT_CONTAINS(error_of<InputError>([&] { open_points(src); }),
                  "has 2 labels but " + src.data + " has 3 images");
  src.data = dir.file("none.csv");
  EXPECT_CONTAINS(error_of<InputError>([&] { open_points(src); }), "no such file, nor a point set");
}

}  // namespace
}  // namespace resid
