// resid's activation file: an HDF5 file any h5py/numpy user can open (format documented in
// docs/activation-file-format.md). Crash-safe by construction: every HDF5 object is created, at its final
// size, before the file appears at its path, and HDF5 never touches the file again while a capture runs. Rows
// are written straight into their preallocated places, and /committed_rows (8 bytes) only after the rows it
// counts. Readers use the first committed_rows rows of every dataset.
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
  // Fingerprints checked by resume() (capture/fingerprint.h fills them): "sha256  name" lines of the model's
  // weight files, the tokenizer file's sha256 ("embedded" / "none"), the dataset's kind and options as JSON,
  // and label files' sha256 as a JSON object by column name.
  std::string model_files, tokenizer_sha256, dataset_options, label_files_sha256;
  std::string command_line;  // the full command line, shell-quoted
  std::string created;       // ISO 8601 UTC
  std::string positions;     // "all", "last", "mean" or "indices:0,5,7"
  int64_t n_pos = 0;         // padded positions per row (for per-position datasets)
};

// One /acts/<hook> dataset: rows of `row_shape` (e.g. [n_pos, d_model], or [d_model] after position
// reduction).
struct HookDatasetSpec {
  std::string hook;       // full TransformerLens name
  int layer = -1;         // -1 outside blocks
  std::string reduction;  // "none", "last", "mean", "indices"
  std::vector<int64_t> row_shape;
};

struct WriterOptions {
  StoreDType dtype = StoreDType::F32;
  // Store the finished file's /acts with shuffle + deflate(1): finish() rewrites the file compressed beside
  // itself and renames it into place. Partial files are never compressed (rows are written in place).
  bool compress = false;
  int64_t chunk_rows = 0;  // rows per /acts chunk of a compressed file; 0 = choose (about 1 MiB per chunk)
  // The rows the file will hold (required by create(); checked by resume() when >= 0). Every dataset is
  // allocated at this size when the file is created, so nothing in HDF5's metadata changes afterwards.
  int64_t rows = -1;
  // Replace an existing file: only a regular file holding a resid activation file, or with force_any any
  // regular file; never a symlink, device, FIFO, directory, one of `inputs`, or a file being written.
  bool force = false;
  bool force_any = false;
  std::vector<std::string> inputs;  // the files this run reads (compared by device and inode)
};

class ActivationFileWriter {
 public:
  // Creates `path` for options.rows rows (InputError if it exists and !force, or is not writable). `labels`
  // fixes the label datasets and their complete class lists. The file is built beside `path` and renamed into
  // place: `path` is never a half-built file, and a killed writer leaves a file (readable by plain h5py)
  // whose first committed_rows rows are intact.
  static std::unique_ptr<ActivationFileWriter> create(const std::string& path, const ActivationFileInfo& info,
                                                      const std::vector<HookDatasetSpec>& hooks,
                                                      const std::vector<LabelColumn>& labels,
                                                      const WriterOptions& options);
  // Reopens a partial file to continue it: checks that the fingerprints, hooks and options match
  // `info`/`hooks` (InputError saying which differs), that every committed row is in the file and matches its
  // checksum (FormatError for a damaged or truncated file), and returns a writer that appends after them
  // (rows past /committed_rows are overwritten). Works on files whose writer was killed; InputError if
  // another process is writing the file, it is already complete, or options.rows (when >= 0) differs from the
  // file's row count.
  static std::unique_ptr<ActivationFileWriter> resume(const std::string& path, const ActivationFileInfo& info,
                                                      const std::vector<HookDatasetSpec>& hooks,
                                                      const std::vector<LabelColumn>& labels,
                                                      const WriterOptions& options);
  // Closes the file without committing: rows appended since the last commit() are not part of it (the file
  // stays incomplete and can be resumed).
  virtual ~ActivationFileWriter() = default;
  // Closes the file and removes it (for a file create() made, when the run that made it failed): unlinked
  // only while the writer lock is held and the path still names this file.
  virtual void discard() = 0;

  virtual int64_t committed_rows() const = 0;

  // Appends `n` rows (InputError past the file's row count). tokens: [n, n_pos] (padded with -1 past each
  // length), lengths: [n]; labels: indexed by label column (the order given to create/resume), entries of the
  // other kind may be empty (a vector holding only the columns of that kind, in order, is accepted too):
  // sequence columns [n] values (SequenceClass: the class id, -1 for none), token columns [n, n_pos] class
  // ids (-1 past length); acts: per hook spec (same order as given), [n, row_shape...] float32, converted to
  // the stored dtype. One write per dataset. InputError for wrong sizes, lengths outside [0, n_pos], ids out
  // of place or without a class name.
  virtual void append(int64_t n, const int32_t* tokens, const int32_t* lengths,
                      const std::vector<std::vector<double>>& sequence_labels,
                      const std::vector<std::vector<int32_t>>& token_labels,
                      const std::vector<const float*>& acts) = 0;
  // Makes the appended rows durable (fdatasync), then advances /committed_rows. `labels` must carry exactly
  // the class lists the file was created with (InputError naming the column when a class was added or
  // renamed).
  virtual void commit(const std::vector<LabelColumn>& labels) = 0;
  // Commits, checks that all options.rows rows were written (InputError otherwise), sets /complete = 1
  // (compressing first when asked) and closes the file.
  virtual void finish(const std::vector<LabelColumn>& labels) = 0;
  // Rows given to append() so far (>= committed_rows()).
  virtual int64_t appended_rows() const = 0;
};

// Reading back (tests, resume, probes). Files whose writer died or is still running read like any other;
// only committed rows are returned.
struct ActivationFileSummary {
  int64_t format_version = 0;
  int64_t committed_rows = 0;
  int64_t rows = 0;  // rows the file was created for (every per-row dataset's length)
  bool complete = false;
  std::vector<std::string> hooks;           // capture order
  std::vector<HookDatasetSpec> hook_specs;  // same order as hooks
  ActivationFileInfo info;
  StoreDType dtype = StoreDType::F32;
  bool compressed = false;
  std::vector<LabelColumn> labels;  // with the class names stored in the file
  bool fingerprinted = false;       // has /row_checksums and the input fingerprints (files since issue 7)
};
ActivationFileSummary read_activation_summary(const std::string& path);
// The committed rows [first_row, first_row + n_rows) of one /acts dataset as float32 (row_shape: the shape of
// one row). InputError for an unknown hook or rows past /committed_rows.
std::vector<float> read_activation_rows(const std::string& path, const std::string& hook, int64_t first_row,
                                        int64_t n_rows, std::vector<int64_t>* row_shape = nullptr);
// /tokens rows [n_rows, n_pos] and, when `lengths` is given, /lengths.
std::vector<int32_t> read_activation_tokens(const std::string& path, int64_t first_row, int64_t n_rows,
                                            std::vector<int32_t>* lengths = nullptr);
// /labels/<name> rows: sequence columns [n_rows], token columns [n_rows, n_pos] (class ids as doubles).
std::vector<double> read_activation_labels(const std::string& path, const std::string& name,
                                           int64_t first_row, int64_t n_rows);

// Low level, for tests and tools comparing files: every dataset's path ("/acts/blocks.0.hook_resid_post",
// ...), and one dataset's whole extent as stored (raw little-endian bytes; `type` like "float16", "int32").
std::vector<std::string> list_stored_datasets(const std::string& path);
std::vector<uint8_t> read_stored_dataset(const std::string& path, const std::string& dataset,
                                         std::vector<int64_t>* shape = nullptr, std::string* type = nullptr);

// Threads: every function here takes one library-wide lock around its HDF5 calls (Debian's HDF5 is not
// thread-safe), so a writer may be driven from a worker thread while other threads read files; one writer
// must still be used by one thread at a time.

// sha256 of a regular file's bytes (hex), for the model/dataset attributes; InputError for anything else.
std::string sha256_file(const std::string& path);
std::string sha256_bytes(const std::string& bytes);

}  // namespace resid
