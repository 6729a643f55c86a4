#include "probes/capture_examples.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "capture/activation_reader.h"
#include "core/error.h"

namespace resid::probes {

namespace {

std::string mib(int64_t bytes) {
  char buf[32];
  if (bytes < (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / (1 << 10));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "index:P" -> P; throws for anything else but "last"/"mean".
int parse_index(const std::string& reduce) {
  if (reduce.rfind("index:", 0) != 0)
    throw InputError("reduce '" + reduce + "': expected last, mean or index:P");
  try {
    size_t used = 0;
    const int v = std::stoi(reduce.substr(6), &used);
    if (used + 6 != reduce.size()) throw std::invalid_argument(reduce);
    return v;
  } catch (const std::exception&) {
    throw InputError("reduce '" + reduce + "': '" + reduce.substr(6) + "' is not an integer");
  }
}

}  // namespace

int64_t activation_budget(const CaptureExamples& ex, int64_t memory_bytes) {
  const int64_t index_bytes = ex.size() * ex.index_bytes_per_example();
  const int64_t minimum = index_bytes + 4 * ex.row_bytes();  // streamed chunks of at least one /acts row
  if (memory_bytes < minimum)
    throw InputError("memory_bytes " + mib(memory_bytes) + " is below the example index (" +
                     mib(index_bytes) + " for " + std::to_string(ex.size()) +
                     " examples) plus one /acts row per chunk; give at least " + mib(minimum));
  return memory_bytes - index_bytes;
}

int64_t CaptureExamples::row_bytes() const {
  int64_t n = 4;
  for (int64_t s : row_shape) n *= s;
  return n;
}

CaptureExamples index_capture_examples(const std::string& path, const ExampleOptions& o) {
  CaptureExamples ex;
  ex.path = path, ex.hook = o.hook, ex.label_name = o.label;
  const ActivationReader reader(path);  // one open file and one committed_rows for the whole index
  ex.summary = reader.summary();
  const ActivationFileSummary& s = ex.summary;
  const auto hook_it = std::find(s.hooks.begin(), s.hooks.end(), o.hook);
  if (hook_it == s.hooks.end())
    throw InputError(path + ": no hook '" + o.hook + "' in the capture (hooks: " + join(s.hooks) + ")");
  const HookDatasetSpec& spec = s.hook_specs[hook_it - s.hooks.begin()];
  const LabelColumn* column = nullptr;
  std::vector<std::string> label_names;
  for (const LabelColumn& c : s.labels) {
    label_names.push_back(c.name);
    if (c.name == o.label) column = &c;
  }
  const bool unlabelled = o.label.empty();
  if (!column && !unlabelled)
    throw InputError(path + ": no label '" + o.label + "' in the capture (labels: " +
                     (label_names.empty() ? std::string("none") : join(label_names)) + ")");
  ex.kind = unlabelled ? o.unlabelled_kind : column->kind;
  ex.row_shape = spec.row_shape;
  const int64_t n = s.committed_rows, n_pos = s.info.n_pos;
  if (n < 1) throw InputError(path + ": no committed rows");

  // Row shape: [n_pos, d] (every position), [d] (reduced) or [k, d] (indices).
  const bool per_position = spec.reduction == "none";
  if (!(ex.row_shape.size() == 1 ||
        (ex.row_shape.size() == 2 && (!per_position || ex.row_shape[0] == n_pos))))
    throw InputError(path + ": hook '" + o.hook + "' has rows of shape " + shape_string(ex.row_shape) +
                     "; probes need [n_pos, d_model], [d_model] or [k, d_model] rows");
  ex.d = ex.row_shape.back();

  const bool token_level = ex.kind == LabelColumn::Kind::TokenClass;
  const int64_t per_row = token_level ? n_pos : 1;
  if (token_level && !per_position)
    throw InputError(path + ": label '" + o.label + "' is per token but hook '" + o.hook +
                     "' was captured with " + "positions " + spec.reduction +
                     "; capture it with positions all");

  // Which d-vector of a row an example uses (sequence labels).
  auto sequence_offset = [&](int64_t r,
                             int32_t len) -> std::pair<int32_t, int32_t> {  // (offset, token position)
    if (ex.row_shape.size() == 1) return {0, len - 1};
    if (!per_position) {  // [k, d] from positions indices
      const int j = o.reduce == "last" ? static_cast<int>(ex.row_shape[0]) - 1 : parse_index(o.reduce);
      if (j < 0 || j >= ex.row_shape[0])
        throw InputError("reduce '" + o.reduce + "': hook '" + o.hook + "' holds " +
                         std::to_string(ex.row_shape[0]) + " indexed entries");
      return {j, len - 1};
    }
    if (o.reduce == "last") return {len - 1, len - 1};
    if (o.reduce == "mean") return {-1, len - 1};
    int p = parse_index(o.reduce);
    if (p < 0) p += len;
    if (p < 0 || p >= len)
      throw InputError(path + ": reduce '" + o.reduce + "' is outside row " + std::to_string(r) +
                       " of length " + std::to_string(len));
    return {p, p};
  };
  ex.reduce = token_level ? "none" : (ex.row_shape.size() == 1 ? spec.reduction : o.reduce);

  static const std::vector<std::string> kNoNames;
  const std::vector<std::string>& names = unlabelled ? kNoNames : column->classes;
  const bool drop_none = !unlabelled && token_level && !o.keep_none && !names.empty() && names[0] == "none";
  std::vector<int32_t> raw_label;
  // Tokens, lengths and labels are read in chunks of capture rows of at most kIndexChunkBytes, so indexing a
  // large capture holds only the index it builds (counted in the memory_bytes budget, docs/probes.md).
  const int64_t chunk = std::max<int64_t>(1, kIndexChunkBytes / (n_pos * 12 + 4));
  std::vector<int32_t> tokens, lengths;  // [chunk, n_pos], [chunk]
  std::vector<double> labels;            // [chunk, per_row]
  int64_t c0 = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (r == 0 || r - c0 >= chunk) {
      c0 = r;
      const int64_t rows = std::min(chunk, n - c0);
      reader.read_tokens(c0, rows, &tokens, &lengths);
      // Unlabelled: class 0 everywhere (a number label would read 0 too), every position kept.
      if (unlabelled)
        labels.assign(static_cast<size_t>(rows * per_row), 0.0);
      else
        reader.read_labels(o.label, c0, rows, &labels);
      if (static_cast<int64_t>(labels.size()) != rows * per_row)
        throw FormatError(path, "/labels/" + o.label + " has " + std::to_string(labels.size()) +
                                    " values for " + std::to_string(rows) +
                                    " committed activation rows from row " + std::to_string(c0) +
                                    " (expected " + std::to_string(rows * per_row) + ")");
    }
    const int64_t lr = r - c0;  // row within the chunk
    const int32_t len = lengths[lr];
    if (len < 1 || len > n_pos)
      throw FormatError(path, "/lengths[" + std::to_string(r) + "] is out of range");
    if (token_level) {
      for (int32_t p = 0; p < len; ++p) {
        const double v = labels[lr * n_pos + p];
        if (v < 0 || (drop_none && v == 0) || (o.position >= 0 && p != o.position)) continue;
        ex.row.push_back(r), ex.offset.push_back(p), ex.length.push_back(len);
        ex.token.push_back(tokens[lr * n_pos + p]);
        raw_label.push_back(static_cast<int32_t>(v));
      }
    } else {
      const double v = labels[lr];
      if (ex.kind == LabelColumn::Kind::SequenceClass ? v < 0 : !std::isfinite(v)) continue;
      const auto [offset, token_pos] = sequence_offset(r, len);
      ex.row.push_back(r), ex.offset.push_back(offset), ex.length.push_back(len);
      ex.token.push_back(tokens[lr * n_pos + token_pos]);
      if (ex.kind == LabelColumn::Kind::SequenceClass)
        raw_label.push_back(static_cast<int32_t>(v));
      else
        ex.value.push_back(v);
    }
  }
  if (ex.row.empty()) throw InputError(path + ": label '" + o.label + "' has no labelled examples");
  for (auto* v : {&ex.offset, &ex.length, &ex.token}) v->shrink_to_fit();
  ex.row.shrink_to_fit(), ex.value.shrink_to_fit();
  if (ex.classification()) {
    std::map<int32_t, int64_t> counts;
    for (int32_t v : raw_label) ++counts[v];
    std::map<int32_t, int32_t> compact;
    for (const auto& [id, count] : counts) {
      compact[id] = static_cast<int32_t>(ex.class_ids.size());
      ex.class_ids.push_back(id);
      ex.classes.push_back(id < static_cast<int32_t>(names.size()) ? names[id] : std::to_string(id));
    }
    if (ex.class_ids.size() < 2 && !unlabelled)
      throw InputError(path + ": label '" + o.label + "' has a single class ('" + ex.classes[0] +
                       "') in its " + std::to_string(ex.row.size()) +
                       " examples; a probe needs at least two");
    for (int32_t v : raw_label) ex.label.push_back(compact[v]);
  }
  return ex;
}

CaptureDesign::CaptureDesign(const CaptureExamples& examples, std::vector<int64_t> which, int64_t chunk_bytes,
                             const Standardiser* standardiser)
    : ex_(examples),
      which_(std::move(which)),
      chunk_rows_(std::max<int64_t>(
          1, std::min(chunk_bytes, kMaxChunkBytes) / std::max<int64_t>(1, examples.row_bytes()))),
      standardiser_(standardiser) {}

void CaptureDesign::for_each_block(const std::function<void(int64_t, ConstMatrixMap)>& fn) const {
  const int64_t d = ex_.d;
  const int64_t row_elems = ex_.row_bytes() / 4;
  size_t i = 0;
  RowMatrix block;
  const ActivationReader reader(ex_.path);  // one open file for the whole pass
  std::vector<float> acts;
  while (i < which_.size()) {
    const int64_t r0 = ex_.row[which_[i]];
    // Rows [r0, r1): at most chunk_rows_, and through the last row that the next examples need.
    int64_t r1 = r0 + 1;
    size_t j = i;
    while (j < which_.size() && ex_.row[which_[j]] < r0 + chunk_rows_) r1 = ex_.row[which_[j++]] + 1;
    reader.read_rows(ex_.hook, r0, r1 - r0, &acts);  // [r1-r0, row...]
    block.resize(static_cast<Eigen::Index>(j - i), d);
    for (size_t e = i; e < j; ++e) {
      const int64_t k = which_[e];
      const float* row = acts.data() + (ex_.row[k] - r0) * row_elems;
      auto out = block.row(static_cast<Eigen::Index>(e - i));
      if (ex_.offset[k] >= 0) {
        out = Eigen::Map<const Eigen::RowVectorXf>(row + int64_t(ex_.offset[k]) * d, d);
      } else {  // mean over the row's real positions, in float64
        Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(d);
        for (int32_t p = 0; p < ex_.length[k]; ++p)
          sum += Eigen::Map<const Eigen::RowVectorXf>(row + int64_t(p) * d, d).cast<double>();
        out = (sum / ex_.length[k]).cast<float>();
      }
      if (!out.allFinite()) {
        const bool nan = out.hasNaN();
        const std::string where = ex_.offset[k] >= 0 && ex_.row_shape.size() == 2
                                      ? " position " + std::to_string(ex_.offset[k])
                                      : "";
        throw InputError(ex_.path + ": /acts/" + ex_.hook + " row " + std::to_string(ex_.row[k]) + where +
                         " holds " + (nan ? "NaN" : "infinity"));
      }
    }
    if (standardiser_) standardiser_->apply(MatrixMap(block.data(), block.rows(), block.cols()));
    fn(static_cast<int64_t>(i), ConstMatrixMap(block.data(), block.rows(), block.cols()));
    i = j;
  }
}

RowMatrix load_examples(const CaptureExamples& examples, const std::vector<int64_t>& which,
                        const Standardiser* standardiser, int64_t chunk_bytes) {
  RowMatrix x(static_cast<Eigen::Index>(which.size()), examples.d);
  CaptureDesign(examples, which, chunk_bytes, standardiser)
      .for_each_block(
          [&](int64_t first, ConstMatrixMap block) { x.middleRows(first, block.rows()) = block; });
  return x;
}

}  // namespace resid::probes
