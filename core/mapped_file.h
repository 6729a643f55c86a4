// A read-only memory map of a whole file, so F32 weights are used in place and never copied.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace resid {

class MappedFile {
 public:
  // Throws FormatError naming the path if it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Bounds-checked pointer to [offset, offset+length): throws FormatError ("<what> at offset X + Y bytes
  // runs past the end of the file (Z bytes)") instead of letting a bad header read outside the map.
  const uint8_t* at(uint64_t offset, uint64_t length, const std::string& what) const;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// A cursor for parsing little-endian headers out of a mapped file with bounds checks.
class ByteReader {
 public:
  ByteReader(const MappedFile& file, uint64_t offset = 0) : file_(file), pos_(offset) {}
  template <typename T>
  T read(const char* what) {
    T v;
    const uint8_t* p = file_.at(pos_, sizeof(T), what);
    __builtin_memcpy(&v, p, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(uint64_t length, const char* what);
  const uint8_t* take(uint64_t length, const char* what) {
    const uint8_t* p = file_.at(pos_, length, what);
    pos_ += length;
    return p;
  }
  uint64_t pos() const { return pos_; }
  void seek(uint64_t pos) { pos_ = pos; }
  const MappedFile& file() const { return file_; }

 private:
  const MappedFile& file_;
  uint64_t pos_;
};

}  // namespace resid
