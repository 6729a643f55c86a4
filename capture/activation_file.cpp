// The HDF5 activation file (format: docs/activation-file-format.md).
//
// Crash safety rests on four rules, none of which depends on how HDF5 orders its own writes:
//  1. Every object, attribute and class list is created in a side file, with every dataset at its final size
//     and its storage allocated (contiguous layout), then the side file is closed and renamed into place. From
//     then on HDF5 has nothing to write: the file is complete, valid HDF5 at every instant.
//  2. The writer puts rows straight into their preallocated places (pwrite at the offsets HDF5 reports), through
//     the descriptor that holds the writer lock; unwritten rows are holes in a sparse file.
//  3. /committed_rows (8 aligned bytes) is written only after the rows it counts are on disk (fdatasync).
//  4. Every row carries a checksum (/row_checksums, XXH64 over its stored bytes in every dataset), written with
//     the row; resume() reads every committed row back against it before trusting the file.
// A compressed file is written the same way and compressed when finished: compress_in_place() builds the
// compressed copy beside it and renames it over the original, so either file is whole at every instant.
// (Until format 2 the writer used HDF5's SWMR mode; a SIGKILL at the wrong moment could leave a chunk index
// unreadable or two chunks sharing file space, so that design is gone.)
#include "capture/activation_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "capture/h5_handles.h"
#include "capture/xxh64.h"
#include "core/dtype.h"
#include "core/error.h"

namespace resid {

namespace h5 {

std::recursive_mutex& library_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

std::string last_error() {
  std::string deepest;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* err, void* out) -> herr_t {
        if (err->desc != nullptr && err->desc[0] != '\0') *static_cast<std::string*>(out) = err->desc;
        return 0;
      },
      &deepest);
  // A failed read or write describes itself as "file write failed: time = <ctime, with a newline>, filename =
  // ..., errno = 28, error message = 'No space left on device', buf = 0x..., ...": keep what it was and why.
  const std::string marker = "error message = '";
  const size_t m = deepest.find(marker);
  if (m != std::string::npos) {
    const size_t begin = m + marker.size(), end = deepest.find('\'', begin);
    const size_t colon = deepest.find(':');
    const std::string what = colon != std::string::npos && colon < m ? deepest.substr(0, colon) : "I/O failed";
    deepest = what + ": " + deepest.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  // One line, always.
  std::string out;
  for (char c : deepest) {
    const char x = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    if (x == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += x;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace h5

namespace {

namespace fs = std::filesystem;

constexpr char kFormatName[] = "resid-activations";
constexpr int64_t kFormatVersion = 2;
constexpr int64_t kOldestReadableFormat = 1;  // format 1 (SWMR, growing datasets) still reads
constexpr int64_t kActsChunkBytes = int64_t{1} << 20;
// Class names are stored fixed-width: a plain array any reader decodes the same way, kept from format 1.
constexpr size_t kClassNameBytes = 256;

std::string join_shape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s.empty() ? "none" : s;
}

const char* kind_name(LabelColumn::Kind k) {
  switch (k) {
    case LabelColumn::Kind::SequenceNumber:
      return "sequence_number";
    case LabelColumn::Kind::SequenceClass:
      return "sequence_class";
    case LabelColumn::Kind::TokenClass:
      return "token_class";
  }
  return "?";
}

bool kind_from_name(const std::string& name, LabelColumn::Kind* kind) {
  for (auto k :
       {LabelColumn::Kind::SequenceNumber, LabelColumn::Kind::SequenceClass, LabelColumn::Kind::TokenClass}) {
    if (name == kind_name(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

bool is_class_kind(LabelColumn::Kind k) {
  return k != LabelColumn::Kind::SequenceNumber;
}

// Throws FormatError naming `path` when an HDF5 call failed (negative id or status).
template <typename T>
T check(T result, const std::string& path, const std::string& what) {
  if (result < 0) {
    const std::string detail = h5::last_error();
    throw FormatError(path, what + (detail.empty() ? "" : " (" + detail + ")"));
  }
  return result;
}

// ---- datatypes --------------------------------------------------------------------------------------------

// float16 and bfloat16 as HDF5 floating-point types. HDF5 1.10 predefines no 16-bit float, so both are built
// from IEEE binary32 by moving its fields: h5py maps the 1+5+10 layout to numpy float16, and reads the 1+8+7
// bfloat16 layout (no numpy type) converted exactly to float32. Fields are set before the size so no field
// ever sticks out.
h5::Handle make_store_type(StoreDType t, const std::string& path) {
  h5::Handle type = h5::type_handle(check(H5Tcopy(H5T_IEEE_F32LE), path, "cannot copy the float32 type"));
  if (t == StoreDType::F32) return type;
  const hid_t id = type.get();
  const bool half = t == StoreDType::F16;
  const bool ok = H5Tset_fields(id, 15, half ? 10 : 7, half ? 5 : 8, 0, half ? 10 : 7) >= 0 &&
                  H5Tset_size(id, 2) >= 0 && H5Tset_precision(id, 16) >= 0 &&
                  H5Tset_ebias(id, half ? 15 : 127) >= 0;
  if (!ok) check(-1, path, "cannot build the " + store_dtype_name(t) + " HDF5 type");
  return type;
}

// A name for a stored element type, for read_stored_dataset.
std::string type_name(hid_t type) {
  const size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      if (size == 2) return H5Tget_ebias(type) == 127 ? "bfloat16" : "float16";
      return "float" + std::to_string(8 * size);
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(8 * size);
    case H5T_STRING:
      return "string";
    default:
      return "other";
  }
}

// ---- attributes -------------------------------------------------------------------------------------------

// The element type of /label_classes datasets: kClassNameBytes of UTF-8, zero-padded.
h5::Handle class_name_type(const std::string& path) {
  h5::Handle t = h5::type_handle(check(H5Tcopy(H5T_C_S1), path, "cannot create a string type"));
  check(H5Tset_size(t.get(), kClassNameBytes), path, "cannot create a string type");
  check(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), path, "cannot create a string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), path, "cannot create a string type");
  return t;
}

// Class names in the fixed-width stored form; InputError for names that do not fit.
std::vector<char> pack_class_names(const std::vector<std::string>& names, size_t first,
                                   const std::string& path, const std::string& column) {
  std::vector<char> out((names.size() - first) * kClassNameBytes, '\0');
  for (size_t i = first; i < names.size(); ++i) {
    const std::string& n = names[i];
    if (n.size() > kClassNameBytes || n.find('\0') != std::string::npos)
      throw InputError(path + ": class name of label column " + column + " is longer than " +
                       std::to_string(kClassNameBytes) + " bytes or contains a NUL: '" + n.substr(0, 40) +
                       "...'");
    std::memcpy(out.data() + (i - first) * kClassNameBytes, n.data(), n.size());
  }
  return out;
}

h5::Handle utf8_string_type(const std::string& path) {
  h5::Handle t = h5::type_handle(check(H5Tcopy(H5T_C_S1), path, "cannot create a string type"));
  check(H5Tset_size(t.get(), H5T_VARIABLE), path, "cannot create a string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), path, "cannot create a string type");
  return t;
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value,
                       const std::string& path) {
  h5::Handle type = utf8_string_type(path);
  h5::Handle space = h5::space_handle(check(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"));
  h5::Handle attr =
      h5::attr_handle(check(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                            path, "cannot create attribute " + name));
  const char* p = value.c_str();
  check(H5Awrite(attr.get(), type.get(), &p), path, "cannot write attribute " + name);
}

void write_int_attr(hid_t obj, const std::string& name, int64_t value, const std::string& path) {
  h5::Handle space = h5::space_handle(check(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"));
  h5::Handle attr = h5::attr_handle(
      check(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), path,
            "cannot create attribute " + name));
  check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), path, "cannot write attribute " + name);
}

bool has_attr(hid_t obj, const std::string& name) {
  return H5Aexists(obj, name.c_str()) > 0;
}

// A damaged file can give a "scalar" many elements, which a read into one int64 would overflow. Takes
// ownership of both ids.
void require_one_integer(hid_t space_id, hid_t type_id, const std::string& path, const std::string& what) {
  h5::Handle space = h5::space_handle(check(space_id, path, "cannot read the shape of " + what));
  h5::Handle type = h5::type_handle(check(type_id, path, "cannot read the type of " + what));
  if (H5Sget_simple_extent_npoints(space.get()) != 1 || H5Tget_class(type.get()) != H5T_INTEGER)
    throw FormatError(path, what + " is not one integer");
}

// Reads a string attribute (variable or fixed length), or a string list as its elements.
std::vector<std::string> read_strings_attr(hid_t obj, const std::string& name, const std::string& path) {
  h5::Handle attr =
      h5::attr_handle(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), path, "no attribute " + name));
  h5::Handle ftype = h5::type_handle(check(H5Aget_type(attr.get()), path, "cannot read attribute " + name));
  if (H5Tget_class(ftype.get()) != H5T_STRING)
    throw FormatError(path, "attribute " + name + " is not a string");
  h5::Handle space = h5::space_handle(check(H5Aget_space(attr.get()), path, "cannot read attribute " + name));
  const hssize_t n = check(H5Sget_simple_extent_npoints(space.get()), path, "cannot read attribute " + name);
  std::vector<std::string> out;
  if (n == 0) return out;
  if (H5Tis_variable_str(ftype.get()) > 0) {
    h5::Handle mtype = utf8_string_type(path);
    std::vector<char*> ptrs(n, nullptr);
    check(H5Aread(attr.get(), mtype.get(), ptrs.data()), path, "cannot read attribute " + name);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    const size_t width = H5Tget_size(ftype.get());
    std::vector<char> buf(width * n);
    check(H5Aread(attr.get(), ftype.get(), buf.data()), path, "cannot read attribute " + name);
    for (hssize_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * width;
      out.emplace_back(s, strnlen(s, width));
    }
  }
  return out;
}

std::string read_string_attr(hid_t obj, const std::string& name, const std::string& path) {
  auto values = read_strings_attr(obj, name, path);
  return values.empty() ? std::string() : values[0];
}

int64_t read_int_attr(hid_t obj, const std::string& name, const std::string& path) {
  h5::Handle attr =
      h5::attr_handle(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), path, "no attribute " + name));
  require_one_integer(H5Aget_space(attr.get()), H5Aget_type(attr.get()), path, "attribute " + name);
  int64_t v = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_INT64, &v), path, "attribute " + name + " is not an integer");
  return v;
}

// ---- files ------------------------------------------------------------------------------------------------

h5::Handle latest_format_fapl(const std::string& path) {
  h5::Handle fapl =
      h5::plist_handle(check(H5Pcreate(H5P_FILE_ACCESS), path, "cannot create a property list"));
  // The 1.10 file format (version 3 superblock), as format 1 files (written for SWMR) had.
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), path,
        "cannot set libver bounds");
  return fapl;
}

// Metadata reads in SWMR-read mode are retried when a checksum fails (a writer may be mid-flush); HDF5's default of 100
// attempts, with its back-off, keeps a damaged file busy for minutes. A few attempts cover a live writer.
constexpr unsigned kMetadataReadAttempts = 4;

// Refuses what is not a regular file before HDF5 opens it (opening a FIFO would wait for a writer).
void require_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) throw InputError(path + " does not exist");
    throw InputError(path + ": cannot stat (" + std::strerror(errno) + ")");
  }
  if (S_ISDIR(st.st_mode)) throw InputError(path + " is a directory, not an activation file");
  if (!S_ISREG(st.st_mode)) throw InputError(path + " is not a regular file (a device, FIFO or socket)");
}

// Opens for reading. SWMR-read mode first: it is what opens a format 1 file whose writer was killed (HDF5
// refuses a plain open of a file still marked "open for writing"); format 2 files are never marked, and
// plain mode opens files SWMR cannot read.
h5::Handle open_for_read(const std::string& path) {
  require_regular_file(path);
  h5::Handle fapl =
      h5::plist_handle(check(H5Pcreate(H5P_FILE_ACCESS), path, "cannot create a property list"));
  check(H5Pset_metadata_read_attempts(fapl.get(), kMetadataReadAttempts), path, "cannot set read attempts");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl.get());
  if (id < 0) id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  h5::Handle file = h5::file_handle(check(id, path, "cannot open as an HDF5 file"));
  if (!has_attr(file.get(), "format") || read_string_attr(file.get(), "format", path) != kFormatName)
    throw FormatError(
        path, std::string("not a resid activation file (no attribute format = \"") + kFormatName + "\")");
  return file;
}

h5::Handle open_dataset(hid_t loc, const std::string& name, const std::string& path,
                        hid_t dapl = H5P_DEFAULT) {
  if (H5Lexists(loc, name.c_str(), H5P_DEFAULT) <= 0) throw FormatError(path, "no dataset " + name);
  return h5::dataset_handle(check(H5Dopen2(loc, name.c_str(), dapl), path, "cannot open dataset " + name));
}

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& path, const std::string& name) {
  h5::Handle space = h5::space_handle(check(H5Dget_space(dataset), path, "cannot read the shape of " + name));
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), path, "cannot read the shape of " + name);
  std::vector<hsize_t> dims(rank);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

int64_t read_scalar_int(hid_t file, const std::string& name, const std::string& path) {
  h5::Handle ds = open_dataset(file, name, path);
  require_one_integer(H5Dget_space(ds.get()), H5Dget_type(ds.get()), path, name);
  int64_t v = 0;
  check(H5Dread(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), path, "cannot read " + name);
  return v;
}

// Link names of a group, in creation order when the group tracks it (ours do), else by name.
std::vector<std::string> group_members(hid_t file, const std::string& group, const std::string& path) {
  std::vector<std::string> names;
  if (H5Lexists(file, group.c_str(), H5P_DEFAULT) <= 0) return names;
  h5::Handle g =
      h5::group_handle(check(H5Gopen2(file, group.c_str(), H5P_DEFAULT), path, "cannot open " + group));
  H5G_info_t info;
  check(H5Gget_info(g.get(), &info), path, "cannot list " + group);
  for (H5_index_t index : {H5_INDEX_CRT_ORDER, H5_INDEX_NAME}) {
    names.clear();
    bool ok = true;
    for (hsize_t i = 0; i < info.nlinks && ok; ++i) {
      const ssize_t len = H5Lget_name_by_idx(g.get(), ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
      if (len < 0) {
        ok = false;
        break;
      }
      std::string name(static_cast<size_t>(len) + 1, '\0');
      H5Lget_name_by_idx(g.get(), ".", index, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
      name.resize(static_cast<size_t>(len));
      names.push_back(name);
    }
    if (ok) return names;
  }
  check(-1, path, "cannot list " + group);
  return names;
}

// ---- locking and file placement ---------------------------------------------------------------------------

// Keeps two resid processes from writing one file; its descriptor is the one the writer writes rows through.
// HDF5 does not have the file open while rows are written, so its own flock() says nothing. It is an
// open-file-description lock: released when the holder dies, and independent of the flock() HDF5 takes while
// a reader has the file open (readers never block the writer, nor it them).
class WriterLock {
 public:
  WriterLock() = default;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  WriterLock(WriterLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  WriterLock& operator=(WriterLock&& o) noexcept {
    if (this != &o) {
      release();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~WriterLock() { release(); }

  // `shown` is the path named in messages (the lock may be taken on the side file before it is renamed).
  static WriterLock acquire(const std::string& file, const std::string& shown, int extra_flags = 0) {
    WriterLock lock;
    lock.fd_ = ::open(file.c_str(), O_RDWR | O_CLOEXEC | extra_flags, 0666);
    if (lock.fd_ < 0) throw InputError(shown + ": cannot open for writing (" + std::strerror(errno) + ")");
    if (!lock.try_lock(F_WRLCK)) {
      const int err = errno;
      if (err == EAGAIN || err == EACCES) throw InputError(shown + " is being written by another process");
      throw InputError(shown + ": cannot lock (" + std::strerror(err) + ")");
    }
    return lock;
  }
  // A read lock on an existing file: held while --force replaces it, so no writer can start on it meanwhile.
  // Empty (not valid()) when another process holds the writer lock.
  static WriterLock read_lock(const std::string& file, const std::string& shown) {
    WriterLock lock;
    lock.fd_ = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (lock.fd_ < 0) throw InputError(shown + ": cannot open (" + std::strerror(errno) + ")");
    if (!lock.try_lock(F_RDLCK)) {
      const int err = errno;
      lock.release();
      if (err != EAGAIN && err != EACCES) throw InputError(shown + ": cannot lock (" + std::strerror(err) + ")");
    }
    return lock;
  }
  // True when another process holds the writer lock of `file` (a probe that needs no write permission).
  static bool held_elsewhere(const std::string& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    const bool held = ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    ::close(fd);
    return held;
  }
  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }  // opened read-write by acquire(): the writer writes rows through it
  // True when `path` names the locked file (same device and inode).
  bool names(const std::string& path) const {
    struct stat a {}, b {};
    return fd_ >= 0 && ::fstat(fd_, &a) == 0 && ::lstat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
  }
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool try_lock(short type) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    return ::fcntl(fd_, F_OFD_SETLK, &fl) == 0;
  }
  int fd_ = -1;
};

// Removes the side file unless the creation went through.
class SideFile {
 public:
  explicit SideFile(std::string path) : path_(std::move(path)) {}
  ~SideFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  void keep() { path_.clear(); }

 private:
  std::string path_;
};

// ---- datasets ---------------------------------------------------------------------------------------------

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

// How a dataset of rows is stored. Raw: contiguous and allocated when created, so the writer puts rows straight
// into their place in the file and HDF5's metadata never changes. Compressed: shuffle + deflate(1) chunks, only
// in a finished file rewritten by compress_in_place().
enum class RowStorage { Raw, Compressed };

// Creates a dataset of `rows` rows of `row_shape` (its final, fixed size).
void create_row_dataset(hid_t loc, const std::string& name, hid_t type, const std::vector<int64_t>& row_shape,
                        int64_t rows, RowStorage storage, int64_t chunk_rows, const std::string& path,
                        h5::Handle* out = nullptr) {
  std::vector<hsize_t> dims{static_cast<hsize_t>(rows)};
  for (int64_t d : row_shape) dims.push_back(static_cast<hsize_t>(d));
  h5::Handle space = h5::space_handle(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                                            path, "cannot create the dataspace of " + name));
  h5::Handle dcpl =
      h5::plist_handle(check(H5Pcreate(H5P_DATASET_CREATE), path, "cannot create a property list"));
  if (storage == RowStorage::Compressed && rows > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = static_cast<hsize_t>(std::min(chunk_rows, rows));
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), path, "cannot chunk " + name);
    check(H5Pset_shuffle(dcpl.get()), path, "cannot set the shuffle filter on " + name);
    check(H5Pset_deflate(dcpl.get(), 1), path, "cannot set the deflate filter on " + name);
  } else {
    check(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), path, "cannot set the layout of " + name);
    check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), path, "cannot set the allocation time of " + name);
    // Every row gets written before it is committed; unwritten space stays a hole in a sparse file.
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), path, "cannot set the fill time of " + name);
  }
  h5::Handle ds = h5::dataset_handle(
      check(H5Dcreate2(loc, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), path,
            "cannot create dataset " + name));
  if (out) *out = std::move(ds);
}

void create_scalar_dataset(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                           const void* value, const std::string& path) {
  h5::Handle space = h5::space_handle(check(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"));
  h5::Handle dcpl =
      h5::plist_handle(check(H5Pcreate(H5P_DATASET_CREATE), path, "cannot create a property list"));
  // Contiguous and allocated now: the writer updates it with one small write at a fixed offset.
  check(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), path, "cannot set the layout of " + name);
  check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), path,
        "cannot set the allocation time of " + name);
  h5::Handle ds = h5::dataset_handle(
      check(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), path,
            "cannot create dataset " + name));
  check(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value), path, "cannot write " + name);
}

h5::Handle create_group(hid_t loc, const std::string& name, const std::string& path) {
  h5::Handle gcpl =
      h5::plist_handle(check(H5Pcreate(H5P_GROUP_CREATE), path, "cannot create a property list"));
  // Creation order: hooks list in capture order, labels in dataset order.
  check(H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), path,
        "cannot create group " + name);
  return h5::group_handle(check(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), path,
                                "cannot create " + name));
}

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

int64_t chunk_rows_for(int64_t row_bytes, int64_t target) {
  return std::max<int64_t>(1, target / row_bytes);
}

// ---- validation -------------------------------------------------------------------------------------------

void validate_layout(const std::string& path, const ActivationFileInfo& info,
                     const std::vector<HookDatasetSpec>& hooks, const std::vector<LabelColumn>& labels) {
  if (info.n_pos < 1)
    throw InputError(path + ": n_pos must be at least 1 (got " + std::to_string(info.n_pos) + ")");
  std::vector<std::string> seen;
  for (const auto& h : hooks) {
    if (h.hook.empty() || h.hook.find('/') != std::string::npos || h.hook == "." || h.hook == "..")
      throw InputError(path + ": hook name '" + h.hook + "' cannot name an HDF5 dataset");
    if (std::find(seen.begin(), seen.end(), h.hook) != seen.end())
      throw InputError(path + ": hook " + h.hook + " given twice");
    seen.push_back(h.hook);
    for (int64_t d : h.row_shape)
      if (d < 1) throw InputError(path + ": hook " + h.hook + " has row shape " + join_shape(h.row_shape));
    if (h.row_shape.size() > 30) throw InputError(path + ": hook " + h.hook + " has too many dimensions");
  }
  seen.clear();
  for (const auto& l : labels) {
    if (l.name.empty() || l.name.find('/') != std::string::npos || l.name == "." || l.name == "..")
      throw InputError(path + ": label name '" + l.name + "' cannot name an HDF5 dataset");
    if (std::find(seen.begin(), seen.end(), l.name) != seen.end())
      throw InputError(path + ": label column " + l.name + " given twice");
    seen.push_back(l.name);
  }
}

// ---- raw rows ---------------------------------------------------------------------------------------------

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "rows are written as they are in memory into little-endian HDF5 datasets");

void pwrite_all(int fd, const void* data, int64_t bytes, int64_t offset, const std::string& path,
                const std::string& what) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd, p, static_cast<size_t>(std::min<int64_t>(bytes, int64_t{1} << 30)), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InputError(path + ": cannot write " + what + " (" + std::strerror(n < 0 ? errno : EIO) + ")");
    p += n;
    bytes -= n;
    offset += n;
  }
}

void pread_all(int fd, void* data, int64_t bytes, int64_t offset, const std::string& path,
               const std::string& what) {
  auto* p = static_cast<uint8_t*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, static_cast<size_t>(std::min<int64_t>(bytes, int64_t{1} << 30)), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(path + ": cannot read " + what + " (" + std::strerror(errno) + ")");
    if (n == 0) throw FormatError(path, "is truncated: " + what + " lies past the end of the file");
    p += n;
    bytes -= n;
    offset += n;
  }
}

// Where one dataset of rows lives in the file.
struct RowRegion {
  std::string name;       // path inside the file, for messages and the checksum order
  int64_t row_bytes = 0;  // bytes of one stored row
  int64_t offset = 0;     // file offset of row 0
  int hash_index = -1;    // position in the row checksum (datasets sorted by name), -1 for none
};

// Every place the writer touches: the rows of each dataset, /committed_rows and /complete.
struct FileRegions {
  int64_t rows = 0;  // rows of every dataset
  RowRegion tokens, lengths, checksums;
  std::vector<RowRegion> labels;  // per label column, in the caller's order
  std::vector<RowRegion> acts;    // per hook, in the caller's order
  int64_t committed_offset = 0, complete_offset = 0;

  std::vector<RowRegion*> all() {
    std::vector<RowRegion*> out{&tokens, &lengths};
    for (auto& r : labels) out.push_back(&r);
    for (auto& r : acts) out.push_back(&r);
    out.push_back(&checksums);
    return out;
  }
};

// File offset of a dataset stored contiguously and allocated (FormatError otherwise: a compressed, chunked or
// foreign file cannot be written in place).
int64_t contiguous_offset(hid_t ds, const std::string& name, int64_t bytes, const std::string& path) {
  h5::Handle dcpl = h5::plist_handle(check(H5Dget_create_plist(ds), path, "cannot read " + name));
  if (H5Pget_layout(dcpl.get()) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl.get()) != 0)
    throw FormatError(path, name + " is not stored contiguously (a finished, compressed or older file cannot be "
                                   "written to)");
  if (bytes == 0) return 0;
  const haddr_t offset = H5Dget_offset(ds);
  if (offset == HADDR_UNDEF) throw FormatError(path, name + " has no storage allocated");
  return static_cast<int64_t>(offset);
}

RowRegion row_region(hid_t file, const std::string& name, int64_t rows, const std::string& path) {
  h5::Handle ds = open_dataset(file, name, path);
  const std::vector<hsize_t> dims = dataset_dims(ds.get(), path, name);
  if (dims.empty() || static_cast<int64_t>(dims[0]) != rows)
    throw FormatError(path, name + " does not hold " + std::to_string(rows) + " rows");
  h5::Handle type = h5::type_handle(check(H5Dget_type(ds.get()), path, "cannot read the type of " + name));
  RowRegion r;
  r.name = name;
  r.row_bytes = static_cast<int64_t>(H5Tget_size(type.get()));
  for (size_t k = 1; k < dims.size(); ++k) r.row_bytes *= static_cast<int64_t>(dims[k]);
  r.offset = contiguous_offset(ds.get(), name, rows * r.row_bytes, path);
  return r;
}

// The regions of a file of `rows` rows (labels and hooks in the caller's order), and the order row checksums
// combine the datasets in.
FileRegions file_regions(hid_t file, int64_t rows, const std::vector<HookDatasetSpec>& hooks,
                         const std::vector<LabelColumn>& labels, const std::string& path) {
  FileRegions f;
  f.rows = rows;
  f.tokens = row_region(file, "/tokens", rows, path);
  f.lengths = row_region(file, "/lengths", rows, path);
  f.checksums = row_region(file, "/row_checksums", rows, path);
  for (const auto& l : labels) f.labels.push_back(row_region(file, "/labels/" + l.name, rows, path));
  for (const auto& h : hooks) f.acts.push_back(row_region(file, "/acts/" + h.hook, rows, path));
  for (auto [name, offset, bytes] : {std::tuple<const char*, int64_t*, int64_t>{"/committed_rows", &f.committed_offset, 8},
                                     {"/complete", &f.complete_offset, 1}}) {
    h5::Handle ds = open_dataset(file, name, path);
    *offset = contiguous_offset(ds.get(), name, bytes, path);
  }
  std::vector<RowRegion*> hashed = f.all();
  hashed.pop_back();  // the checksums themselves
  std::sort(hashed.begin(), hashed.end(), [](const RowRegion* a, const RowRegion* b) { return a->name < b->name; });
  for (size_t i = 0; i < hashed.size(); ++i) hashed[i]->hash_index = static_cast<int>(i);
  return f;
}

// Row r's checksum from its per-dataset hashes (parts: one per hashed dataset, in name order).
uint64_t combine_row_hashes(const uint64_t* parts, size_t count) {
  std::vector<uint8_t> bytes(count * 8);
  for (size_t i = 0; i < count; ++i)
    for (int b = 0; b < 8; ++b) bytes[i * 8 + b] = static_cast<uint8_t>(parts[i] >> (8 * b));
  return xxh64(bytes.data(), bytes.size());
}

// Reads every committed row back and compares it with /row_checksums (resume): a damaged or truncated file is
// refused before anything is written to it.
void verify_committed(int fd, FileRegions& f, int64_t committed, const std::string& path) {
  std::vector<RowRegion*> hashed;
  for (RowRegion* r : f.all())
    if (r->hash_index >= 0) hashed.push_back(r);
  int64_t row_bytes = 8;
  for (const RowRegion* r : hashed) row_bytes += r->row_bytes;
  const int64_t block = std::max<int64_t>(1, (int64_t{64} << 20) / row_bytes);
  const size_t count = hashed.size();
  std::vector<uint8_t> buffer;
  std::vector<uint64_t> parts, stored;
  for (int64_t first = 0; first < committed; first += block) {
    const int64_t n = std::min(block, committed - first);
    parts.assign(static_cast<size_t>(n) * count, 0);
    for (RowRegion* r : hashed) {
      buffer.resize(static_cast<size_t>(n * r->row_bytes));
      pread_all(fd, buffer.data(), n * r->row_bytes, r->offset + first * r->row_bytes, path, r->name);
      for (int64_t i = 0; i < n; ++i)
        parts[i * count + r->hash_index] = xxh64(buffer.data() + i * r->row_bytes, r->row_bytes);
    }
    stored.resize(static_cast<size_t>(n));
    pread_all(fd, stored.data(), n * 8, f.checksums.offset + first * 8, path, "/row_checksums");
    for (int64_t i = 0; i < n; ++i)
      if (combine_row_hashes(parts.data() + i * count, count) != stored[i])
        throw FormatError(path, "row " + std::to_string(first + i) +
                                    " does not match its checksum in /row_checksums: the file is damaged "
                                    "(start again with --force)");
  }
}

void compress_in_place(const std::string& path, int64_t chunk_rows);

// ---- the writer -------------------------------------------------------------------------------------------

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
      throw InputError(path_ + ": append of rows " + std::to_string(rows_) + ".." + std::to_string(rows_ + n) +
                       " past the " + std::to_string(f_.rows) + " rows the file was created for");
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
                        "an earlier write failed; the file holds its last commit (use --resume to continue)");
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
    pwrite_all(lock_.fd(), bytes, n * r.row_bytes, r.offset + rows_ * r.row_bytes, path_, "rows of " + r.name);
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
    throw InputError(where + ": label column " + l.name + " has class id " + std::to_string(static_cast<int64_t>(id)) +
                     " but the file was created with " + std::to_string(l.classes.size()) + " class names");
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

// Builds the whole file (every object and attribute, every dataset at its final size of `rows` rows) at
// `side_path`. /acts are compressed when `storage` says so (compress_in_place), everything else is raw.
void build_file(const std::string& side_path, const std::string& shown, const ActivationFileInfo& info,
                const std::vector<HookDatasetSpec>& hooks, const std::vector<LabelColumn>& labels,
                const WriterOptions& options, int64_t rows, RowStorage storage) {
  h5::Handle fapl = latest_format_fapl(shown);
  h5::Handle file = h5::file_handle(
      check(H5Fcreate(side_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), shown, "cannot create"));
  const hid_t f = file.get();
  write_string_attr(f, "format", kFormatName, shown);
  write_int_attr(f, "format_version", kFormatVersion, shown);
  write_string_attr(f, "resid_version", info.resid_version, shown);
  write_string_attr(f, "model_path", info.model_path, shown);
  write_string_attr(f, "model_sha256", info.model_sha256, shown);
  write_string_attr(f, "model_config", info.model_config_json, shown);
  write_string_attr(f, "tokenizer", info.tokenizer, shown);
  write_string_attr(f, "dataset_path", info.dataset_path, shown);
  write_string_attr(f, "dataset_sha256", info.dataset_sha256, shown);
  write_string_attr(f, "dataset", info.dataset_description, shown);
  write_string_attr(f, "model_files", info.model_files, shown);
  write_string_attr(f, "tokenizer_sha256", info.tokenizer_sha256, shown);
  write_string_attr(f, "dataset_options", info.dataset_options, shown);
  write_string_attr(f, "label_files_sha256", info.label_files_sha256, shown);
  write_string_attr(f, "command_line", info.command_line, shown);
  write_string_attr(f, "created", info.created, shown);
  write_string_attr(f, "positions", info.positions, shown);
  write_int_attr(f, "n_pos", info.n_pos, shown);

  const int64_t n_pos = info.n_pos;
  const RowStorage raw = RowStorage::Raw;
  create_row_dataset(f, "/tokens", H5T_STD_I32LE, {n_pos}, rows, raw, 0, shown);
  create_row_dataset(f, "/lengths", H5T_STD_I32LE, {}, rows, raw, 0, shown);
  create_row_dataset(f, "/row_checksums", H5T_STD_U64LE, {}, rows, raw, 0, shown);

  h5::Handle label_group = create_group(f, "/labels", shown);
  h5::Handle classes_group = create_group(f, "/label_classes", shown);
  h5::Handle name_type = class_name_type(shown);
  for (const LabelColumn& l : labels) {
    h5::Handle ds;
    switch (l.kind) {
      case LabelColumn::Kind::SequenceNumber:
        create_row_dataset(label_group.get(), l.name, H5T_IEEE_F64LE, {}, rows, raw, 0, shown, &ds);
        break;
      case LabelColumn::Kind::SequenceClass:
        create_row_dataset(label_group.get(), l.name, H5T_STD_I32LE, {}, rows, raw, 0, shown, &ds);
        break;
      case LabelColumn::Kind::TokenClass:
        create_row_dataset(label_group.get(), l.name, H5T_STD_I32LE, {n_pos}, rows, raw, 0, shown, &ds);
        break;
    }
    write_string_attr(ds.get(), "kind", kind_name(l.kind), shown);
    if (!is_class_kind(l.kind)) continue;
    write_string_attr(ds.get(), "class_names", "/label_classes/" + l.name, shown);
    h5::Handle names;
    const int64_t n_classes = static_cast<int64_t>(l.classes.size());
    create_row_dataset(classes_group.get(), l.name, name_type.get(), {}, n_classes, raw, 0, shown, &names);
    if (l.classes.empty()) continue;
    const std::vector<char> packed = pack_class_names(l.classes, 0, shown, l.name);
    check(H5Dwrite(names.get(), name_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()), shown,
          "cannot write /label_classes/" + l.name);
  }
  label_group.reset();
  classes_group.reset();

  h5::Handle store_type = make_store_type(options.dtype, shown);
  const int64_t elem = options.dtype == StoreDType::F32 ? 4 : 2;
  h5::Handle acts_group = create_group(f, "/acts", shown);
  for (const HookDatasetSpec& h : hooks) {
    const int64_t row_bytes = elem * product(h.row_shape);
    const int64_t chunk_rows =
        options.chunk_rows > 0 ? options.chunk_rows : chunk_rows_for(row_bytes, kActsChunkBytes);
    if (storage == RowStorage::Compressed && std::min(chunk_rows, rows) * row_bytes >= (int64_t{1} << 32))
      throw InputError(shown + ": chunks of " + std::to_string(chunk_rows) + " rows of " + h.hook +
                       " exceed HDF5's 4 GiB chunk limit");
    h5::Handle ds;
    create_row_dataset(acts_group.get(), h.hook, store_type.get(), h.row_shape, rows, storage, chunk_rows, shown,
                       &ds);
    write_string_attr(ds.get(), "hook", h.hook, shown);
    write_int_attr(ds.get(), "layer", h.layer, shown);
    write_string_attr(ds.get(), "reduction", h.reduction, shown);
    write_string_attr(ds.get(), "dtype", store_dtype_name(options.dtype), shown);
  }
  acts_group.reset();

  const int64_t zero64 = 0;
  const int8_t zero8 = 0;
  create_scalar_dataset(f, "/committed_rows", H5T_STD_I64LE, H5T_NATIVE_INT64, &zero64, shown);
  create_scalar_dataset(f, "/complete", H5T_STD_I8LE, H5T_NATIVE_INT8, &zero8, shown);
  if (!file.reset()) check(-1, shown, "cannot close after creating");
}

// The names of /label_classes/<name>.
std::vector<std::string> read_class_names(hid_t file, const std::string& column, const std::string& path) {
  const std::string name = "/label_classes/" + column;
  if (H5Lexists(file, "/label_classes", H5P_DEFAULT) <= 0) throw FormatError(path, "no dataset " + name);
  h5::Handle ds = open_dataset(file, name, path);
  const std::vector<hsize_t> dims = dataset_dims(ds.get(), path, name);
  if (dims.size() != 1) throw FormatError(path, name + " is not a list");
  h5::Handle type = h5::type_handle(check(H5Dget_type(ds.get()), path, "cannot read the type of " + name));
  const size_t width = H5Tget_size(type.get());
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
    throw FormatError(path, name + " is not a list of fixed-width strings");
  std::vector<char> buf(dims[0] * width);
  if (dims[0] > 0)
    check(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), path,
          "cannot read " + name);
  std::vector<std::string> out;
  for (hsize_t i = 0; i < dims[0]; ++i)
    out.emplace_back(buf.data() + i * width, strnlen(buf.data() + i * width, width));
  return out;
}

// The `dtype` attribute of an /acts dataset.
StoreDType stored_dtype(hid_t dataset, const std::string& name, const std::string& path) {
  const std::string dtype = read_string_attr(dataset, "dtype", path);
  for (StoreDType t : {StoreDType::F32, StoreDType::F16, StoreDType::BF16})
    if (dtype == store_dtype_name(t)) return t;
  throw FormatError(path, name + " has an unknown dtype '" + dtype + "'");
}

// What resume() and the readers learn from a file's attributes and layout.
ActivationFileSummary summarize(hid_t file, const std::string& path, bool for_resume = false) {
  ActivationFileSummary s;
  s.format_version = read_int_attr(file, "format_version", path);
  const bool known = for_resume ? s.format_version == kFormatVersion
                                 : s.format_version >= kOldestReadableFormat && s.format_version <= kFormatVersion;
  if (!known) {
    const std::string what =
        "format_version " + std::to_string(s.format_version) + " (this resid " +
        (for_resume ? "writes " + std::to_string(kFormatVersion)
                    : "reads " + std::to_string(kOldestReadableFormat) + " to " + std::to_string(kFormatVersion)) +
        ")";
    if (for_resume) throw InputError(path + ": cannot resume: " + what);
    throw FormatError(path, what);
  }
  s.committed_rows = read_scalar_int(file, "/committed_rows", path);
  s.complete = read_scalar_int(file, "/complete", path) != 0;
  {
    h5::Handle lengths = open_dataset(file, "/lengths", path);
    const std::vector<hsize_t> dims = dataset_dims(lengths.get(), path, "/lengths");
    s.rows = dims.empty() ? 0 : static_cast<int64_t>(dims[0]);
  }
  if (s.committed_rows < 0 || s.committed_rows > s.rows)
    throw FormatError(path, "/committed_rows is " + std::to_string(s.committed_rows) + " but the datasets hold " +
                                std::to_string(s.rows) + " rows");
  ActivationFileInfo& i = s.info;
  i.resid_version = read_string_attr(file, "resid_version", path);
  i.model_path = read_string_attr(file, "model_path", path);
  i.model_sha256 = read_string_attr(file, "model_sha256", path);
  i.model_config_json = read_string_attr(file, "model_config", path);
  i.tokenizer = read_string_attr(file, "tokenizer", path);
  i.dataset_path = read_string_attr(file, "dataset_path", path);
  i.dataset_sha256 = read_string_attr(file, "dataset_sha256", path);
  i.dataset_description = read_string_attr(file, "dataset", path);
  s.fingerprinted = has_attr(file, "dataset_options") && H5Lexists(file, "/row_checksums", H5P_DEFAULT) > 0;
  if (s.fingerprinted) {
    i.model_files = read_string_attr(file, "model_files", path);
    i.tokenizer_sha256 = read_string_attr(file, "tokenizer_sha256", path);
    i.dataset_options = read_string_attr(file, "dataset_options", path);
    i.label_files_sha256 = read_string_attr(file, "label_files_sha256", path);
  }
  i.command_line = read_string_attr(file, "command_line", path);
  i.created = read_string_attr(file, "created", path);
  i.positions = read_string_attr(file, "positions", path);
  i.n_pos = read_int_attr(file, "n_pos", path);

  bool dtype_seen = false;
  for (const std::string& name : group_members(file, "/acts", path)) {
    h5::Handle ds = open_dataset(file, "/acts/" + name, path);
    HookDatasetSpec spec;
    spec.hook = name;
    spec.layer = static_cast<int>(read_int_attr(ds.get(), "layer", path));
    spec.reduction = read_string_attr(ds.get(), "reduction", path);
    const std::vector<hsize_t> dims = dataset_dims(ds.get(), path, "/acts/" + name);
    for (size_t k = 1; k < dims.size(); ++k) spec.row_shape.push_back(static_cast<int64_t>(dims[k]));
    const StoreDType dtype = stored_dtype(ds.get(), "/acts/" + name, path);
    if (dtype_seen && dtype != s.dtype) throw FormatError(path, "/acts datasets have different dtypes");
    s.dtype = dtype;
    dtype_seen = true;
    h5::Handle dcpl =
        h5::plist_handle(check(H5Dget_create_plist(ds.get()), path, "cannot read /acts/" + name));
    s.compressed = s.compressed || H5Pget_nfilters(dcpl.get()) > 0;
    s.hooks.push_back(name);
    s.hook_specs.push_back(spec);
  }
  for (const std::string& name : group_members(file, "/labels", path)) {
    h5::Handle ds = open_dataset(file, "/labels/" + name, path);
    LabelColumn l;
    l.name = name;
    if (!kind_from_name(read_string_attr(ds.get(), "kind", path), &l.kind))
      throw FormatError(path, "/labels/" + name + " has an unknown kind");
    if (is_class_kind(l.kind)) l.classes = read_class_names(file, name, path);
    s.labels.push_back(l);
  }
  return s;
}

// The checks of resume(): InputError naming the first thing that differs.
void check_resumable(const std::string& path, const ActivationFileSummary& s, const ActivationFileInfo& info,
                     const std::vector<HookDatasetSpec>& hooks, const std::vector<LabelColumn>& labels,
                     const WriterOptions& options) {
  const std::string prefix = path + ": cannot resume: ";
  if (s.complete) throw InputError(path + " is already complete (nothing to resume)");
  if (!s.fingerprinted)
    throw InputError(prefix + "it was written by an older resid without input fingerprints and row checksums "
                              "(start again with --force)");
  auto same = [&](const std::string& what, const std::string& file, const std::string& now) {
    if (file != now) throw InputError(prefix + what + " differs (file " + file + ", now " + now + ")");
  };
  same("model_sha256", s.info.model_sha256, info.model_sha256);
  same("tokenizer_sha256", s.info.tokenizer_sha256, info.tokenizer_sha256);
  same("dataset_sha256", s.info.dataset_sha256, info.dataset_sha256);
  // JSON objects: name the first key that differs.
  for (const auto& [what, file, now] : {std::tuple<std::string, std::string, std::string>{
                                            "dataset option ", s.info.dataset_options, info.dataset_options},
                                        {"label file ", s.info.label_files_sha256, info.label_files_sha256}}) {
    if (file == now) continue;
    nlohmann::json a, b;
    try {
      a = nlohmann::json::parse(file);
      b = nlohmann::json::parse(now);
    } catch (const std::exception&) {
      same(what + "list", file, now);
    }
    if (!a.is_object() || !b.is_object()) same(what + "list", file, now);
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const std::string& k : keys) {
      const std::string x = a.contains(k) ? a[k].dump() : "(none)", y = b.contains(k) ? b[k].dump() : "(none)";
      same(what + k, x, y);
    }
  }
  same("positions", s.info.positions, info.positions);
  same("n_pos", std::to_string(s.info.n_pos), std::to_string(info.n_pos));
  std::vector<std::string> now_hooks;
  for (const auto& h : hooks) now_hooks.push_back(h.hook);
  std::vector<std::string> file_sorted = s.hooks, now_sorted = now_hooks;
  std::sort(file_sorted.begin(), file_sorted.end());
  std::sort(now_sorted.begin(), now_sorted.end());
  if (file_sorted != now_sorted) same("hook list", join_names(s.hooks), join_names(now_hooks));
  for (const auto& h : hooks) {
    const size_t k = std::find(s.hooks.begin(), s.hooks.end(), h.hook) - s.hooks.begin();
    same(("row shape of " + h.hook).c_str(), join_shape(s.hook_specs[k].row_shape), join_shape(h.row_shape));
    same(("reduction of " + h.hook).c_str(), s.hook_specs[k].reduction, h.reduction);
  }
  if (!hooks.empty()) same("dtype", store_dtype_name(s.dtype), store_dtype_name(options.dtype));
  std::vector<std::string> file_labels, now_labels;
  for (const auto& l : s.labels) file_labels.push_back(l.name + " (" + kind_name(l.kind) + ")");
  for (const auto& l : labels) now_labels.push_back(l.name + " (" + kind_name(l.kind) + ")");
  same("label columns", join_names(file_labels), join_names(now_labels));
}

// ---- placing a new file ----------------------------------------------------------------------------------

std::string file_kind(mode_t mode) {
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISLNK(mode)) return "symbolic link";
  return "special file";
}

// What --force may replace (InputError otherwise): a regular file, not one of the run's inputs, holding a
// resid activation file unless force_any.
void check_replaceable(const std::string& path, const WriterOptions& options) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;  // gone meanwhile: nothing to replace
  if (S_ISLNK(st.st_mode))
    throw InputError(path + " is a symbolic link; --force replaces only regular files (remove the link, or "
                            "give the file it points to)");
  if (!S_ISREG(st.st_mode))
    throw InputError(path + " is a " + file_kind(st.st_mode) + "; --force replaces only regular files");
  for (const std::string& input : options.inputs) {
    struct stat in {};
    if (::stat(input.c_str(), &in) == 0 && in.st_dev == st.st_dev && in.st_ino == st.st_ino)
      throw InputError(path + " is " + (input == path ? "an input" : "the same file as the input " + input) +
                       " of this run; --force never replaces an input");
  }
  // Before HDF5 opens it: opening a file whose writer is just reopening it would make one of them fail.
  if (WriterLock::held_elsewhere(path)) throw InputError(path + " is being written by another process");
  if (options.force_any) return;
  bool ours = false;
  try {
    open_for_read(path);
    ours = true;
  } catch (const Error&) {
  }
  if (!ours)
    throw InputError(path + " is not a resid activation file; --force replaces only those "
                            "(--force-overwrite-any replaces any regular file)");
}

// Serializes resid processes placing files in one directory (flock on the directory), so "is the target
// replaceable" and the rename happen as one step. Best effort: filesystems without flock on directories skip
// it (the per-file locks still keep writers apart).
class DirectoryLock {
 public:
  explicit DirectoryLock(const fs::path& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_;
};

// Moves the built side file to `path`: never over an existing file unless options allow it and
// check_replaceable agrees, and never over a file another process is writing. Of two runs placing the same
// path at once, exactly one succeeds.
void place_file(const std::string& side, const std::string& path, const fs::path& dir,
                const WriterOptions& options) {
  DirectoryLock dir_lock(dir);
  if (::link(side.c_str(), path.c_str()) == 0) {  // link() never replaces an existing file
    ::unlink(side.c_str());
    return;
  }
  const int link_error = errno;
  if (link_error != EEXIST) {
    // A filesystem without hard links: rename, which replaces, so only when nothing is there.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!options.force && !options.force_any) throw InputError(path + " exists (use --force to overwrite)");
    } else if (::rename(side.c_str(), path.c_str()) == 0) {
      return;
    } else {
      throw InputError(path + ": cannot move into place (" + std::strerror(errno) + ")");
    }
  }
  if (!options.force && !options.force_any) throw InputError(path + " exists (use --force to overwrite)");
  check_replaceable(path, options);
  // Held across the rename: a writer cannot start on the file being replaced, and one already writing it
  // makes this run fail instead of both "succeeding".
  WriterLock old = WriterLock::read_lock(path, path);
  if (!old.valid() || !old.names(path)) throw InputError(path + " is being written by another process");
  if (::rename(side.c_str(), path.c_str()) != 0)
    throw InputError(path + ": cannot move into place (" + std::strerror(errno) + ")");
}

// Removes side files of earlier runs that were killed while building (`<name>.creating-<pid>`): a side file
// whose lock nobody holds is stale.
void remove_stale_side_files(const fs::path& dir, const std::string& prefix) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) continue;
    if (name.find_first_not_of("0123456789", prefix.size()) != std::string::npos) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    try {
      WriterLock stale = WriterLock::acquire(it->path().string(), it->path().string());
      if (stale.names(it->path().string())) ::unlink(it->path().c_str());
    } catch (const InputError&) {
      // Locked: a run is building it right now.
    }
  }
}

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
    h5::Handle mspace = h5::space_handle(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                                               path, "cannot copy " + name));
    for (hid_t ds : {in.get(), out.get()}) {
      h5::Handle fspace = h5::space_handle(check(H5Dget_space(ds), path, "cannot copy " + name));
      check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), path,
            "cannot select rows of " + name);
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
// complete, synced, and renamed over it. A crash before the rename leaves the uncompressed file, whose rows are
// all committed, so --resume only has this step to redo.
void compress_in_place(const std::string& path, int64_t chunk_rows) {
  ActivationFileSummary s;
  {
    h5::Handle file = open_for_read(path);
    s = summarize(file.get(), path);
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  SideFile side((dir / (fs::path(path).filename().string() + ".creating-" + std::to_string(::getpid()))).string());
  WriterLock side_lock = WriterLock::acquire(side.path(), path, O_CREAT | O_TRUNC);
  WriterOptions options;
  options.dtype = s.dtype;
  options.chunk_rows = chunk_rows;
  build_file(side.path(), path, s.info, s.hook_specs, s.labels, options, s.rows, RowStorage::Compressed);
  {
    h5::Handle src = open_for_read(path);
    h5::Handle fapl = latest_format_fapl(path);
    h5::Handle dst = h5::file_handle(
        check(H5Fopen(side.path().c_str(), H5F_ACC_RDWR, fapl.get()), path, "cannot open the compressed copy"));
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
    throw InputError(path + ": the number of rows must be known when the file is created (WriterOptions::rows)");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw InputError(path + " is a directory");
    if (!options.force && !options.force_any) throw InputError(path + " exists (use --force to overwrite)");
    // Checked now for a quick answer, and again just before the replacing rename.
    check_replaceable(path, options);
  }
  std::error_code ec;
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) throw InputError(path + ": directory " + dir.string() + " does not exist");
  const std::string side_prefix = fs::path(path).filename().string() + ".creating-";
  remove_stale_side_files(dir, side_prefix);

  // Built beside the target (same filesystem, so the rename is atomic), then placed. The side file is locked
  // from its first instant: the lock tells other runs it is not stale, and it becomes the writer lock of the
  // placed file (a rename keeps the inode), whose descriptor the writer writes through.
  SideFile side((dir / (side_prefix + std::to_string(::getpid()))).string());
  WriterLock lock = WriterLock::acquire(side.path(), path, O_CREAT | O_TRUNC);
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
  return std::make_unique<ActivationRowWriter>(path, std::move(lock), std::move(regions), labels, options.dtype,
                                               info.n_pos, 0, options);
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
                       " (the dataset or --max-rows changed)");
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
                                               summary.dtype, summary.info.n_pos, summary.committed_rows, options);
}

ActivationFileSummary read_activation_summary(const std::string& path) {
  h5::Call call;
  h5::Handle file = open_for_read(path);
  return summarize(file.get(), path);
}

namespace {

// Reads rows [first, first + n) of a row dataset into `out` (memory type `mem_type`), checking the range
// against /committed_rows. Returns the row shape.
std::vector<int64_t> read_committed_rows(hid_t file, const std::string& name, int64_t first, int64_t n,
                                         hid_t mem_type, size_t elem_bytes, std::vector<uint8_t>* out,
                                         const std::string& path) {
  const int64_t committed = read_scalar_int(file, "/committed_rows", path);
  if (first < 0 || n < 0 || first + n > committed)
    throw InputError(path + ": rows " + std::to_string(first) + ".." + std::to_string(first + n) + " of " +
                     name + " requested, " + std::to_string(committed) + " committed");
  h5::Handle ds = open_dataset(file, name, path);
  const std::vector<hsize_t> dims = dataset_dims(ds.get(), path, name);
  if (dims.empty() || static_cast<int64_t>(dims[0]) < first + n)
    throw FormatError(path, name + " is shorter than /committed_rows");
  std::vector<int64_t> row_shape(dims.begin() + 1, dims.end());
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = static_cast<hsize_t>(first);
  count[0] = static_cast<hsize_t>(n);
  out->resize(static_cast<size_t>(n * product(row_shape)) * elem_bytes);
  if (n == 0) return row_shape;
  h5::Handle fspace = h5::space_handle(check(H5Dget_space(ds.get()), path, "cannot read " + name));
  check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), path,
        "cannot select rows of " + name);
  h5::Handle mspace = h5::space_handle(check(
      H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), path, "cannot read " + name));
  h5::Handle type;
  if (mem_type < 0) {  // as stored
    type = h5::type_handle(check(H5Dget_type(ds.get()), path, "cannot read the type of " + name));
    mem_type = type.get();
  }
  check(H5Dread(ds.get(), mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, out->data()), path,
        "cannot read " + name);
  return row_shape;
}

// memcpy that accepts empty (null) buffers.
void copy_bytes(void* dst, const void* src, size_t n) {
  if (n > 0) std::memcpy(dst, src, n);
}

void check_member_name(const std::string& path, const std::string& what, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos)
    throw InputError(path + ": no " + what + " named '" + name + "'");
}

}  // namespace

std::vector<float> read_activation_rows(const std::string& path, const std::string& hook, int64_t first_row,
                                        int64_t n_rows, std::vector<int64_t>* row_shape) {
  h5::Call call;
  h5::Handle file = open_for_read(path);
  check_member_name(path, "hook", hook);
  const std::string name = "/acts/" + hook;
  if (H5Lexists(file.get(), "/acts", H5P_DEFAULT) <= 0 ||
      H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) <= 0)
    throw InputError(path + ": no activations of hook " + hook);
  StoreDType dtype;
  {
    h5::Handle ds = open_dataset(file.get(), name, path);
    dtype = stored_dtype(ds.get(), name, path);
  }
  std::vector<uint8_t> raw;
  const std::vector<int64_t> shape = read_committed_rows(file.get(), name, first_row, n_rows,
                                                         dtype == StoreDType::F32 ? H5T_NATIVE_FLOAT : -1,
                                                         dtype == StoreDType::F32 ? 4 : 2, &raw, path);
  if (row_shape) *row_shape = shape;
  std::vector<float> out(static_cast<size_t>(n_rows * product(shape)));
  if (dtype == StoreDType::F32) {
    copy_bytes(out.data(), raw.data(), out.size() * sizeof(float));
  } else {
    const auto* bits = reinterpret_cast<const uint16_t*>(raw.data());
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = dtype == StoreDType::F16 ? f16_to_f32(bits[i]) : bf16_to_f32(bits[i]);
  }
  return out;
}

std::vector<int32_t> read_activation_tokens(const std::string& path, int64_t first_row, int64_t n_rows,
                                            std::vector<int32_t>* lengths) {
  h5::Call call;
  h5::Handle file = open_for_read(path);
  std::vector<uint8_t> raw;
  read_committed_rows(file.get(), "/tokens", first_row, n_rows, H5T_NATIVE_INT32, 4, &raw, path);
  std::vector<int32_t> tokens(raw.size() / 4);
  copy_bytes(tokens.data(), raw.data(), raw.size());
  if (lengths) {
    read_committed_rows(file.get(), "/lengths", first_row, n_rows, H5T_NATIVE_INT32, 4, &raw, path);
    lengths->resize(raw.size() / 4);
    copy_bytes(lengths->data(), raw.data(), raw.size());
  }
  return tokens;
}

std::vector<double> read_activation_labels(const std::string& path, const std::string& name,
                                           int64_t first_row, int64_t n_rows) {
  h5::Call call;
  h5::Handle file = open_for_read(path);
  check_member_name(path, "label column", name);
  const std::string ds_name = "/labels/" + name;
  if (H5Lexists(file.get(), "/labels", H5P_DEFAULT) <= 0 ||
      H5Lexists(file.get(), ds_name.c_str(), H5P_DEFAULT) <= 0)
    throw InputError(path + ": no label column " + name);
  std::vector<uint8_t> raw;
  read_committed_rows(file.get(), ds_name, first_row, n_rows, H5T_NATIVE_DOUBLE, 8, &raw, path);
  std::vector<double> out(raw.size() / 8);
  copy_bytes(out.data(), raw.data(), raw.size());
  return out;
}

std::vector<std::string> list_stored_datasets(const std::string& path) {
  h5::Call call;
  h5::Handle file = open_for_read(path);
  std::vector<std::string> out;
  std::vector<std::string> groups{"/"};
  while (!groups.empty()) {
    const std::string group = groups.back();
    groups.pop_back();
    for (const std::string& name : group_members(file.get(), group, path)) {
      const std::string full = (group == "/" ? "/" : group + "/") + name;
      h5::Handle obj(check(H5Oopen(file.get(), full.c_str(), H5P_DEFAULT), path, "cannot open " + full),
                     H5Oclose);
      const H5I_type_t kind = H5Iget_type(obj.get());
      if (kind == H5I_GROUP) groups.push_back(full);
      if (kind == H5I_DATASET) out.push_back(full);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> read_stored_dataset(const std::string& path, const std::string& dataset,
                                         std::vector<int64_t>* shape, std::string* type) {
  h5::Call call;
  h5::Handle file = open_for_read(path);
  if (H5Lexists(file.get(), dataset.c_str(), H5P_DEFAULT) <= 0)
    throw InputError(path + ": no dataset " + dataset);
  h5::Handle ds = open_dataset(file.get(), dataset, path);
  h5::Handle ftype =
      h5::type_handle(check(H5Dget_type(ds.get()), path, "cannot read the type of " + dataset));
  const std::vector<hsize_t> dims = dataset_dims(ds.get(), path, dataset);
  int64_t count = 1;
  for (hsize_t d : dims) count *= static_cast<int64_t>(d);
  std::vector<uint8_t> bytes(static_cast<size_t>(count) * H5Tget_size(ftype.get()));
  if (count > 0)
    check(H5Dread(ds.get(), ftype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), path,
          "cannot read " + dataset);
  if (shape) shape->assign(dims.begin(), dims.end());
  if (type) *type = type_name(ftype.get());
  return bytes;
}

}  // namespace resid
