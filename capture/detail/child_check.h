// Runs a read of a possibly damaged file in a child process first, bounded in time. HDF5 1.10 can spin
// forever on some damaged metadata (a variable-length string whose global heap is corrupt loops in
// H5C_protect) and ignores signals while it does; no HDF5 property bounds that. The child takes the risk: if
// it hangs it is killed after a time limit, if it crashes the crash is reported, and only a read that
// finished in the child is repeated in the caller, which then reads the same bytes in the same order.
#pragma once
#include <chrono>
#include <functional>
#include <string>

namespace resid::detail {

// What a finished child found: nothing, or the one-line error it threw (its message, as what() gave it).
struct ChildCheckResult {
  bool threw = false;
  std::string message;
};

// Runs `read` in a forked child with `limit` to finish. Throws FormatError naming `path` if the child did not
// finish in time (it is killed) or died of a signal. When fork is impossible (no memory for the child's page
// tables), returns an empty result and the caller reads unchecked: a hang is then possible, a wrong row is
// not. Call it with HDF5's library mutex held (h5::Call), so no other thread of this process is inside HDF5
// when the child is forked.
ChildCheckResult check_in_child(const std::string& path, const std::function<void()>& read,
                                std::chrono::milliseconds limit);

// The limit every activation-file open uses: 5 s by default (metadata of a sound file reads in milliseconds,
// even under sanitizers); RESID_METADATA_TIME_LIMIT_MS overrides it, tests and fuzzers lower it.
std::chrono::milliseconds metadata_time_limit();

// Sanitizer builds check in a child only while the process has one thread (see check_in_child). A process
// whose other threads never allocate (libFuzzer's RSS watcher thread) may say so, and keeps the check.
void allow_child_check_with_threads(bool allow);
void set_metadata_time_limit(std::chrono::milliseconds limit);

}  // namespace resid::detail
