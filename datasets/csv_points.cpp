#include "datasets/csv_points.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <string_view>

#include "core/error.h"
#include "datasets/line_reader.h"

namespace resid {

namespace {

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    std::string_view f =
        line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!f.empty() && is_space(f.front())) f.remove_prefix(1);
    while (!f.empty() && is_space(f.back())) f.remove_suffix(1);
    out.push_back(f);
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

bool parse_double(std::string_view f, double* v) {
  if (!f.empty() && f.front() == '+') f.remove_prefix(1);
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), *v);
  return !f.empty() && ec == std::errc() && end == f.data() + f.size();
}

// The label column's index among `n_fields`, from its name or 1-based number ("" = last).
size_t label_index(const std::string& where, const std::string& wanted,
                   const std::vector<std::string>& header, size_t n_fields) {
  if (wanted.empty()) return n_fields - 1;
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == wanted) return i;
  size_t number = 0;
  const auto [end, ec] = std::from_chars(wanted.data(), wanted.data() + wanted.size(), number);
  if (ec == std::errc() && end == wanted.data() + wanted.size() && number >= 1 && number <= n_fields)
    return number - 1;
  throw InputError(where + ": no label column '" + wanted + "' (" +
                   (header.empty()
                        ? "no header line; give a column number from 1 to " + std::to_string(n_fields)
                        : "the header has no such name and it is not a column number from 1 to " +
                              std::to_string(n_fields)) +
                   ")");
}

std::string column_name(size_t i, const std::vector<std::string>& header) {
  std::string s = "column " + std::to_string(i + 1);
  if (i < header.size()) s += " ('" + header[i] + "')";
  return s;
}

}  // namespace

PointSet read_csv_points(const std::string& path, const CsvPointOptions& options) {
  LineReader reader(path);
  std::vector<std::string> header;
  std::vector<std::vector<float>> rows;
  std::vector<std::string> labels;
  size_t n_fields = 0, label_at = 0;
  std::string line;
  while (reader.next(line)) {
    if (is_blank(line)) continue;
    const std::string at = where(path, reader.line_number());
    const std::vector<std::string_view> fields = split_fields(line);
    if (n_fields == 0) {
      n_fields = fields.size();
      if (n_fields < 2) throw InputError(at + ": 1 field; a CSV of points needs features and a label column");
      double v;
      if (std::none_of(fields.begin(), fields.end(),
                       [&](std::string_view f) { return parse_double(f, &v); })) {
        header.assign(fields.begin(), fields.end());
        label_at = label_index(at, options.label_column, header, n_fields);
        continue;
      }
      label_at = label_index(at, options.label_column, header, n_fields);
    }
    if (fields.size() != n_fields)
      throw InputError(at + ": ragged row: " + std::to_string(fields.size()) + " fields, but the first " +
                       (header.empty() ? "row has " : "line (the header) has ") + std::to_string(n_fields));
    std::vector<float> row;
    row.reserve(n_fields - 1);
    for (size_t i = 0; i < n_fields; ++i) {
      if (i == label_at) {
        if (fields[i].empty()) throw InputError(at + ": " + column_name(i, header) + ": empty label");
        labels.emplace_back(fields[i]);
        continue;
      }
      double v = 0;
      if (!parse_double(fields[i], &v) || !std::isfinite(v))
        throw InputError(at + ": " + column_name(i, header) + ": '" + std::string(fields[i]) +
                         "' is not a finite number");
      row.push_back(static_cast<float>(v));
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw InputError(path + ": no data rows");

  PointSet set;
  set.source = path;
  set.x.resize(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(n_fields - 1));
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c + 1 < n_fields; ++c) set.x(r, c) = rows[r][c];
  set.y.resize(rows.size());
  // All non-negative integers: the ids themselves. Otherwise class names, numbered in sorted order.
  const bool ids = std::all_of(labels.begin(), labels.end(), [](const std::string& l) {
    int32_t v = 0;
    const auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), v);
    return ec == std::errc() && end == l.data() + l.size() && v >= 0 && v < (1 << 24);
  });
  if (ids) {
    for (size_t r = 0; r < labels.size(); ++r) {
      std::from_chars(labels[r].data(), labels[r].data() + labels[r].size(), set.y[r]);
      set.n_classes = std::max(set.n_classes, set.y[r] + 1);
    }
    return set;
  }
  std::map<std::string, int32_t> id_of;
  for (const std::string& l : labels) id_of.emplace(l, 0);
  for (auto& [name, id] : id_of) {
    id = static_cast<int32_t>(set.class_names.size());
    set.class_names.push_back(name);
  }
  for (size_t r = 0; r < labels.size(); ++r) set.y[r] = id_of.at(labels[r]);
  set.n_classes = static_cast<int>(set.class_names.size());
  return set;
}

}  // namespace resid
