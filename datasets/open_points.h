// The one way to get labelled points for training: a generator spec (toy_points.h), an IDX images file with
// its IDX labels, or a CSV file. Files are told apart by their bytes: gzip or a 0x0000 IDX magic is IDX,
// anything else CSV. An existing file named like a generator ("moons") is read as a file.
#pragma once
#include <string>

#include "datasets/csv_points.h"
#include "datasets/point_set.h"
#include "datasets/toy_points.h"

namespace resid {

struct PointSource {
  std::string data;         // "spirals:3", "moons", ... or a file path
  std::string labels_path;  // IDX only: the labels file
  ToyOptions toy;           // generators only
  CsvPointOptions csv;      // CSV only
};

// InputError / FormatError naming the file: IDX images without labels, labels given for a generator or a CSV,
// and whatever the reader finds.
PointSet open_points(const PointSource& source);

}  // namespace resid
