// Helpers shared by the tests: where ../shared is, temporary directories, small seeded models.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"

namespace resid::testing {

// Path inside ../shared, or "" when ../shared is absent.
std::string shared_path(const std::string& relative);

// Skips the current test (GTEST_SKIP) when the file is missing; use at the top of a test.
#define RESID_REQUIRE_SHARED(var, relative)                                             \
  const std::string var = ::resid::testing::shared_path(relative);                       \
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

// A small Llama config with grouped KV heads, valid for every format (d_model 64, 2 layers, 4 heads, 2 KV heads,
// d_mlp 96, vocab 128, n_ctx 64).
Config tiny_config();

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

// Path of the built `resid` binary.
std::string resid_binary();

// `resid args...` run to completion with stdin from /dev/null; status is the exit code, or -signal.
struct CliRun {
  int status = -1;
  std::string out, err;
};
CliRun run_resid(const std::vector<std::string>& args);

}  // namespace resid::testing
