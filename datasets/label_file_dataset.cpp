#include "datasets/label_file_dataset.h"

#include <charconv>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/input_file.h"

namespace resid {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The value as a finite number, if it is one in full ("0.5", "-3", "1e3").
bool parse_number(std::string_view s, double& value) {
  const auto [stop, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && stop == s.data() + s.size() && std::isfinite(value);
}

std::string count_message(const LabelFileSpec& spec, size_t rows, const std::string& examples) {
  return spec.path + ": " + std::to_string(rows) + " label" + (rows == 1 ? "" : "s") + " for " + examples +
         " examples";
}

}  // namespace

LabelFileSpec parse_label_file_spec(const std::string& spec) {
  const size_t eq = spec.find('=');
  LabelFileSpec out;
  if (eq == std::string::npos) {
    out.path = spec;
    out.name = std::filesystem::path(spec).stem().string();
  } else {
    out.name = spec.substr(0, eq);
    out.path = spec.substr(eq + 1);
  }
  if (out.name.empty() || out.path.empty()) {
    throw InputError("label file \"" + spec +
                     "\": expected NAME=PATH (or a PATH whose stem names the column)");
  }
  return out;
}

LabelFileDataset::LabelFileDataset(std::unique_ptr<Dataset> inner,
                                   const std::vector<std::string>& label_files)
    : inner_(std::move(inner)), columns_(inner_->labels()), first_column_(columns_.size()) {
  for (const std::string& text : label_files) {
    File file{parse_label_file_spec(text), 0, nullptr};
    require_regular_file(file.spec.path, "the label file");
    if (!std::filesystem::is_regular_file(file.spec.path)) {
      throw InputError(file.spec.path + ": no such label file");
    }
    file.reader = std::make_unique<LineReader>(file.spec.path);
    // First pass: count rows and see whether every value is a number.
    bool numeric = true;
    double number = 0;
    while (file.reader->next(line_)) {
      const std::string_view value = trim(line_);
      if (value.empty()) {
        throw InputError(where(file.spec.path, file.reader->line_number()) +
                         ": empty label (a label file has one value per line, line i labelling example i)");
      }
      numeric = numeric && parse_number(value, number);
      ++file.rows;
    }
    LabelColumn column{
        file.spec.name, numeric ? LabelColumn::Kind::SequenceNumber : LabelColumn::Kind::SequenceClass, {}};
    // Second pass for class columns: every class is known before the first example, in first-seen order.
    file.reader->rewind();
    if (!numeric) {
      while (file.reader->next(line_))
        column.class_id(std::string(trim(line_)), where(file.spec.path, file.reader->line_number()));
      file.reader->rewind();
    }
    columns_.push_back(std::move(column));
    files_.push_back(std::move(file));
  }
  // Catch a misaligned file before any capture work when the examples can be counted cheaply.
  if (const auto n = inner_->count_examples()) {
    for (const File& file : files_) {
      if (file.rows != *n) throw InputError(count_message(file.spec, file.rows, std::to_string(*n)));
    }
  }
}

void LabelFileDataset::throw_too_few_labels(const File& file, size_t examples_so_far) {
  size_t n = examples_so_far;
  Example rest;
  try {
    while (inner_->next(rest)) ++n;
  } catch (const Error&) {
    // A bad row further on: the count is a lower bound, but the misalignment is the first problem met.
    throw InputError(count_message(file.spec, file.rows, "at least " + std::to_string(n + 1)));
  }
  throw InputError(count_message(file.spec, file.rows, std::to_string(n)));
}

double LabelFileDataset::value(File& file, LabelColumn& column) {
  if (!file.reader->next(line_)) throw InputError(file.spec.path + ": changed while it was being read");
  const std::string_view text = trim(line_);
  if (column.kind == LabelColumn::Kind::SequenceClass)
    return column.class_id(std::string(text), where(file.spec.path, file.reader->line_number()));
  double number = 0;
  if (text.empty() || !parse_number(text, number)) {
    throw InputError(where(file.spec.path, file.reader->line_number()) + ": changed while it was being read");
  }
  return number;
}

bool LabelFileDataset::next(Example& out) {
  if (!inner_->next(out)) {
    for (const File& file : files_) {
      if (file.rows != examples_)
        throw InputError(count_message(file.spec, file.rows, std::to_string(examples_)));
    }
    return false;
  }
  ++examples_;
  for (size_t i = 0; i < files_.size(); ++i) {
    if (examples_ > files_[i].rows) throw_too_few_labels(files_[i], examples_);
  }
  // The wrapped dataset's class lists grow as it reads; mirror them.
  const std::vector<LabelColumn>& inner_columns = inner_->labels();
  for (size_t i = 0; i < first_column_; ++i) {
    if (columns_[i].classes.size() != inner_columns[i].classes.size())
      columns_[i].classes = inner_columns[i].classes;
  }
  for (size_t i = 0; i < files_.size(); ++i) {
    out.sequence_values.push_back(value(files_[i], columns_[first_column_ + i]));
    out.token_classes.emplace_back();
  }
  return true;
}

void LabelFileDataset::rewind() {
  inner_->rewind();
  for (File& file : files_) file.reader->rewind();
  examples_ = 0;
}

std::string LabelFileDataset::describe() const {
  std::string out = inner_->describe() + " label_files=";
  for (size_t i = 0; i < files_.size(); ++i) {
    out += (i ? "," : "") + files_[i].spec.name + "=" +
           std::filesystem::path(files_[i].spec.path).filename().string();
  }
  return out;
}

}  // namespace resid
