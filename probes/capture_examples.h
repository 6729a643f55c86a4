// Examples for a probe, read from a resid activation capture (docs/activation-file-format.md) through the
// capture library's reader, only below /committed_rows:
//   token_class label:   every real position (masked by /lengths) whose label is not -1 (nor "none" at id 0);
//   sequence labels:     one example per row with a label, the row reduced to one vector (last, mean or an
//                        index) when the hook kept every position.
// The index (which row/position, label, token id) is small and held in memory; the activations are read in
// chunks of capture rows (CaptureDesign), so the example matrix can be larger than memory.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "capture/activation_file.h"
#include "probes/design_matrix.h"
#include "probes/standardiser.h"

namespace resid::probes {

struct ExampleOptions {
  std::string hook, label;
  // For sequence labels on hooks that kept every position: "last", "mean" or "index:P" (P < 0 counts back
  // from each row's last real token). For hooks captured with positions indices: "index:J" picks entry J.
  std::string reduce = "last";
  bool keep_none = false;  // token labels: keep class id 0 when it is named "none"
  int position = -1;       // token labels: only the examples at this token position (per-position sweeps)
  // With an empty `label`: every real position (TokenClass) or every row (sequence kinds), unlabelled, for
  // scoring new activations.
  LabelColumn::Kind unlabelled_kind = LabelColumn::Kind::TokenClass;
};

// Capture rows of tokens and labels read at once while indexing.
inline constexpr int64_t kIndexChunkBytes = 4ll << 20;

struct CaptureExamples {
  std::string path, hook, label_name;
  LabelColumn::Kind kind = LabelColumn::Kind::TokenClass;
  ActivationFileSummary summary;
  std::vector<int64_t> row_shape;  // of one /acts/<hook> row
  int64_t d = 0;                   // features per example
  std::string reduce;              // what was used (after the file's own reduction)
  // Per example:
  std::vector<int64_t> row;     // capture row
  std::vector<int32_t> offset;  // which d-vector of the row (position, or index entry); -1 = mean over length
  std::vector<int32_t> length;  // the row's length (for the mean)
  std::vector<int32_t> label;   // classification: compact class index
  std::vector<double> value;    // regression: the number
  std::vector<int32_t> token;   // token id at the example (control-task key)
  // Compact class index -> name and -> id stored in the file.
  std::vector<std::string> classes;
  std::vector<int32_t> class_ids;

  int64_t size() const { return static_cast<int64_t>(row.size()); }
  bool classification() const { return kind != LabelColumn::Kind::SequenceNumber; }
  int n_classes() const { return static_cast<int>(classes.size()); }
  int64_t row_bytes() const;  // float32 bytes of one /acts row
  // Upper bound on the bytes a fit holds per example besides activations: this index, the pipeline's copies
  // of labels and split indices, and the float64 scores and probabilities of the metrics (k classes).
  int64_t index_bytes_per_example() const { return 128 + 16 * std::max(1, n_classes()); }
};

// Reads tokens, lengths and the label column (not the activations). InputError naming the file for an unknown
// hook or label, a hook whose rows are not [n_pos, d] / [d] / [k, d], fewer than two classes, no examples.
CaptureExamples index_capture_examples(const std::string& path, const ExampleOptions& options);

// The most /acts bytes one read holds, whatever the budget allows. Larger reads are no faster, and each read
// allocates its buffers afresh: past glibc's mmap threshold (at most 32 MiB) they are mapped and page-faulted
// in anew every time (64 MiB chunks made `resid probe apply` 8x slower than 4.5 MiB ones, mostly in the
// kernel).
inline constexpr int64_t kMaxChunkBytes = 16ll << 20;

// The activations of the examples `which` (ascending indices into the example list) as a design matrix,
// read in chunks of at most `chunk_bytes` (and kMaxChunkBytes) of /acts rows and standardised with
// `standardiser` when given.
// Every block is checked for NaN/inf (InputError naming the file, hook, row and position).
class CaptureDesign : public DesignMatrix {
 public:
  CaptureDesign(const CaptureExamples& examples, std::vector<int64_t> which, int64_t chunk_bytes,
                const Standardiser* standardiser = nullptr);
  int64_t rows() const override { return static_cast<int64_t>(which_.size()); }
  int64_t cols() const override { return ex_.d; }
  void for_each_block(const std::function<void(int64_t, ConstMatrixMap)>& fn) const override;

 private:
  const CaptureExamples& ex_;
  std::vector<int64_t> which_;
  int64_t chunk_rows_;
  const Standardiser* standardiser_;
};

// The bytes of a `memory_bytes` budget left for activations once the example index is charged
// (examples.size() * index_bytes_per_example()). InputError when the budget does not cover the index plus one
// /acts row per chunk, giving the size needed.
int64_t activation_budget(const CaptureExamples& examples, int64_t memory_bytes);

// Loads the examples `which` into memory (one matrix), reading /acts rows in chunks of `chunk_bytes`.
RowMatrix load_examples(const CaptureExamples& examples, const std::vector<int64_t>& which,
                        const Standardiser* standardiser = nullptr, int64_t chunk_bytes = kMaxChunkBytes);

}  // namespace resid::probes
