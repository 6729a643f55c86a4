#include "datasets/idx_file.h"

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <memory>

#include "core/atomic_file.h"
#include "core/error.h"

namespace resid {

namespace {

constexpr int kMaxDims = 8;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

// Reads up to n bytes; fewer only at the end of the data. Throws on corrupt gzip.
size_t read_some(gzFile f, const std::string& path, void* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
    const int got = gzread(f, static_cast<char*>(out) + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      throw FormatError(path, std::string("corrupt gzip data (") + (msg ? msg : "zlib error") + ")");
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

bool known_type(uint8_t code) {
  for (IdxType t : {IdxType::U8, IdxType::I8, IdxType::I16, IdxType::I32, IdxType::F32, IdxType::F64})
    if (code == static_cast<uint8_t>(t)) return true;
  return false;
}

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

}  // namespace

std::string idx_type_name(IdxType t) {
  switch (t) {
    case IdxType::U8: return "unsigned byte";
    case IdxType::I8: return "signed byte";
    case IdxType::I16: return "int16";
    case IdxType::I32: return "int32";
    case IdxType::F32: return "float32";
    case IdxType::F64: return "float64";
  }
  return "?";
}

int idx_type_size(IdxType t) {
  switch (t) {
    case IdxType::U8:
    case IdxType::I8: return 1;
    case IdxType::I16: return 2;
    case IdxType::I32:
    case IdxType::F32: return 4;
    case IdxType::F64: return 8;
  }
  return 1;
}

int64_t IdxArray::count() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

double IdxArray::at(int64_t i) const {
  const uint8_t* p = bytes.data() + i * idx_type_size(type);
  switch (type) {
    case IdxType::U8: return p[0];
    case IdxType::I8: return static_cast<int8_t>(p[0]);
    case IdxType::I16: return static_cast<int16_t>(uint16_t(p[0]) << 8 | p[1]);
    case IdxType::I32: return static_cast<int32_t>(be32(p));
    case IdxType::F32: {
      const uint32_t u = be32(p);
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    }
    case IdxType::F64: {
      const uint64_t u = uint64_t(be32(p)) << 32 | be32(p + 4);
      double d;
      std::memcpy(&d, &u, 8);
      return d;
    }
  }
  return 0;
}

IdxArray read_idx(const std::string& path) {
  // zlib opens a directory and then fails on the first read with a misleading "corrupt gzip" message.
  if (std::filesystem::is_directory(path)) throw FormatError(path, "is a directory, not an IDX file");
  GzHandle f(gzopen(path.c_str(), "rb"));
  if (!f) throw FormatError(path, std::string("cannot open (") + std::strerror(errno) + ")");
  uint8_t magic[4];
  const size_t got = read_some(f.get(), path, magic, 4);
  if (got < 4)
    throw FormatError(path, "truncated: " + std::to_string(got) + " bytes, too short for an IDX header");
  if (magic[0] != 0 || magic[1] != 0 || !known_type(magic[2]) || magic[3] == 0 || magic[3] > kMaxDims) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%02X%02X%02X%02X", magic[0], magic[1], magic[2], magic[3]);
    throw FormatError(path, std::string("not an IDX file: magic ") + hex +
                                " (expected 0x0000TTNN: type 08/09/0B/0C/0D/0E, 1 to 8 dimensions)");
  }
  IdxArray a;
  a.type = static_cast<IdxType>(magic[2]);
  std::vector<uint8_t> header(4 * size_t(magic[3]));
  if (read_some(f.get(), path, header.data(), header.size()) < header.size())
    throw FormatError(path, "truncated: the header declares " + std::to_string(magic[3]) +
                                " dimensions but the file ends inside them");
  int64_t bytes = idx_type_size(a.type);
  for (int d = 0; d < magic[3]; ++d) {
    a.dims.push_back(be32(header.data() + 4 * d));
    bytes *= a.dims.back();
    // Checked per dimension so the product cannot overflow.
    if (bytes > kIdxMaxBytes)
      throw FormatError(path, "IDX header declares " + dims_string(a.dims) +
                                  (d + 1 < magic[3] ? " x ..." : "") + " elements, more than the " +
                                  std::to_string(kIdxMaxBytes) + "-byte limit");
  }
  // Grow with what is actually there: a truncated file with a huge header never allocates the declared size.
  constexpr size_t kChunk = size_t(1) << 22;
  size_t have = 0;
  while (have < static_cast<size_t>(bytes)) {
    const size_t want = std::min(kChunk, static_cast<size_t>(bytes) - have);
    a.bytes.resize(have + want);
    const size_t n = read_some(f.get(), path, a.bytes.data() + have, want);
    have += n;
    if (n < want) {
      throw FormatError(path, "truncated: the header declares " + dims_string(a.dims) + " " +
                                  idx_type_name(a.type) + " elements (" + std::to_string(bytes) +
                                  " bytes) but the file holds only " + std::to_string(have));
    }
  }
  uint8_t extra;
  if (read_some(f.get(), path, &extra, 1) != 0)
    throw FormatError(path, "has bytes after the " + dims_string(a.dims) + " elements its header declares");
  return a;
}

void write_idx(const std::string& path, const IdxArray& a, bool gzip) {
  if (a.dims.empty() || a.dims.size() > kMaxDims) throw InputError(path + ": IDX needs 1 to 8 dimensions");
  if (static_cast<int64_t>(a.bytes.size()) != a.count() * idx_type_size(a.type))
    throw InputError(path + ": IDX element bytes do not match the dimensions");
  std::vector<uint8_t> out = {0, 0, static_cast<uint8_t>(a.type), static_cast<uint8_t>(a.dims.size())};
  for (int64_t d : a.dims)
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(uint32_t(d) >> s));
  out.insert(out.end(), a.bytes.begin(), a.bytes.end());
  if (!gzip) {
    AtomicFile file(path);
    file.write(out.data(), out.size());
    file.commit();
    return;
  }
  GzHandle f(gzopen(path.c_str(), "wb"));
  if (!f) throw FormatError(path, std::string("cannot create (") + std::strerror(errno) + ")");
  if (gzwrite(f.get(), out.data(), static_cast<unsigned>(out.size())) != static_cast<int>(out.size()))
    throw FormatError(path, "gzip write failed");
  if (gzclose(f.release()) != Z_OK) throw FormatError(path, "gzip write failed");
}

}  // namespace resid
