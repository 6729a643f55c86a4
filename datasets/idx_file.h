// The IDX format of MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian magic 0x0000TTNN (TT the element
// type, NN the number of dimensions), NN big-endian uint32 dimensions, then the elements, big-endian,
// row-major. Read through zlib, so gzip-compressed and plain files are both accepted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace resid {

enum class IdxType : uint8_t { U8 = 0x08, I8 = 0x09, I16 = 0x0B, I32 = 0x0C, F32 = 0x0D, F64 = 0x0E };
std::string idx_type_name(IdxType t);  // "unsigned byte", "int32", ...
int idx_type_size(IdxType t);

struct IdxArray {
  IdxType type = IdxType::U8;
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;  // the elements exactly as stored (big-endian)

  int64_t count() const;       // product of dims
  double at(int64_t i) const;  // element i converted to double
};

// Refuses files whose header declares more than this many bytes of elements (a corrupt header must not
// allocate gigabytes).
constexpr int64_t kIdxMaxBytes = int64_t(1) << 32;

// Throws FormatError naming `path`: wrong magic, an unknown type code, 0 or more than 8 dimensions, a size
// past kIdxMaxBytes, fewer bytes than the header declares ("truncated"), bytes after the elements, corrupt
// gzip. Memory grows with the bytes actually read, never with the declared size alone.
IdxArray read_idx(const std::string& path);

// Writes `a` (gzip-compressed when `gzip`), for tests and tools.
void write_idx(const std::string& path, const IdxArray& a, bool gzip);

}  // namespace resid
