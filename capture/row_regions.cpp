// Row regions of an activation file (capture/detail/row_regions.h).
#include "capture/detail/row_regions.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "capture/detail/h5_util.h"
#include "capture/xxh64.h"

namespace resid::detail {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "rows are written as they are in memory into little-endian HDF5 datasets");

void pwrite_all(int fd, const void* data, int64_t bytes, int64_t offset, const std::string& path,
                const std::string& what) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (bytes > 0) {
    const ssize_t n =
        ::pwrite(fd, p, static_cast<size_t>(std::min<int64_t>(bytes, int64_t{1} << 30)), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw InputError(path + ": cannot write " + what + " (" + std::strerror(n < 0 ? errno : EIO) + ")");
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

int64_t contiguous_offset(hid_t ds, const std::string& name, int64_t bytes, const std::string& path) {
  h5::Handle dcpl = h5::plist_handle(check(H5Dget_create_plist(ds), path, "cannot read " + name));
  if (H5Pget_layout(dcpl.get()) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl.get()) != 0)
    throw FormatError(path, name +
                                " is not stored contiguously (a finished, compressed or older file cannot be "
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

FileRegions file_regions(hid_t file, int64_t rows, const std::vector<HookDatasetSpec>& hooks,
                         const std::vector<LabelColumn>& labels, const std::string& path) {
  FileRegions f;
  f.rows = rows;
  f.tokens = row_region(file, "/tokens", rows, path);
  f.lengths = row_region(file, "/lengths", rows, path);
  f.checksums = row_region(file, "/row_checksums", rows, path);
  for (const auto& l : labels) f.labels.push_back(row_region(file, "/labels/" + l.name, rows, path));
  for (const auto& h : hooks) f.acts.push_back(row_region(file, "/acts/" + h.hook, rows, path));
  for (auto [name, offset, bytes] :
       {std::tuple<const char*, int64_t*, int64_t>{"/committed_rows", &f.committed_offset, 8},
        {"/complete", &f.complete_offset, 1}}) {
    h5::Handle ds = open_dataset(file, name, path);
    *offset = contiguous_offset(ds.get(), name, bytes, path);
  }
  std::vector<RowRegion*> hashed = f.all();
  hashed.pop_back();  // the checksums themselves
  std::sort(hashed.begin(), hashed.end(),
            [](const RowRegion* a, const RowRegion* b) { return a->name < b->name; });
  for (size_t i = 0; i < hashed.size(); ++i) hashed[i]->hash_index = static_cast<int>(i);
  return f;
}

uint64_t combine_row_hashes(const uint64_t* parts, size_t count) {
  std::vector<uint8_t> bytes(count * 8);
  for (size_t i = 0; i < count; ++i)
    for (int b = 0; b < 8; ++b) bytes[i * 8 + b] = static_cast<uint8_t>(parts[i] >> (8 * b));
  return xxh64(bytes.data(), bytes.size());
}

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
                                    "(start again with force)");
  }
}

}  // namespace resid::detail
