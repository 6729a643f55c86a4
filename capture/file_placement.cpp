// Placing new activation files (capture/detail/file_placement.h).
#include "capture/detail/file_placement.h"

#include <signal.h>
#include <sys/file.h>

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "capture/detail/activation_schema.h"

namespace resid::detail {

namespace fs = std::filesystem;

std::string file_kind(mode_t mode) {
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISLNK(mode)) return "symbolic link";
  return "special file";
}

void check_replaceable(const std::string& path, const WriterOptions& options) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;  // gone meanwhile: nothing to replace
  if (S_ISLNK(st.st_mode))
    throw InputError(path +
                     " is a symbolic link; force replaces only regular files (remove the link, or "
                     "give the file it points to)");
  if (!S_ISREG(st.st_mode))
    throw InputError(path + " is a " + file_kind(st.st_mode) + "; force replaces only regular files");
  for (const std::string& input : options.inputs) {
    struct stat in {};
    if (::stat(input.c_str(), &in) == 0 && in.st_dev == st.st_dev && in.st_ino == st.st_ino)
      throw InputError(path + " is " + (input == path ? "an input" : "the same file as the input " + input) +
                       " of this run; force never replaces an input");
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
    throw InputError(path +
                     " is not a resid activation file; force replaces only those (force_any replaces "
                     "any regular file)");
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
      if (!options.force && !options.force_any) throw InputError(path + " exists (set force to replace it)");
    } else if (::rename(side.c_str(), path.c_str()) == 0) {
      return;
    } else {
      throw InputError(path + ": cannot move into place (" + std::strerror(errno) + ")");
    }
  }
  if (!options.force && !options.force_any) throw InputError(path + " exists (set force to replace it)");
  check_replaceable(path, options);
  // Held across the rename: a writer cannot start on the file being replaced, and one already writing it
  // makes this run fail instead of both "succeeding".
  WriterLock old = WriterLock::read_lock(path, path);
  if (!old.valid() || !old.names(path)) throw InputError(path + " is being written by another process");
  if (::rename(side.c_str(), path.c_str()) != 0)
    throw InputError(path + ": cannot move into place (" + std::strerror(errno) + ")");
}

void remove_stale_side_files(const fs::path& dir, const std::string& prefix) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) continue;
    if (name.find_first_not_of("0123456789", prefix.size()) != std::string::npos) continue;
    // A side file is created a moment before its lock is taken; in that moment its lock is free although its
    // writer is alive, and taking the lock and unlinking the file then sent that run's rows to a deleted
    // file while both runs reported success. So the file of a live process is never stale (a reused pid only
    // leaves a stale file behind until that process ends). A writer in another pid namespace looks dead
    // here; lock_side_file() makes that writer fail instead of writing to a deleted file.
    errno = 0;
    const long long pid = std::strtoll(name.c_str() + prefix.size(), nullptr, 10);
    const bool valid_pid = errno == 0 && pid > 0 && pid <= std::numeric_limits<pid_t>::max();
    if (valid_pid && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) continue;
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

WriterLock lock_side_file(const std::string& side, const std::string& shown) {
  WriterLock lock = WriterLock::acquire(side, shown, O_CREAT | O_TRUNC);
  if (!lock.names(side))
    throw InputError(shown + ": its side file " + side +
                     " was removed while being created (another run cleaning up); run again");
  return lock;
}

fs::path directory_of(const std::string& path) {
  const fs::path dir = fs::path(path).parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

std::string side_file_prefix(const std::string& path) {
  return fs::path(path).filename().string() + ".creating-";
}

}  // namespace resid::detail
