// capture/detail/child_check.h: fork, a pipe for the child's verdict, poll with a deadline, SIGKILL on
// expiry.
#include "capture/detail/child_check.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>

#include "core/error.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RESID_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RESID_SANITIZER_ALLOCATOR 1
#endif
#endif

// Present only in sanitizer builds (weak: null otherwise).
extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

namespace resid::detail {
namespace {

std::atomic<int64_t> g_limit_ms{-1};
std::atomic<bool> g_allow_with_threads{false};

int64_t default_limit_ms() {
  if (const char* env = std::getenv("RESID_METADATA_TIME_LIMIT_MS")) {
    char* end = nullptr;
    const long long v = std::strtoll(env, &end, 10);
    if (end != env && *end == '\0' && v > 0) return v;
  }
  return 5000;
}

void write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t k = ::write(fd, data, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return;
    data += k;
    n -= static_cast<size_t>(k);
  }
}

// The child: never returns. Its verdict is one byte ('O' finished, 'E' threw) and the message.
[[noreturn]] void run_child(int fd, const std::function<void()>& read) {
  // Dies with the caller (a SIGTERM or SIGKILL of the caller must not leave a spinning child behind).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // A crash here is an expected outcome on a damaged file: no core file, no report. In sanitizer and fuzzer
  // builds that means plain signal deaths and no death callback (libFuzzer's would save the input as a
  // finding), and the child's stderr goes nowhere (a sanitizer's report of HDF5's own fault). Bugs in resid's
  // reading code still show: the caller repeats every read that finished here.
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE}) ::signal(sig, SIG_DFL);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(nullptr);
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd >= 0) ::dup2(null_fd, STDERR_FILENO);
  std::string verdict = "O";
  try {
    read();
  } catch (const std::exception& e) {
    verdict = std::string("E") + e.what();
  } catch (...) {
    verdict = "Eunknown error";
  }
  write_all(fd, verdict.data(), verdict.size());
  ::_exit(0);  // no atexit handlers, no stdio flush: the caller's buffers are not the child's to write
}

#ifdef RESID_SANITIZER_ALLOCATOR
// Threads of this process, from /proc/self/status (0 when unknown). Only sanitizer builds ask (below).
int thread_count() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  return 0;
}
#endif

// Whether a forked child can allocate. glibc's fork takes malloc's locks, so with glibc a child of a process
// with busy threads is fine; a sanitizer's allocator (GCC 12's libasan) does not, so a child forked while
// another thread held its lock would wait forever (seen: parallel probe sweeps under ASan reported sound
// files as damaged). Sanitizer builds therefore check in a child only while the process has one thread (the
// fuzzers and the capture tests do); otherwise they read unchecked, as when fork fails.
bool fork_is_safe() {
#ifdef RESID_SANITIZER_ALLOCATOR
  return g_allow_with_threads.load() || thread_count() == 1;
#else
  return true;
#endif
}

}  // namespace

std::chrono::milliseconds metadata_time_limit() {
  int64_t ms = g_limit_ms.load();
  if (ms < 0) {
    ms = default_limit_ms();
    g_limit_ms.store(ms);
  }
  return std::chrono::milliseconds(ms);
}

void allow_child_check_with_threads(bool allow) {
  g_allow_with_threads.store(allow);
}

void set_metadata_time_limit(std::chrono::milliseconds limit) {
  g_limit_ms.store(limit.count());
}

ChildCheckResult check_in_child(const std::string& path, const std::function<void()>& read,
                                std::chrono::milliseconds limit) {
  if (!fork_is_safe()) return {};
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {};
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(fds[1], read);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string verdict;
  bool eof = false;
  while (!eof) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[4096];
    const ssize_t k = ::read(fds[0], buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0)
      eof = true;
    else
      verdict.append(buf, static_cast<size_t>(k));
  }
  ::close(fds[0]);
  if (!eof) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const double seconds = static_cast<double>(limit.count()) / 1000.0;
  char limit_text[32];
  std::snprintf(limit_text, sizeof limit_text, "%g", seconds);
  if (!eof)
    throw FormatError(path, std::string("damaged: reading its metadata did not finish within ") + limit_text +
                                " s (HDF5 loops on this file)");
  if (WIFSIGNALED(status))
    throw FormatError(path, std::string("damaged: reading its metadata crashed HDF5 (") +
                                strsignal(WTERMSIG(status)) + ")");
  if (verdict.empty() || (verdict[0] != 'O' && verdict[0] != 'E'))  // a sanitizer's exit, or a stray _exit
    throw FormatError(path, "damaged: reading its metadata crashed HDF5 (exit status " +
                                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  ChildCheckResult result;
  result.threw = verdict[0] == 'E';
  result.message = verdict.substr(1);
  return result;
}

}  // namespace resid::detail
