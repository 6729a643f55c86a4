#include "datasets/jsonl_dataset.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/input_file.h"
#include "datasets/encoding.h"

namespace resid {
namespace {

using json = nlohmann::json;

constexpr const char* kArrayHint = " (a JSON array is not JSONL: give one object per line)";

json parse_row(const std::string& line, const std::string& where) {
  json row;
  try {
    row = json::parse(line);
  } catch (const json::exception& e) {
    // parse_error, or out_of_range for a number like 1e999. nlohmann's message starts with
    // "[json.exception.parse_error.101] "; the rest is the useful part.
    std::string what = e.what();
    if (const size_t close = what.find("] "); close != std::string::npos) what.erase(0, close + 2);
    const size_t first = line.find_first_not_of(" \t");
    const bool array = first != std::string::npos && line[first] == '[';
    throw InputError(where + ": invalid JSON: " + printable(what) + (array ? kArrayHint : ""));
  }
  if (!row.is_object()) {
    throw InputError(where + ": expected a JSON object, got " + std::string(row.type_name()) +
                     (row.is_array() ? kArrayHint : ""));
  }
  return row;
}

const json& field(const json& row, const std::string& name, const std::string& where) {
  const auto it = row.find(name);
  if (it == row.end()) throw InputError(where + ": no field \"" + name + "\"");
  return *it;
}

std::string kind_word(const json& v) {
  if (v.is_boolean()) return "a bool";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  return std::string(v.is_null() ? "null" : v.is_array() ? "an array" : "an object");
}

}  // namespace

JsonlDataset::JsonlDataset(const DatasetOptions& options, const Tokenizer& tokenizer)
    : LineDataset(options), tokenizer_(tokenizer), rules_(options.rules) {
  type_columns();
  for (LabelColumn& c : rules_.columns()) columns_.push_back(std::move(c));
}

void JsonlDataset::type_columns() {
  for (const std::string& name : options_.label_fields)
    columns_.push_back({name, LabelColumn::Kind::SequenceNumber, {}});
  std::string line;
  while (reader_.next(line)) {
    if (is_blank(line)) continue;
    const std::string at = where(reader_.path(), reader_.line_number());
    const json row = parse_row(line, at);
    for (LabelColumn& c : columns_) {
      const json& v = field(row, c.name, at);
      if (v.is_string()) c.kind = LabelColumn::Kind::SequenceClass;
    }
    typed_at_ = reader_.line_number();
    break;
  }
  reader_.rewind();
}

double JsonlDataset::label_value(const json& row, size_t column, const std::string& where) {
  LabelColumn& c = columns_[column];
  const json& v = field(row, c.name, where);
  const bool as_class = c.kind == LabelColumn::Kind::SequenceClass;
  if (v.is_string() && as_class) return c.class_id(v.get<std::string>(), where);
  if (v.is_boolean() && !as_class) return v.get<bool>() ? 1.0 : 0.0;
  if (v.is_number() && !as_class) return v.get<double>();
  std::string problem = "field \"" + c.name + "\" is " + kind_word(v);
  if (v.is_string() || v.is_number() || v.is_boolean()) {
    problem += ", but line " + std::to_string(typed_at_) + " made it a " +
               (as_class ? "class (string)" : "number") + " column";
  } else {
    problem += "; a label must be a number, a bool or a string";
  }
  throw InputError(where + ": " + problem);
}

void JsonlDataset::parse(const std::string& line, const std::string& where, Example& out) {
  const json row = parse_row(line, where);
  const json& text = field(row, options_.text_field, where);
  if (!text.is_string()) {
    throw InputError(where + ": field \"" + options_.text_field + "\" is " + kind_word(text) +
                     ", not a string");
  }
  // Labels first: a bad row fails before the cost of tokenising it.
  const size_t n_fields = options_.label_fields.size();
  for (size_t i = 0; i < n_fields; ++i) out.sequence_values[i] = label_value(row, i, where);
  const std::vector<TokenSpan> spans =
      encode_example(tokenizer_, text.get<std::string>(), options_, where, out);
  rules_.apply(out.text, spans, n_fields, out);
}

std::string JsonlDataset::describe() const {
  std::string out = "jsonl text=" + options_.text_field;
  if (!options_.label_fields.empty()) {
    out += " labels=";
    for (size_t i = 0; i < options_.label_fields.size(); ++i)
      out += (i ? "," : "") + options_.label_fields[i];
  }
  return out + describe_encoding(options_);
}

}  // namespace resid
