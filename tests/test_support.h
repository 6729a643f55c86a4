// Helpers shared by the tests: where ../shared is, temporary directories, small seeded models.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/mlp.h"

namespace resid::testing {

// Path inside ../shared, or "" when ../shared is absent.
std::string shared_path(const std::string& relative);

// Skips the current test (GTEST_SKIP) when the file is missing; use at the top of a test.
#define RESID_REQUIRE_SHARED(var, relative)                        \
  const std::string var = ::resid::testing::shared_path(relative); \
  if (var.empty()) GTEST_SKIP() << "../shared/" << (relative) << " not present";

// A fresh empty directory under the build tree, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A small Llama config with grouped KV heads, valid for every format (d_model 64, 2 layers, 4 heads, 2 KV
// heads, d_mlp 96, vocab 128, n_ctx 64).
Config tiny_config();

// A seeded Llama model written as GGUF, for CLI tests that need a real file with a tokenizer and no
// ../shared: d_model 64, 4 layers, 4 heads (2 KV heads), d_mlp 172, n_ctx 128, random_weights(seed), and a
// byte-level SentencePiece vocabulary of 370 pieces (<unk> <s> </s>, 256 byte pieces, "▁", printable ASCII,
// 16 merges such as "▁Once" and "▁upon"). Returns `path`.
std::string write_seeded_llama_gguf(const std::string& path, uint64_t seed);

// A plain ReLU MLP of these widths: He-normal weights and biases uniform in [-0.5, 0.5), from `seed`.
Mlp seeded_mlp(const std::vector<int>& widths, uint64_t seed);

// The message of the E that f() throws; a test failure (and "") when it throws nothing.
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception of the given type";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

// A file's bytes ("" when it cannot be read).
std::string slurp(const std::string& path);

// Path of the built `resid` binary.
std::string resid_binary();

// How much slower the code under test runs in CI's sanitizer build (AddressSanitizer at -O1) than in a
// release build. Time limits that exist to catch a hang are multiplied by it, so a slow run that finishes is
// not a "hang".
#if defined(__SANITIZE_ADDRESS__)
inline constexpr double kSanitizerSlowdown = 6;
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr double kSanitizerSlowdown = 1;
inline constexpr bool kUnderAddressSanitizer = false;
#endif

// How a child process is run: stdin from /dev/null, stdout and stderr captured.
struct RunOptions {
  std::vector<std::string> env;  // "NAME=value" entries overriding the inherited environment
  // > 0: SIGKILL after this long (times kSanitizerSlowdown) and report timed_out (a hang fails, not stalls).
  double timeout_s = 0;
  int kill_after_us = -1;           // SIGKILL after this long (-1: never)
  std::function<bool()> kill_when;  // polled about every millisecond; SIGKILL once it returns true
  long file_size_limit = -1;        // RLIMIT_FSIZE in bytes (-1: none); writes past it fail with EFBIG
};

struct CliRun {
  int status = -1;  // exit code, or -signal
  bool timed_out = false;
  std::string out, err;
};

// Runs argv (argv[0] a path) to completion or until `options` kills it.
CliRun run_process(const std::vector<std::string>& argv, const RunOptions& options = {});
// `resid args...`.
CliRun run_resid(const std::vector<std::string>& args, const RunOptions& options = {});

// The CLI's contract for bad input: `resid ARGS` exits 2 with nothing on stdout and exactly one
// newline-terminated line on stderr containing every needle (killed after 300 s: a hang fails instead of
// stalling the suite).
void expect_one_line_error(const std::vector<std::string>& args, const std::vector<std::string>& needles);

}  // namespace resid::testing
