// The activation file's schema (docs/activation-file-format.md): format constants, building a new file with
// every dataset at its final size, reading a file's summary, and what resuming requires of a file. Internal
// to resid::capture; the public API is capture/activation_file.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "capture/activation_file.h"
#include "capture/detail/h5_util.h"

namespace resid::detail {

constexpr char kFormatName[] = "resid-activations";
constexpr int64_t kFormatVersion = 2;
constexpr int64_t kOldestReadableFormat = 1;  // format 1 (SWMR, growing datasets) still reads
constexpr int64_t kActsChunkBytes = int64_t{1} << 20;

// Metadata reads in SWMR-read mode are retried when a checksum fails (a writer may be mid-flush); HDF5's
// default of 100 attempts, with its back-off, keeps a damaged file busy for minutes. A few attempts cover a
// live writer.
constexpr unsigned kMetadataReadAttempts = 4;

// How a dataset of rows is stored. Raw: contiguous and allocated when created, so the writer puts rows
// straight into their place in the file and HDF5's metadata never changes. Compressed: shuffle + deflate(1)
// chunks, only in a finished file rewritten by compress_in_place().
enum class RowStorage { Raw, Compressed };

// "[2, 3]" and "a, b" (or "none") for messages.
std::string join_shape(const std::vector<int64_t>& shape);
std::string join_names(const std::vector<std::string>& names);

// A label column's kind as stored in its `kind` attribute ("sequence_number", ...), and back.
const char* kind_name(LabelColumn::Kind k);
bool kind_from_name(const std::string& name, LabelColumn::Kind* kind);

bool is_class_kind(LabelColumn::Kind k);

// Refuses what is not a regular file before HDF5 opens it (opening a FIFO would wait for a writer).
void require_regular_file(const std::string& path);

// Opens for reading. SWMR-read mode first: it is what opens a format 1 file whose writer was killed (HDF5
// refuses a plain open of a file still marked "open for writing"); format 2 files are never marked, and
// plain mode opens files SWMR cannot read.
h5::Handle open_for_read(const std::string& path);

int64_t product(const std::vector<int64_t>& v);  // of a shape

// Creates a dataset of `rows` rows of `row_shape` (its final, fixed size).
void create_row_dataset(hid_t loc, const std::string& name, hid_t type, const std::vector<int64_t>& row_shape,
                        int64_t rows, RowStorage storage, int64_t chunk_rows, const std::string& path,
                        h5::Handle* out = nullptr);

// Rows per chunk of about `target` bytes (at least one).
int64_t chunk_rows_for(int64_t row_bytes, int64_t target);

// InputError for hook or label names that cannot name an HDF5 dataset, names given twice, empty row shapes.
void validate_layout(const std::string& path, const ActivationFileInfo& info,
                     const std::vector<HookDatasetSpec>& hooks, const std::vector<LabelColumn>& labels);

// Builds the whole file (every object and attribute, every dataset at its final size of `rows` rows) at
// `side_path`. /acts are compressed when `storage` says so (compress_in_place), everything else is raw.
void build_file(const std::string& side_path, const std::string& shown, const ActivationFileInfo& info,
                const std::vector<HookDatasetSpec>& hooks, const std::vector<LabelColumn>& labels,
                const WriterOptions& options, int64_t rows, RowStorage storage);

// The names of /label_classes/<name>.
std::vector<std::string> read_class_names(hid_t file, const std::string& column, const std::string& path);

// The `dtype` attribute of an /acts dataset.
StoreDType stored_dtype(hid_t dataset, const std::string& name, const std::string& path);

// What resume() and the readers learn from a file's attributes and layout.
ActivationFileSummary summarize(hid_t file, const std::string& path, bool for_resume = false);

// The checks of resume(): InputError naming the first thing that differs.
void check_resumable(const std::string& path, const ActivationFileSummary& s, const ActivationFileInfo& info,
                     const std::vector<HookDatasetSpec>& hooks, const std::vector<LabelColumn>& labels,
                     const WriterOptions& options);

}  // namespace resid::detail
