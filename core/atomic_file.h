// A file that appears at its destination whole or not at all: bytes go to "<path>.tmp.<pid>.<n>" in the same
// directory, which is synced and renamed over `path` on commit(); if anything fails first (or the object is
// destroyed without commit) the temporary is removed and the destination is untouched. Every checkpoint
// writer uses it.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>

namespace resid {

class AtomicFile {
 public:
  // Throws FormatError naming `path` if the temporary cannot be created.
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void commit();
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

}  // namespace resid
