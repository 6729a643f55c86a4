// RAII for HDF5 identifiers, and turning HDF5's error stack into resid exceptions. Private to capture/: the
// public headers never mention hid_t, so users of resid::capture do not need the HDF5 include path.
#pragma once
#include <hdf5.h>

#include <mutex>
#include <string>
#include <utility>

namespace resid::h5 {

// Owns one hid_t and closes it with the matching H5?close when it goes out of scope.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), close_(other.close_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      close_ = other.close_;
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now; returns false when HDF5 reported an error (a failed final flush on close, for example).
  bool reset() {
    bool ok = true;
    if (id_ >= 0 && close_ != nullptr) ok = close_(id_) >= 0;
    id_ = H5I_INVALID_HID;
    return ok;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

inline Handle file_handle(hid_t id) {
  return Handle(id, H5Fclose);
}
inline Handle dataset_handle(hid_t id) {
  return Handle(id, H5Dclose);
}
inline Handle group_handle(hid_t id) {
  return Handle(id, H5Gclose);
}
inline Handle space_handle(hid_t id) {
  return Handle(id, H5Sclose);
}
inline Handle type_handle(hid_t id) {
  return Handle(id, H5Tclose);
}
inline Handle attr_handle(hid_t id) {
  return Handle(id, H5Aclose);
}
inline Handle plist_handle(hid_t id) {
  return Handle(id, H5Pclose);
}

// While alive, HDF5 does not print its error stack to stderr (library code never prints); the stack is still
// recorded, so last_error() can put its most specific line into our exception message.
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// Held by every public entry point of resid::capture that touches HDF5: Debian's serial HDF5 is not
// thread-safe, and a capture appends from a writer thread while other code may read files. Recursive, because
// a writer being destroyed inside create()/resume() (an error path) closes its handles under the caller's
// lock.
std::recursive_mutex& library_mutex();

// HDF5 registers its own shutdown (H5close) with atexit. After a close that failed (a write error such as a
// full disk) that shutdown crashes inside HDF5 1.10 (H5F__close_cb on the half-closed file). Every file resid
// opens is closed by its Handle, and a writer's file is crash-safe anyway, so the shutdown is skipped. Must
// run before HDF5 initializes, i.e. before the first HDF5 call, which is always made under a Call.
struct NoExitCleanup {
  NoExitCleanup() {
    static const bool once = (H5dont_atexit(), true);
    (void)once;
  }
};

// One public call into HDF5: serialized, and silent (errors become exceptions, never prints).
class Call {
 public:
  Call() : lock_(library_mutex()) {}

 private:
  NoExitCleanup no_exit_cleanup_;
  std::lock_guard<std::recursive_mutex> lock_;
  QuietErrors quiet_;
};

// The innermost (most specific) description on HDF5's current error stack, e.g. "unable to open file: name =
// 'x.h5', errno = 13, error message = 'Permission denied'". Empty when the stack is empty.
std::string last_error();

}  // namespace resid::h5
