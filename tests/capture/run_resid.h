// Running the built `resid` binary from capture tests through test_support's run_process, with a time limit
// by default (a hang is a failure, not a stuck suite) and the status as one int.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "test_support.h"

namespace resid::testing {

constexpr int kTimedOut = -1000;  // run()'s status when the time limit killed the process

// Runs argv; returns the exit status, -signal when killed by a signal, or kTimedOut. stderr goes to `err`.
inline int run(const std::vector<std::string>& argv, std::string* err = nullptr, RunOptions options = {}) {
  if (options.timeout_s <= 0) options.timeout_s = 120;
  const CliRun r = run_process(argv, options);
  if (err) *err = r.err;
  return r.timed_out ? kTimedOut : r.status;
}

inline int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace resid::testing
