#include "capture/capture.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "hooks/hook_point.h"
#include "hooks/hook_selector.h"
#include "hooks/hook_set.h"

namespace resid {

PositionSpec PositionSpec::parse(const std::string& text) {
  PositionSpec p;
  if (text == "all") return p;
  if (text == "last") return p.mode = Mode::Last, p;
  if (text == "mean") return p.mode = Mode::Mean, p;
  p.mode = Mode::Indices;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      p.indices.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw InputError("positions '" + text +
                       "': expected all, last, mean or comma-separated indices like 0,5,-1");
    }
  }
  if (p.indices.empty()) throw InputError("positions '" + text + "': no indices given");
  return p;
}

std::string PositionSpec::describe() const {
  switch (mode) {
    case Mode::All: return "all";
    case Mode::Last: return "last";
    case Mode::Mean: return "mean";
    case Mode::Indices: {
      std::string s = "indices:";
      for (size_t i = 0; i < indices.size(); ++i) s += (i ? "," : "") + std::to_string(indices[i]);
      return s;
    }
  }
  return "?";
}

namespace {

bool is_attention_map(HookSite s) {
  return axis_index(s, Axis::KPos) >= 0;
}

// Everything one batch contributes to the file, in the writer's layout.
struct Batch {
  int64_t n = 0;
  std::vector<int32_t> tokens, lengths;              // [n, n_pos], [n]
  std::vector<std::vector<double>> sequence_labels;  // per sequence column: [n]
  std::vector<std::vector<int32_t>> token_labels;    // per token column: [n, n_pos]
  std::vector<std::vector<float>> acts;              // per hook: [n, row...]
  std::vector<std::vector<int32_t>> ids;             // unpadded, for the forward
  int64_t token_count = 0;
};

// Reduces one hook activation of a [B, P, ...] forward into rows of the file's layout.
class HookRecorder {
 public:
  HookRecorder(HookPointId point, const Config& c, const PositionSpec& positions, int n_pos)
      : point_(point), positions_(positions), n_pos_(n_pos) {
    const std::vector<int64_t> shape = hook_shape(c, point.site, 1, 1);
    if (is_attention_map(point.site)) {
      if (positions.mode != PositionSpec::Mode::All)
        throw InputError("positions " + positions.describe() + ": " + hook_name(point.site, point.layer) +
                         " is an attention map; capture it with positions all");
      heads_ = shape[1];
      spec_.row_shape = {heads_, n_pos, n_pos};
    } else {
      for (size_t i = 2; i < shape.size(); ++i) trailing_.push_back(shape[i]);
      width_ = 1;
      for (int64_t d : trailing_) width_ *= d;
      spec_.row_shape = trailing_;
      if (positions.mode == PositionSpec::Mode::All) spec_.row_shape.insert(spec_.row_shape.begin(), n_pos);
      if (positions.mode == PositionSpec::Mode::Indices)
        spec_.row_shape.insert(spec_.row_shape.begin(), static_cast<int64_t>(positions.indices.size()));
    }
    spec_.hook = hook_name(point.site, point.layer);
    spec_.layer = point.layer;
    spec_.reduction = positions.mode == PositionSpec::Mode::All ? "none" : positions.describe();
    row_elems_ = 1;
    for (int64_t d : spec_.row_shape) row_elems_ *= d;
  }
  const HookDatasetSpec& spec() const { return spec_; }
  int64_t row_elems() const { return row_elems_; }

  // act: [B, P, trailing...] or [B, H, P, P]; out: [B, row_elems] (zero-filled by the caller).
  void record(const ActivationView& act, float* out) const {
    const int64_t B = act.shape[0];
    for (int64_t b = 0; b < B; ++b) {
      const int len = (*act.lengths)[b];
      float* row = out + b * row_elems_;
      if (is_attention_map(point_.site)) {
        const int64_t P = act.shape[2], K = act.shape[3];
        for (int64_t h = 0; h < heads_; ++h)
          for (int64_t q = 0; q < len; ++q)
            std::memcpy(row + (h * n_pos_ + q) * n_pos_, act.data + ((b * heads_ + h) * P + q) * K,
                        sizeof(float) * std::min<int64_t>(K, n_pos_));
        continue;
      }
      const int64_t P = act.shape[1];
      const float* seq = act.data + b * P * width_;
      switch (positions_.mode) {
        case PositionSpec::Mode::All: std::memcpy(row, seq, sizeof(float) * len * width_); break;
        case PositionSpec::Mode::Last:
          std::memcpy(row, seq + (len - 1) * width_, sizeof(float) * width_);
          break;
        case PositionSpec::Mode::Mean:
          for (int p = 0; p < len; ++p)
            for (int64_t j = 0; j < width_; ++j) row[j] += seq[p * width_ + j];
          for (int64_t j = 0; j < width_; ++j) row[j] /= static_cast<float>(len);
          break;
        case PositionSpec::Mode::Indices:
          for (size_t k = 0; k < positions_.indices.size(); ++k) {
            const int p = positions_.indices[k] >= 0 ? positions_.indices[k] : len + positions_.indices[k];
            if (p < 0 || p >= len)
              throw InputError("positions " + positions_.describe() + ": position " +
                               std::to_string(positions_.indices[k]) + " does not exist in a sequence of " +
                               std::to_string(len) + " tokens");
            std::memcpy(row + k * width_, seq + p * width_, sizeof(float) * width_);
          }
          break;
      }
    }
  }

 private:
  HookPointId point_;
  PositionSpec positions_;
  int n_pos_;
  int64_t heads_ = 0, width_ = 0, row_elems_ = 0;
  std::vector<int64_t> trailing_;
  HookDatasetSpec spec_;
};

// Row i of the file is example i of the dataset: an example that cannot become a row is an error, never
// skipped.
void check_example(const Example& ex, int n_pos, const std::string& where) {
  if (ex.tokens.empty())
    throw InputError(where + ": example at line " + std::to_string(ex.source_line) +
                     " has no tokens (an empty text without BOS); every example must give a row");
  if (static_cast<int>(ex.tokens.size()) > n_pos)
    throw InputError(where + ": example at line " + std::to_string(ex.source_line) + " has " +
                     std::to_string(ex.tokens.size()) +
                     " tokens, more than n_pos = " + std::to_string(n_pos));
}

// The rows this run will write: a first pass over the dataset (tokenising only), which also finds every bad
// example and every class name before the file is created. The file is allocated at this size.
int64_t count_rows(Dataset& dataset, int n_pos, int64_t max_rows, const std::string& where) {
  dataset.rewind();
  int64_t rows = 0;
  Example ex;
  while ((max_rows <= 0 || rows < max_rows) && dataset.next(ex)) {
    check_example(ex, n_pos, where);
    ++rows;
  }
  dataset.rewind();
  return rows;
}

// Reads up to `size` examples into a batch; returns false when the dataset is exhausted and nothing was read.
// `where` names the dataset file in errors.
bool read_batch(Dataset& dataset, int size, int n_pos, const std::string& where, Batch& batch) {
  // clear(), not a fresh Batch: buffers keep their capacity from batch to batch, so no page is faulted in
  // twice.
  batch.n = 0;
  batch.token_count = 0;
  batch.tokens.clear();
  batch.lengths.clear();
  batch.ids.clear();
  for (auto& column : batch.sequence_labels) column.clear();
  for (auto& column : batch.token_labels) column.clear();
  Example ex;
  while (batch.n < size && dataset.next(ex)) {
    check_example(ex, n_pos, where);
    batch.ids.push_back(ex.tokens);
    const size_t n_cols = dataset.labels().size();
    batch.sequence_labels.resize(n_cols);
    batch.token_labels.resize(n_cols);
    for (size_t c = 0; c < n_cols; ++c) {
      if (dataset.labels()[c].kind == LabelColumn::Kind::TokenClass) {
        std::vector<int32_t> row(n_pos, -1);
        const auto& tc = ex.token_classes.at(c);
        std::copy(tc.begin(), tc.begin() + std::min<size_t>(tc.size(), n_pos), row.begin());
        batch.token_labels[c].insert(batch.token_labels[c].end(), row.begin(), row.end());
      } else {
        batch.sequence_labels[c].push_back(ex.sequence_values.at(c));
      }
    }
    std::vector<int32_t> padded(n_pos, -1);
    std::copy(ex.tokens.begin(), ex.tokens.end(), padded.begin());
    batch.tokens.insert(batch.tokens.end(), padded.begin(), padded.end());
    batch.lengths.push_back(static_cast<int32_t>(ex.tokens.size()));
    batch.token_count += static_cast<int64_t>(ex.tokens.size());
    ++batch.n;
  }
  return batch.n > 0;
}

// The writer thread and the two batch buffers it alternates with the forward. Buffers handed to the writer
// stay alive (and unmodified) until it has finished with them, whatever is thrown on either side: the
// destructor waits for the write in flight before any buffer is freed.
class BackgroundWriter {
 public:
  explicit BackgroundWriter(ActivationFileWriter& writer) : writer_(writer) {}
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;
  ~BackgroundWriter() {
    if (pending_.valid()) pending_.wait();  // its error, if any, is dropped: another one is already in flight
  }

  // The buffer to fill next; never the one being written.
  Batch& next_buffer() { return batches_[current_]; }

  // Writes and commits next_buffer() on the writer thread, after the previous write has finished (its error
  // is rethrown here).
  void submit(const std::vector<LabelColumn>& labels) {
    wait();
    Batch& batch = batches_[current_];
    pending_ = std::async(std::launch::async, [this, &batch, labels] {
      std::vector<const float*> acts;
      for (const auto& a : batch.acts) acts.push_back(a.data());
      writer_.append(batch.n, batch.tokens.data(), batch.lengths.data(), batch.sequence_labels,
                     batch.token_labels, acts);
      writer_.commit(labels);
    });
    current_ ^= 1;
  }

  // Waits for the write in flight; rethrows its error.
  void wait() {
    if (pending_.valid()) pending_.get();
  }

 private:
  ActivationFileWriter& writer_;
  Batch batches_[2];
  int current_ = 0;
  std::future<void> pending_;  // declared last: destroyed (after the explicit wait) before the buffers
};

// Skips the rows the file already has, then reads, forwards and writes batches until the dataset ends,
// max_rows is reached or a stop is requested. Sets *dataset_failed when reading the dataset threw.
CaptureResult stream(const Transformer& model, Dataset& dataset, ActivationFileWriter& writer,
                     const std::vector<HookPointId>& points, const std::vector<HookRecorder>& recorders,
                     int n_pos, int batch_size, int64_t total_rows, const std::string& where,
                     const CaptureOptions& options, bool* dataset_failed) {
  CaptureResult result;
  result.rows = writer.committed_rows();
  *dataset_failed = true;
  dataset.rewind();
  Example skipped;
  for (int64_t r = 0; r < result.rows; ++r)
    if (!dataset.next(skipped))
      throw InputError(where + ": has fewer examples than the " + std::to_string(result.rows) +
                       " rows already in the activation file");
  *dataset_failed = false;
  if (options.on_start) options.on_start();

  const auto start = std::chrono::steady_clock::now();
  BackgroundWriter background(writer);  // the previous batch's write overlaps this batch's forward
  bool exhausted = false;
  while (!(options.stop && options.stop->load())) {
    // The first pass counted the rows (count_rows); the file holds exactly that many.
    const int64_t want = std::min<int64_t>(batch_size, total_rows - result.rows);
    if (want <= 0) break;
    Batch& batch = background.next_buffer();
    *dataset_failed = true;
    if (!read_batch(dataset, static_cast<int>(want), n_pos, where, batch)) {
      *dataset_failed = false;
      exhausted = true;
      break;
    }
    *dataset_failed = false;
    // Forward with recorders writing straight into the batch's row buffers.
    batch.acts.resize(recorders.size());
    for (size_t h = 0; h < recorders.size(); ++h)
      batch.acts[h].assign(batch.n * recorders[h].row_elems(), 0.0f);
    HookSet hooks;
    for (size_t h = 0; h < recorders.size(); ++h)
      hooks.add(points[h], [&, h](ActivationView& act) { recorders[h].record(act, batch.acts[h].data()); });
    ForwardOptions fwd;
    fwd.logits = LogitsAt::None;
    fwd.hooks = &hooks;
    model.forward(TokenBatch::pad(batch.ids), fwd);

    background.submit(dataset.labels());
    result.rows += batch.n;
    result.new_rows += batch.n;
    result.new_tokens += batch.token_count;
    if (options.on_progress) options.on_progress(result.rows, result.new_tokens);
  }
  background.wait();
  if (exhausted && result.rows < total_rows)
    throw InputError(where + ": gave " + std::to_string(result.rows) + " examples this time but " +
                     std::to_string(total_rows) + " when counted (the file changed while it was read)");
  if (result.rows == total_rows) {
    writer.finish(dataset.labels());
    result.complete = true;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

CapturePlan CapturePlan::resolve(const Config& c, const CaptureOptions& options) {
  if (options.n_pos < 0)
    throw InputError("n_pos " + std::to_string(options.n_pos) + " is negative (0 = n_ctx)");
  CapturePlan plan;
  plan.n_pos = options.n_pos > 0 ? options.n_pos : c.n_ctx;
  if (plan.n_pos > c.n_ctx)
    throw InputError("n_pos " + std::to_string(plan.n_pos) +
                     " exceeds the model's n_ctx = " + std::to_string(c.n_ctx));
  if (options.batch_size < 1)
    throw InputError("batch_size " + std::to_string(options.batch_size) + " is below 1");
  plan.batch_size = options.batch_size;
  if (options.hook_patterns.empty()) throw InputError("hook_patterns: no hooks selected");
  plan.points = HookSelector::select(c, options.hook_patterns);
  for (const HookPointId& p : plan.points)
    plan.specs.push_back(HookRecorder(p, c, options.positions, plan.n_pos).spec());
  return plan;
}

void CapturePlan::limit_dataset(DatasetOptions& data) const {
  data.max_tokens = n_pos;
  if (data.kind == "windows" && data.window == 0) data.window = n_pos;
}

CaptureResult capture_activations(const Transformer& model, const CapturePlan& plan, Dataset& dataset,
                                  const std::string& out_path, ActivationFileInfo info,
                                  const CaptureOptions& options) {
  const Config& c = model.config();
  const int n_pos = plan.n_pos;
  std::vector<HookRecorder> recorders;
  for (const HookPointId& p : plan.points) recorders.emplace_back(p, c, options.positions, n_pos);
  const std::vector<HookDatasetSpec>& specs = plan.specs;
  const std::vector<HookPointId>& points = plan.points;
  info.n_pos = n_pos;
  info.positions = options.positions.describe();
  info.model_config_json = c.to_json().dump();

  const std::string& where = info.dataset_path;
  WriterOptions writer_options = options.writer;
  writer_options.rows = count_rows(dataset, n_pos, options.max_rows, where);
  auto writer = options.resume
                    ? ActivationFileWriter::resume(out_path, info, specs, dataset.labels(), writer_options)
                    : ActivationFileWriter::create(out_path, info, specs, dataset.labels(), writer_options);
  bool dataset_failed = false;  // the error came from reading the dataset
  try {
    CaptureResult result = stream(model, dataset, *writer, points, recorders, n_pos, plan.batch_size,
                                  writer_options.rows, where, options, &dataset_failed);
    return result;
  } catch (...) {
    // A file this run created is removed when it can never be continued: nothing was committed, or the
    // dataset itself failed (a fixed dataset has other bytes, so resuming would refuse it anyway). Otherwise
    // the committed rows stay for a resume.
    if (!options.resume && options.remove_failed_output &&
        (dataset_failed || writer->committed_rows() == 0)) {
      try {
        writer->discard();
      } catch (const std::exception&) {
        // The original error is the one to report; the file then stays as it is (incomplete).
      }
    }
    throw;
  }
}

}  // namespace resid
