// resid's activation file: an HDF5 file any h5py/numpy user can open (format documented in
// docs/activation-file-format.md). Written row by row while a capture streams, crash-safe: the file is opened in
// HDF5's SWMR mode so it stays readable if the writer dies, and /committed_rows is written only after the rows it
// counts have been flushed. Readers must use the first committed_rows rows of every dataset.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/example.h"

namespace resid {

enum class StoreDType { F32, F16, BF16 };
StoreDType store_dtype_from_name(const std::string& name);  // "float32", "float16", "bfloat16"
std::string store_dtype_name(StoreDType t);

// File-level attributes (all strings, UTF-8).
struct ActivationFileInfo {
  std::string resid_version;
  std::string model_path, model_sha256, model_config_json, tokenizer;
  std::string dataset_path, dataset_sha256, dataset_description;
  std::string command_line;   // the full command line, shell-quoted
  std::string created;        // ISO 8601 UTC
  std::string positions;      // "all", "last", "mean" or "indices:0,5,7"
  int64_t n_pos = 0;          // padded positions per row (for per-position datasets)
};

// One /acts/<hook> dataset: rows of `row_shape` (e.g. [n_pos, d_model], or [d_model] after position reduction).
struct HookDatasetSpec {
  std::string hook;                  // full TransformerLens name
  int layer = -1;                    // -1 outside blocks
  std::string reduction;             // "none", "last", "mean", "indices"
  std::vector<int64_t> row_shape;
};

struct WriterOptions {
  StoreDType dtype = StoreDType::F32;
  bool compress = false;   // shuffle + deflate(1)
  int64_t chunk_rows = 0;  // 0 = choose (about 1 MiB per chunk)
  bool force = false;      // overwrite an existing file
};

class ActivationFileWriter {
 public:
  // Creates `path` (InputError if it exists and !force, or is not writable). `labels` fixes the label datasets.
  static std::unique_ptr<ActivationFileWriter> create(const std::string& path, const ActivationFileInfo& info,
                                                      const std::vector<HookDatasetSpec>& hooks,
                                                      const std::vector<LabelColumn>& labels,
                                                      const WriterOptions& options);
  // Reopens a partial file for --resume: checks that model/dataset/hooks/options match `info`/`hooks` (InputError
  // saying which differs), drops rows past /committed_rows, and returns a writer that appends after them.
  static std::unique_ptr<ActivationFileWriter> resume(const std::string& path, const ActivationFileInfo& info,
                                                      const std::vector<HookDatasetSpec>& hooks,
                                                      const std::vector<LabelColumn>& labels,
                                                      const WriterOptions& options);
  virtual ~ActivationFileWriter() = default;

  virtual int64_t committed_rows() const = 0;

  // Appends `n` rows. tokens: [n, n_pos] (padded with -1 past each length), lengths: [n];
  // labels: per label column, sequence columns [n] values, token columns [n, n_pos] class ids (-1 past length);
  // acts: per hook spec (same order as given), [n, row_shape...] float32, converted to the stored dtype.
  virtual void append(int64_t n, const int32_t* tokens, const int32_t* lengths,
                      const std::vector<std::vector<double>>& sequence_labels,
                      const std::vector<std::vector<int32_t>>& token_labels, const std::vector<const float*>& acts) = 0;
  // Flushes appended rows, then advances /committed_rows. Class-name lists of label columns are updated too.
  virtual void commit(const std::vector<LabelColumn>& labels) = 0;
  // Final commit and marks the file complete (attribute/dataset "complete" = 1).
  virtual void finish(const std::vector<LabelColumn>& labels) = 0;
};

// Reading back (tests, resume, probes): the committed rows of one dataset as float32.
struct ActivationFileSummary {
  int64_t committed_rows = 0;
  bool complete = false;
  std::vector<std::string> hooks;
};
ActivationFileSummary read_activation_summary(const std::string& path);
std::vector<float> read_activation_rows(const std::string& path, const std::string& hook, int64_t first_row,
                                        int64_t n_rows, std::vector<int64_t>* row_shape = nullptr);

// sha256 of a file's bytes (hex), for the model/dataset attributes.
std::string sha256_file(const std::string& path);

}  // namespace resid
