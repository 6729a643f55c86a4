// Labelled points from a CSV file: comma-separated numeric features and one label column. The first line is a
// header when none of its fields is a number ("x,y,label"); otherwise every line is data. Blank lines are
// skipped; there is no quoting. Labels that are all non-negative integers are the class ids; any other labels
// are class names, numbered in sorted order.
#pragma once
#include <string>

#include "datasets/point_set.h"

namespace resid {

struct CsvPointOptions {
  // The label column: a header name, or a 1-based column number; "" for the last column.
  std::string label_column;
};

// Throws InputError "path:line: ..." naming the line and, for a bad field, the column (number and header
// name): a row with a different number of fields than the first ("ragged row"), a feature that is not a
// finite number, an empty label, a label column the header lacks; and for a file with no data rows.
PointSet read_csv_points(const std::string& path, const CsvPointOptions& options = {});

}  // namespace resid
