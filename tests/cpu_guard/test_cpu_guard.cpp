// The CPU guard (cpu_guard/): a binary built for instruction sets the CPU lacks stops with one line and exit
// code 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cpu_guard/cpu_guard.h"
#include "test_support.h"

namespace resid {
namespace {

using testing::TempDir;

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

TEST(CpuGuard, CompiledFeaturesFollowTheBuildFlags) {
  const std::vector<std::string> compiled = split_words(compiled_cpu_features());
  auto has = [&](const char* name) {
    return std::find(compiled.begin(), compiled.end(), name) != compiled.end();
  };
#ifdef __AVX2__
  EXPECT_TRUE(has("avx2"));
#else
  EXPECT_FALSE(has("avx2"));
#endif
#ifdef __AVX512F__
  EXPECT_TRUE(has("avx512f"));
#else
  EXPECT_FALSE(has("avx512f"));
#endif
  // This process got past the guard, so nothing it was compiled for is missing.
  EXPECT_EQ(missing_cpu_features(), "");
}

TEST(CpuGuard, BinaryOnACpuWithoutItsInstructionSetsSaysRebuildInOneLine) {
  const std::vector<std::string> compiled = split_words(compiled_cpu_features());
  if (compiled.empty())
    GTEST_SKIP() << "built for baseline x86-64: there is nothing the guard could find missing";
  const std::string feature = compiled.back();  // e.g. avx512vl on an AVX-512 build, fma on x86-64-v3
  TempDir dir;
  const std::string err = dir.file("stderr.txt");
  const std::string command = "RESID_CPU_GUARD_PRETEND_MISSING='" + feature + "' '" +
                              testing::resid_binary() + "' --help >/dev/null 2>'" + err + "'";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status))
      << "killed by a signal: the guard must stop the binary before any instruction";
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream in(err);
  std::string first, second;
  std::getline(in, first);
  EXPECT_FALSE(std::getline(in, second)) << "one line expected, got a second: " << second;
  EXPECT_CONTAINS(first, feature);
  EXPECT_CONTAINS(first, "rebuild");

  // Without the pretence the same binary runs.
  const std::string plain = "'" + testing::resid_binary() + "' --help >/dev/null 2>&1";
  const int ok = std::system(plain.c_str());
  ASSERT_TRUE(WIFEXITED(ok));
  EXPECT_EQ(WEXITSTATUS(ok), 0);
}

}  // namespace
}  // namespace resid
