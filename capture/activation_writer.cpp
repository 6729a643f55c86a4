// The HDF5 activation file (format: docs/activation-file-format.md).
//
// Crash safety rests on four rules, none of which depends on how HDF5 orders its own writes:
//  1. Every object, attribute and class list is created in a side file, with every dataset at its final size
//     and its storage allocated (contiguous layout), then the side file is closed and renamed into place.
//     From then on HDF5 has nothing to write: the file is complete, valid HDF5 at every instant.
//  2. The writer puts rows straight into their preallocated places (pwrite at the offsets HDF5 reports),
//  through
//     the descriptor that holds the writer lock; unwritten rows are holes in a sparse file.
//  3. /committed_rows (8 aligned bytes) is written only after the rows it counts are on disk (fdatasync).
//  4. Every row carries a checksum (/row_checksums, XXH64 over its stored bytes in every dataset), written
//  with
//     the row; resume() reads every committed row back against it before trusting the file.
// A compressed file is written the same way and compressed when finished: compress_in_place() builds the
// compressed copy beside it and renames it over the original, so either file is whole at every instant.
// (Until format 2 the writer used HDF5's SWMR mode; a SIGKILL at the wrong moment could leave a chunk index
// unreadable or two chunks sharing file space, so that design is gone.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/activation_file.h"
#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "capture/detail/activation_schema.h"
#include "capture/detail/file_placement.h"
#include "capture/detail/row_regions.h"
#include "capture/xxh64.h"
#include "core/dtype.h"
#include "core/error.h"

namespace resid {

using namespace detail;

namespace {

namespace fs = std::filesystem;

// float32 -> float16 bits, bit-identical to core's f32_to_f16 (nearest-even, overflow to inf, canonical NaN);
// with F16C (the default -march=native build) 8 at a time, which is what keeps float16 captures off the
// critical path.
void to_f16(const float* src, int64_t n, uint16_t* dst) {
  int64_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(src + i);
    const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    if (!_mm256_testz_ps(nan, nan)) {  // F16C keeps NaN payloads; f32_to_f16 does not
      for (int k = 0; k < 8; ++k) dst[i + k] = f32_to_f16(src[i + k]);
      continue;
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
#endif
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

// Rewrites a finished file with compressed /acts (defined below).
void compress_in_place(const std::string& path, int64_t chunk_rows);

// Writes rows into the places build_file() allocated, through the descriptor the writer lock holds. HDF5 has
// the file closed the whole time, so nothing it caches can be half-written when the process dies.
class ActivationRowWriter final : public ActivationFileWriter {
 public:
  ActivationRowWriter(std::string path, WriterLock lock, FileRegions regions, std::vector<LabelColumn> labels,
                      StoreDType dtype, int64_t n_pos, int64_t committed, const WriterOptions& options)
      : path_(std::move(path)),
        lock_(std::move(lock)),
        f_(std::move(regions)),
        labels_(std::move(labels)),
        dtype_(dtype),
        n_pos_(n_pos),
        committed_(committed),
        rows_(committed),
        compress_(options.compress),
        chunk_rows_(options.chunk_rows) {
    for (RowRegion* r : f_.all())
      if (r->hash_index >= 0) ++hashed_count_;
  }

  int64_t committed_rows() const override { return committed_; }
  int64_t appended_rows() const override { return rows_; }

  void discard() override {
    finished_ = true;
    if (lock_.names(path_)) ::unlink(path_.c_str());
    lock_.release();
  }

  void append(int64_t n, const int32_t* tokens, const int32_t* lengths,
              const std::vector<std::vector<double>>& sequence_labels,
              const std::vector<std::vector<int32_t>>& token_labels,
              const std::vector<const float*>& acts) override {
    ensure_writable();
    if (n < 0) throw InputError(path_ + ": append of " + std::to_string(n) + " rows");
    if (n == 0) return;
    if (rows_ + n > f_.rows)
      throw InputError(path_ + ": append of rows " + std::to_string(rows_) + ".." +
                       std::to_string(rows_ + n) + " past the " + std::to_string(f_.rows) +
                       " rows the file was created for");
    validate_append(n, tokens, lengths, sequence_labels, token_labels, acts);

    broken_ = true;  // until every dataset has taken the rows
    row_parts_.assign(static_cast<size_t>(n) * hashed_count_, 0);
    put_rows(f_.tokens, n, tokens);
    put_rows(f_.lengths, n, lengths);
    for (size_t c = 0; c < labels_.size(); ++c) {
      switch (labels_[c].kind) {
        case LabelColumn::Kind::SequenceNumber:
          put_rows(f_.labels[c], n, column_values(sequence_labels, c)->data());
          break;
        case LabelColumn::Kind::SequenceClass: {
          const std::vector<double>& v = *column_values(sequence_labels, c);
          scratch_ids_.resize(n);
          for (int64_t i = 0; i < n; ++i) scratch_ids_[i] = static_cast<int32_t>(v[i]);
          put_rows(f_.labels[c], n, scratch_ids_.data());
          break;
        }
        case LabelColumn::Kind::TokenClass:
          put_rows(f_.labels[c], n, column_ids(token_labels, c)->data());
          break;
      }
    }
    for (size_t h = 0; h < f_.acts.size(); ++h) {
      if (dtype_ == StoreDType::F32) {
        put_rows(f_.acts[h], n, acts[h]);
        continue;
      }
      const int64_t count = n * f_.acts[h].row_bytes / 2;
      scratch16_.resize(count);
      if (dtype_ == StoreDType::F16) {
        to_f16(acts[h], count, scratch16_.data());
      } else {
        for (int64_t i = 0; i < count; ++i) scratch16_[i] = f32_to_bf16(acts[h][i]);
      }
      put_rows(f_.acts[h], n, scratch16_.data());
    }
    scratch_sums_.resize(n);
    for (int64_t r = 0; r < n; ++r)
      scratch_sums_[r] = combine_row_hashes(row_parts_.data() + r * hashed_count_, hashed_count_);
    put_rows(f_.checksums, n, scratch_sums_.data());
    rows_ += n;
    broken_ = false;
  }

  void commit(const std::vector<LabelColumn>& labels) override {
    ensure_writable();
    check_classes(labels);
    if (rows_ == committed_) return;
    // The rows reach the disk before the count that makes them valid (for power loss; a killed process
    // loses nothing already written).
    sync("the rows");
    const int64_t count = rows_;
    pwrite_all(lock_.fd(), &count, 8, f_.committed_offset, path_, "/committed_rows");
    committed_ = rows_;
  }

  void finish(const std::vector<LabelColumn>& labels) override {
    ensure_writable();
    if (rows_ != f_.rows)
      throw InputError(path_ + ": finished after " + std::to_string(rows_) + " of the " +
                       std::to_string(f_.rows) + " rows the file was created for");
    commit(labels);
    if (compress_) {
      sync("/committed_rows");
      compress_in_place(path_, chunk_rows_);  // the rewritten file says complete = 1 itself
    } else {
      const int8_t one = 1;
      pwrite_all(lock_.fd(), &one, 1, f_.complete_offset, path_, "/complete");
      sync("/complete");
    }
    finished_ = true;
    lock_.release();
  }

 private:
  void ensure_writable() const {
    if (finished_) throw InputError(path_ + ": the activation file is already finished");
    if (broken_)
      throw FormatError(path_,
                        "an earlier write failed; the file holds its last commit (resume it to continue)");
  }

  void sync(const std::string& what) {
    if (::fdatasync(lock_.fd()) != 0)
      throw InputError(path_ + ": cannot flush " + what + " to disk (" + std::strerror(errno) + ")");
  }

  // Writes n appended rows of `r` (stored form) into their place and hashes them for the row checksums.
  void put_rows(const RowRegion& r, int64_t n, const void* data) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    if (r.hash_index >= 0)
      for (int64_t i = 0; i < n; ++i)
        row_parts_[i * hashed_count_ + r.hash_index] = xxh64(bytes + i * r.row_bytes, r.row_bytes);
    pwrite_all(lock_.fd(), bytes, n * r.row_bytes, r.offset + rows_ * r.row_bytes, path_,
               "rows of " + r.name);
  }

  // The caller's vector for label column c: indexed by column, or holding only the columns of that kind.
  template <typename V>
  const V* pick_column(const std::vector<V>& given, size_t c, bool want_token) const {
    size_t same_kind = 0, index = 0;
    for (size_t i = 0; i < labels_.size(); ++i) {
      const bool is_token = labels_[i].kind == LabelColumn::Kind::TokenClass;
      if (is_token != want_token) continue;
      if (i == c) index = same_kind;
      ++same_kind;
    }
    if (given.size() == labels_.size()) return &given[c];
    if (given.size() == same_kind) return &given[index];
    return nullptr;
  }
  const std::vector<double>* column_values(const std::vector<std::vector<double>>& given, size_t c) const {
    return pick_column(given, c, false);
  }
  const std::vector<int32_t>* column_ids(const std::vector<std::vector<int32_t>>& given, size_t c) const {
    return pick_column(given, c, true);
  }

  void validate_append(int64_t n, const int32_t* tokens, const int32_t* lengths,
                       const std::vector<std::vector<double>>& sequence_labels,
                       const std::vector<std::vector<int32_t>>& token_labels,
                       const std::vector<const float*>& acts) {
    const std::string where =
        path_ + ": append of rows " + std::to_string(rows_) + ".." + std::to_string(rows_ + n);
    if (tokens == nullptr || lengths == nullptr)
      throw InputError(where + ": tokens and lengths are required");
    for (int64_t r = 0; r < n; ++r) {
      const int32_t len = lengths[r];
      if (len < 0 || len > n_pos_)
        throw InputError(where + ": row " + std::to_string(rows_ + r) + " has length " + std::to_string(len) +
                         " (n_pos " + std::to_string(n_pos_) + ")");
      for (int64_t j = len; j < n_pos_; ++j)
        if (tokens[r * n_pos_ + j] != -1)
          throw InputError(where + ": tokens of row " + std::to_string(rows_ + r) +
                           " are not -1 past its length");
    }
    for (size_t c = 0; c < labels_.size(); ++c) {
      const LabelColumn& l = labels_[c];
      if (l.kind == LabelColumn::Kind::TokenClass) {
        const auto* ids = column_ids(token_labels, c);
        if (ids == nullptr || static_cast<int64_t>(ids->size()) != n * n_pos_)
          throw InputError(where + ": token label column " + l.name + " needs " + std::to_string(n * n_pos_) +
                           " class ids");
        for (int64_t r = 0; r < n; ++r) {
          for (int64_t j = 0; j < n_pos_; ++j) {
            const int32_t id = (*ids)[r * n_pos_ + j];
            if (j >= lengths[r] ? id != -1 : id < -1)
              throw InputError(where + ": label " + l.name + " of row " + std::to_string(rows_ + r) +
                               " position " + std::to_string(j) + " is " + std::to_string(id) +
                               (j >= lengths[r] ? " past the sequence's length (expected -1)" : ""));
            if (id >= static_cast<int64_t>(l.classes.size())) throw_unnamed_class(where, l, id);
          }
        }
      } else {
        const auto* values = column_values(sequence_labels, c);
        if (values == nullptr || static_cast<int64_t>(values->size()) != n)
          throw InputError(where + ": label column " + l.name + " needs " + std::to_string(n) + " values");
        if (l.kind == LabelColumn::Kind::SequenceClass) {
          for (int64_t r = 0; r < n; ++r) {
            const double v = (*values)[r];
            if (!(v >= -1 && v <= std::numeric_limits<int32_t>::max()) || v != std::floor(v))
              throw InputError(where + ": label " + l.name + " of row " + std::to_string(rows_ + r) + " is " +
                               std::to_string(v) + ", not a class id");
            if (v >= static_cast<double>(l.classes.size())) throw_unnamed_class(where, l, v);
          }
        }
      }
    }
    if (acts.size() != f_.acts.size())
      throw InputError(where + ": " + std::to_string(acts.size()) + " activation arrays for " +
                       std::to_string(f_.acts.size()) + " hooks");
    for (size_t h = 0; h < acts.size(); ++h)
      if (acts[h] == nullptr) throw InputError(where + ": no activations for " + f_.acts[h].name);
  }

  [[noreturn]] static void throw_unnamed_class(const std::string& where, const LabelColumn& l, double id) {
    throw InputError(where + ": label column " + l.name + " has class id " +
                     std::to_string(static_cast<int64_t>(id)) + " but the file was created with " +
                     std::to_string(l.classes.size()) + " class names");
  }

  // The caller's class lists must be the ones the file was created with.
  void check_classes(const std::vector<LabelColumn>& given) const {
    if (given.size() != labels_.size())
      throw InputError(path_ + ": commit with " + std::to_string(given.size()) +
                       " label columns, the file has " + std::to_string(labels_.size()));
    for (size_t c = 0; c < labels_.size(); ++c) {
      const LabelColumn& rec = labels_[c];
      const LabelColumn& now = given[c];
      if (now.name != rec.name || now.kind != rec.kind)
        throw InputError(path_ + ": label column " + std::to_string(c) + " is " + rec.name + " (" +
                         kind_name(rec.kind) + ") in the file but " + now.name + " (" + kind_name(now.kind) +
                         ") now");
      if (!is_class_kind(rec.kind) || now.classes == rec.classes) continue;
      for (size_t i = 0; i < now.classes.size(); ++i) {
        if (i >= rec.classes.size())
          throw InputError(path_ + ": label column " + rec.name + " gained class '" + now.classes[i] +
                           "' after the file was created with " + std::to_string(rec.classes.size()) +
                           " classes (class lists are fixed when the file is created)");
        if (now.classes[i] != rec.classes[i])
          throw InputError(path_ + ": label column " + rec.name + " class " + std::to_string(i) + " is '" +
                           rec.classes[i] + "' in the file but '" + now.classes[i] + "' now");
      }
      throw InputError(path_ + ": label column " + rec.name + " has " + std::to_string(now.classes.size()) +
                       " classes now but " + std::to_string(rec.classes.size()) + " in the file");
    }
  }

  std::string path_;
  WriterLock lock_;
  FileRegions f_;
  std::vector<LabelColumn> labels_;  // names, kinds and the class lists stored in the file
  StoreDType dtype_;
  int64_t n_pos_;
  int64_t committed_ = 0;
  int64_t rows_ = 0;  // rows written (>= committed_)
  bool compress_ = false;
  int64_t chunk_rows_ = 0;
  size_t hashed_count_ = 0;
  std::vector<uint16_t> scratch16_;
  std::vector<int32_t> scratch_ids_;
  std::vector<uint64_t> row_parts_;  // per appended row: one hash per hashed dataset
  std::vector<uint64_t> scratch_sums_;
  bool finished_ = false;
  bool broken_ = false;
};

// Copies rows [0, rows) of dataset `name` from `src` to `dst`, 64 MiB at a time, as stored.
void copy_dataset_rows(hid_t src, hid_t dst, const std::string& name, int64_t rows, const std::string& path) {
  h5::Handle in = open_dataset(src, name, path);
  h5::Handle out = open_dataset(dst, name, path);
  const std::vector<hsize_t> dims = dataset_dims(in.get(), path, name);
  h5::Handle type = h5::type_handle(check(H5Dget_type(in.get()), path, "cannot read the type of " + name));
  int64_t row_bytes = static_cast<int64_t>(H5Tget_size(type.get()));
  for (size_t k = 1; k < dims.size(); ++k) row_bytes *= static_cast<int64_t>(dims[k]);
  const int64_t block = std::max<int64_t>(1, (int64_t{64} << 20) / std::max<int64_t>(1, row_bytes));
  std::vector<uint8_t> buffer;
  for (int64_t first = 0; first < rows; first += block) {
    const int64_t n = std::min(block, rows - first);
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = static_cast<hsize_t>(first);
    count[0] = static_cast<hsize_t>(n);
    buffer.resize(static_cast<size_t>(n * row_bytes));
    h5::Handle mspace =
        h5::space_handle(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), path,
                               "cannot copy " + name));
    for (hid_t ds : {in.get(), out.get()}) {
      h5::Handle fspace = h5::space_handle(check(H5Dget_space(ds), path, "cannot copy " + name));
      check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
            path, "cannot select rows of " + name);
      if (ds == in.get())
        check(H5Dread(ds, type.get(), mspace.get(), fspace.get(), H5P_DEFAULT, buffer.data()), path,
              "cannot read " + name);
      else
        check(H5Dwrite(ds, type.get(), mspace.get(), fspace.get(), H5P_DEFAULT, buffer.data()), path,
              "cannot write " + name);
    }
  }
}

// Rewrites the finished file at `path` (all rows committed) with compressed /acts: built beside it, marked
// complete, synced, and renamed over it. A crash before the rename leaves the uncompressed file, whose rows
// are all committed, so a resume only has this step to redo.
void compress_in_place(const std::string& path, int64_t chunk_rows) {
  h5::Handle src = open_for_read(path);
  const ActivationFileSummary s = summarize(src.get(), path);
  SideFile side((directory_of(path) / (side_file_prefix(path) + std::to_string(::getpid()))).string());
  WriterLock side_lock = lock_side_file(side.path(), path);
  WriterOptions options;
  options.dtype = s.dtype;
  options.chunk_rows = chunk_rows;
  build_file(side.path(), path, s.info, s.hook_specs, s.labels, options, s.rows, RowStorage::Compressed);
  {
    h5::Handle fapl = latest_format_fapl(path);
    h5::Handle dst = h5::file_handle(check(H5Fopen(side.path().c_str(), H5F_ACC_RDWR, fapl.get()), path,
                                           "cannot open the compressed copy"));
    std::vector<std::string> names{"/tokens", "/lengths", "/row_checksums"};
    for (const auto& l : s.labels) names.push_back("/labels/" + l.name);
    for (const auto& h : s.hooks) names.push_back("/acts/" + h);
    for (const std::string& name : names) copy_dataset_rows(src.get(), dst.get(), name, s.rows, path);
    const int64_t rows = s.rows;
    const int8_t one = 1;
    h5::Handle committed = open_dataset(dst.get(), "/committed_rows", path);
    check(H5Dwrite(committed.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &rows), path,
          "cannot write /committed_rows");
    h5::Handle complete = open_dataset(dst.get(), "/complete", path);
    check(H5Dwrite(complete.get(), H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, &one), path,
          "cannot write /complete");
    committed.reset();
    complete.reset();
    if (!dst.reset()) check(-1, path, "cannot close the compressed copy");
  }
  src.reset();
  if (::fsync(side_lock.fd()) != 0)
    throw InputError(path + ": cannot flush the compressed copy (" + std::strerror(errno) + ")");
  if (::rename(side.path().c_str(), path.c_str()) != 0)
    throw InputError(path + ": cannot move the compressed copy into place (" + std::strerror(errno) + ")");
  side.keep();
}

}  // namespace

// ---- public entry points ----------------------------------------------------------------------------------

std::unique_ptr<ActivationFileWriter> ActivationFileWriter::create(const std::string& path,
                                                                   const ActivationFileInfo& info,
                                                                   const std::vector<HookDatasetSpec>& hooks,
                                                                   const std::vector<LabelColumn>& labels,
                                                                   const WriterOptions& options) {
  h5::Call call;
  validate_layout(path, info, hooks, labels);
  if (options.rows < 0)
    throw InputError(path +
                     ": the number of rows must be known when the file is created (WriterOptions::rows)");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw InputError(path + " is a directory");
    if (!options.force && !options.force_any) throw InputError(path + " exists (set force to replace it)");
    // Checked now for a quick answer, and again just before the replacing rename.
    check_replaceable(path, options);
  }
  std::error_code ec;
  const fs::path dir = directory_of(path);
  if (!fs::is_directory(dir, ec)) throw InputError(path + ": directory " + dir.string() + " does not exist");
  const std::string side_prefix = side_file_prefix(path);
  remove_stale_side_files(dir, side_prefix);

  // Built beside the target (same filesystem, so the rename is atomic), then placed. The side file is locked
  // right after it is created: the lock (and, in the moment before it, the live pid in its name) tells other
  // runs it is not stale, and it becomes the writer lock of the placed file (a rename keeps the inode), whose
  // descriptor the writer writes through.
  SideFile side((dir / (side_prefix + std::to_string(::getpid()))).string());
  WriterLock lock = lock_side_file(side.path(), path);
  build_file(side.path(), path, info, hooks, labels, options, options.rows, RowStorage::Raw);
  FileRegions regions;
  {
    h5::Handle file = open_for_read(side.path());
    regions = file_regions(file.get(), options.rows, hooks, labels, path);
  }
  // The metadata reaches the disk before any row can be committed against it.
  if (::fsync(lock.fd()) != 0)
    throw InputError(path + ": cannot flush the new file (" + std::strerror(errno) + ")");
  place_file(side.path(), path, dir, options);
  side.keep();
  return std::make_unique<ActivationRowWriter>(path, std::move(lock), std::move(regions), labels,
                                               options.dtype, info.n_pos, 0, options);
}

std::unique_ptr<ActivationFileWriter> ActivationFileWriter::resume(const std::string& path,
                                                                   const ActivationFileInfo& info,
                                                                   const std::vector<HookDatasetSpec>& hooks,
                                                                   const std::vector<LabelColumn>& labels,
                                                                   const WriterOptions& options) {
  h5::Call call;
  validate_layout(path, info, hooks, labels);
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path + " does not exist (nothing to resume)");
  require_regular_file(path);
  WriterLock lock = WriterLock::acquire(path, path);
  // Everything is checked through a read-only open first, so a file that is not ours is never modified.
  ActivationFileSummary summary;
  FileRegions regions;
  {
    h5::Handle file = open_for_read(path);
    summary = summarize(file.get(), path, true);
    check_resumable(path, summary, info, hooks, labels, options);
    if (options.rows >= 0 && options.rows != summary.rows)
      throw InputError(path + ": cannot resume: the file was created for " + std::to_string(summary.rows) +
                       " rows, this run gives " + std::to_string(options.rows) +
                       " (the dataset or max_rows changed)");
    // Labels in the caller's order; the file's class lists must be the caller's (checked at every commit).
    std::vector<LabelColumn> file_labels;
    for (const auto& l : labels)
      file_labels.push_back(*std::find_if(summary.labels.begin(), summary.labels.end(),
                                          [&](const LabelColumn& x) { return x.name == l.name; }));
    regions = file_regions(file.get(), summary.rows, hooks, file_labels, path);
    summary.labels = file_labels;
  }
  verify_committed(lock.fd(), regions, summary.committed_rows, path);
  return std::make_unique<ActivationRowWriter>(path, std::move(lock), std::move(regions), summary.labels,
                                               summary.dtype, summary.info.n_pos, summary.committed_rows,
                                               options);
}
}  // namespace resid
