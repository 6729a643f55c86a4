// Where a new activation file goes and who may write it: the writer lock (an open-file-description lock whose
// descriptor the writer writes through), side files built beside the target, and what force may replace.
// Internal to resid::capture.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "capture/activation_file.h"
#include "core/error.h"

namespace resid::detail {

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
  // A read lock on an existing file: held while force replaces it, so no writer can start on it meanwhile.
  // Empty (not valid()) when another process holds the writer lock.
  static WriterLock read_lock(const std::string& file, const std::string& shown) {
    WriterLock lock;
    lock.fd_ = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (lock.fd_ < 0) throw InputError(shown + ": cannot open (" + std::strerror(errno) + ")");
    if (!lock.try_lock(F_RDLCK)) {
      const int err = errno;
      lock.release();
      if (err != EAGAIN && err != EACCES)
        throw InputError(shown + ": cannot lock (" + std::strerror(err) + ")");
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
    struct stat a {
    }, b{};
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

std::string file_kind(mode_t mode);

// What WriterOptions::force may replace (InputError otherwise): a regular file, not one of the run's inputs,
// holding a resid activation file unless force_any.
void check_replaceable(const std::string& path, const WriterOptions& options);

// Moves the built side file to `path`: never over an existing file unless options allow it and
// check_replaceable agrees, and never over a file another process is writing. Of two runs placing the same
// path at once, exactly one succeeds.
void place_file(const std::string& side, const std::string& path, const std::filesystem::path& dir,
                const WriterOptions& options);

// The directory `path` lives in ("." for a bare name), and the prefix of its side files, `<name>.creating-`
// (this process's side file appends its pid).
std::filesystem::path directory_of(const std::string& path);
std::string side_file_prefix(const std::string& path);

// Creates (or truncates) the side file `side` and takes its writer lock; InputError naming `shown` if another
// run removed the file in the moment before the lock was taken (the rows would go to a deleted file).
WriterLock lock_side_file(const std::string& side, const std::string& shown);

// Removes side files of earlier runs that were killed while building (`<name>.creating-<pid>`): a side file
// whose process is gone and whose lock nobody holds is stale.
void remove_stale_side_files(const std::filesystem::path& dir, const std::string& prefix);

}  // namespace resid::detail
