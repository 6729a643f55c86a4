// Running the built `resid` binary from capture tests: a subprocess with a time limit (a hang is a failure,
// not a stuck suite), its stderr captured, optionally killed at a chosen moment or with a file-size limit.
#pragma once
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace resid::testing {

constexpr int kTimedOut = -1000;  // run()'s status when the time limit killed the process

struct RunOptions {
  double timeout_s = 120;
  int kill_after_us = -1;           // SIGKILL after this long (-1: never)
  long file_size_limit = -1;        // RLIMIT_FSIZE in bytes (-1: none); writes past it fail with EFBIG
  std::function<bool()> kill_when;  // polled every millisecond; SIGKILL once it returns true
};

// Runs argv; returns the exit status, -signal when killed by a signal, or kTimedOut. stderr goes to `err`.
inline int run(std::vector<std::string> argv, std::string* err = nullptr, const RunOptions& options = {}) {
  TempDir holder;
  const std::string log = holder.file("stderr.txt");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(log.c_str(), "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(126);
    if (options.file_size_limit >= 0) {
      signal(SIGXFSZ, SIG_IGN);  // kept across exec: the write fails with EFBIG instead of killing
      struct rlimit rl {};
      rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(options.file_size_limit);
      setrlimit(RLIMIT_FSIZE, &rl);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  bool timed_out = false;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool kill_now = (options.kill_after_us >= 0 && elapsed * 1e6 >= options.kill_after_us) ||
                          (options.kill_when && options.kill_when());
    if (kill_now || elapsed > options.timeout_s) {
      timed_out = !kill_now;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(options.kill_after_us >= 0 ? 200 : 1000));
  }
  if (err) {
    std::ifstream in(log);
    err->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (timed_out) return kTimedOut;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

inline int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace resid::testing
