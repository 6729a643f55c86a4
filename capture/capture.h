// Streaming activation capture: a dataset goes through the model in batches; the selected hooks' activations
// (optionally reduced over positions) are written to an HDF5 activation file as they are computed, by a
// writer thread that overlaps with the next batch's forward. Memory is bounded by the model plus two batches.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "capture/activation_file.h"
#include "core/hook_site.h"
#include "core/transformer.h"
#include "datasets/dataset.h"

namespace resid {

struct PositionSpec {
  enum class Mode { All, Last, Mean, Indices } mode = Mode::All;
  std::vector<int> indices;  // Indices mode; negative counts from each sequence's last real token
  static PositionSpec parse(const std::string& text);  // "all", "last", "mean", "0,5,-1"
  std::string describe() const;
};

struct CaptureOptions {
  std::vector<std::string> hook_patterns;
  PositionSpec positions;
  int n_pos = 0;       // padded positions per row (0 = the model's n_ctx)
  int batch_size = 8;  // sequences per forward
  WriterOptions writer;
  bool resume = false;
  int64_t max_rows = 0;                     // stop after this many rows (0 = whole dataset)
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler: finish the current batch and stop
  // Called after each commit with rows and tokens done so far.
  std::function<void(int64_t rows, int64_t tokens)> on_progress;
  // Called once the output file is open and checked and the committed rows are skipped, before the first
  // batch (the CLI installs its graceful-stop signal handlers here; before that a signal just ends the
  // process).
  std::function<void()> on_start;
  // On an error, remove the output file this run created when it has no committed rows or the dataset failed
  // (it could never be resumed). Off in tests that inspect what a failed run leaves.
  bool remove_failed_output = true;
};

struct CaptureResult {
  int64_t rows = 0;      // rows in the file (including resumed ones)
  int64_t new_rows = 0;  // rows computed by this run
  int64_t new_tokens = 0;
  bool complete = false;  // false when stopped early
  double seconds = 0;
};

// A capture resolved once from its options and the model's config. Errors name the option by its field name
// (n_pos, batch_size, hook_patterns, positions), which the CLI maps to its flags.
struct CapturePlan {
  int n_pos = 0;                       // positions per row: options.n_pos, or the model's n_ctx when 0
  int batch_size = 0;                  // sequences per forward (options.batch_size, checked)
  std::vector<HookPointId> points;     // the selected hook points, in capture order
  std::vector<HookDatasetSpec> specs;  // each point's /acts dataset (same order)
  // InputError: n_pos negative or above n_ctx, batch_size below 1, no hook patterns, a pattern that selects
  // nothing, an attention map with positions other than "all".
  static CapturePlan resolve(const Config& config, const CaptureOptions& options);
  // What n_pos implies for the dataset: examples of at most n_pos tokens, windows n_pos long unless set.
  void limit_dataset(DatasetOptions& data) const;
};

// Info's model/dataset fields are filled by the caller (paths, fingerprints, command line). Whatever is
// thrown, the file holds its last commit, and every committed row holds the data computed for it.
CaptureResult capture_activations(const Transformer& model, const CapturePlan& plan, Dataset& dataset,
                                  const std::string& out_path, ActivationFileInfo info,
                                  const CaptureOptions& options);

}  // namespace resid
