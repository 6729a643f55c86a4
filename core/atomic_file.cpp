#include "core/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace resid {

namespace {
std::atomic<unsigned> g_counter{0};  // distinct temporaries for concurrent writers in one process
}

AtomicFile::AtomicFile(const std::string& path)
    : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(g_counter++)) {
  file_ = std::fopen(tmp_.c_str(), "wbx");  // x: never follow or reuse an existing file
  if (!file_) fail("cannot create temporary file " + tmp_);
  std::setvbuf(file_, nullptr, _IOFBF, size_t{1} << 20);
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what) const {
  throw FormatError(path_, what + ": " + std::strerror(errno));
}

void AtomicFile::write(const void* data, size_t n) {
  if (n && std::fwrite(data, 1, n, file_) != n) fail("cannot write");
}

void AtomicFile::commit() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) fail("cannot write");
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fclose(f) != 0) fail("cannot close " + tmp_);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot rename " + tmp_ + " into place");
  committed_ = true;
}

}  // namespace resid
