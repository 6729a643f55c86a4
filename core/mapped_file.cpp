#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/input_file.h"

namespace resid {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; regular files ignore
  // it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw FormatError(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    require_regular_file(path, "the file");  // names the kind: a FIFO, a device, a directory
    throw FormatError(path, "not a regular file");
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw FormatError(path, std::string("cannot mmap: ") + std::strerror(err));
    }
    file->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

const uint8_t* MappedFile::at(uint64_t offset, uint64_t length, const std::string& what) const {
  if (offset > size_ || length > size_ - offset) {
    throw FormatError(path_, what + " at offset " + std::to_string(offset) + " + " + std::to_string(length) +
                                 " bytes runs past the end of the file (" + std::to_string(size_) +
                                 " bytes; truncated?)");
  }
  return data_ + offset;
}

std::string ByteReader::read_string(uint64_t length, const char* what) {
  const uint8_t* p = take(length, what);
  return std::string(reinterpret_cast<const char*>(p), length);
}

}  // namespace resid
