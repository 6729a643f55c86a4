// `resid capture` end to end, through the real binary: the file it writes, SIGKILL at a random moment
// followed by
// --resume giving datasets identical to an uninterrupted run, and one-line errors with exit code 2.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "capture/activation_file.h"
#include "core/formats/gguf.h"
#include "core/init.h"
#include "test_support.h"

namespace resid {
namespace {

constexpr int kRows = 2000;

struct CaptureFixture : ::testing::Test {
  testing::TempDir dir;
  std::string model = dir.file("tiny.gguf");
  std::string data = dir.file("ids.tokens");

  void SetUp() override {
    const Config c = testing::tiny_config();
    write_gguf(model, c, random_weights(c, 3));
    std::ofstream out(data);
    Rng rng(9);
    for (int line = 0; line < kRows; ++line) {
      const int n = 1 + static_cast<int>(rng.next_u64() % 40);
      for (int i = 0; i < n; ++i) out << (i ? " " : "") << rng.next_u64() % c.d_vocab;
      out << "\n";
    }
  }

  std::vector<std::string> capture_args(const std::string& out) const {
    return {testing::resid_binary(),
            "capture",
            model,
            data,
            "--hooks",
            "blocks.*.hook_resid_post",
            "blocks.0.mlp.hook_post",
            "-o",
            out,
            "--max-tokens",
            "48",
            "--batch-size",
            "3"};
  }
};

// Runs argv; returns the exit status (or -signal) and stderr in `err`.
int run(std::vector<std::string> argv, std::string* err = nullptr, int kill_after_us = -1) {
  testing::TempDir holder;
  const std::string log = holder.file("stderr.txt");
  const pid_t pid = fork();
  if (pid == 0) {
    freopen(log.c_str(), "w", stderr);
    freopen("/dev/null", "w", stdout);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  if (kill_after_us >= 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(kill_after_us));
    kill(pid, SIGKILL);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (err) {
    std::ifstream in(log);
    err->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void expect_same_datasets(const std::string& a, const std::string& b) {
  const ActivationFileSummary sa = read_activation_summary(a), sb = read_activation_summary(b);
  ASSERT_EQ(sa.committed_rows, sb.committed_rows);
  ASSERT_TRUE(sa.complete);
  ASSERT_TRUE(sb.complete);
  ASSERT_EQ(sa.hooks, sb.hooks);
  for (const std::string& hook : sa.hooks) {
    std::vector<int64_t> shape_a, shape_b;
    EXPECT_EQ(read_activation_rows(a, hook, 0, sa.committed_rows, &shape_a),
              read_activation_rows(b, hook, 0, sb.committed_rows, &shape_b))
        << hook;
    EXPECT_EQ(shape_a, shape_b);
  }
}

TEST_F(CaptureFixture, WritesEveryRowAndHook) {
  const std::string out = dir.file("full.h5");
  std::string err;
  ASSERT_EQ(run(capture_args(out), &err), 0) << err;
  const ActivationFileSummary s = read_activation_summary(out);
  EXPECT_EQ(s.committed_rows, kRows);
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.hooks.size(), 3u);
  std::vector<int64_t> shape;
  read_activation_rows(out, "blocks.1.hook_resid_post", 0, 2, &shape);
  EXPECT_EQ(shape, (std::vector<int64_t>{48, 64}));
}

TEST_F(CaptureFixture, SigkillThenResumeEqualsUninterrupted) {
  const std::string reference = dir.file("reference.h5");
  ASSERT_EQ(run(capture_args(reference)), 0);
  std::mt19937 rng(12345);
  int killed_mid_run = 0;
  for (int trial = 0; trial < 4; ++trial) {
    const std::string out = dir.file("killed" + std::to_string(trial) + ".h5");
    const int delay_us = std::uniform_int_distribution<int>(2000, 150000)(rng);
    const int status = run(capture_args(out), nullptr, delay_us);
    if (status == 0) {  // finished before the kill arrived
      expect_same_datasets(reference, out);
      continue;
    }
    ASSERT_EQ(status, -SIGKILL);
    ++killed_mid_run;
    // Whatever moment it died at, the file opens and resuming completes it (a kill before the file existed
    // leaves nothing to resume: start fresh then).
    std::vector<std::string> resume = capture_args(out);
    if (std::ifstream(out).good()) resume.push_back("--resume");
    std::string err;
    ASSERT_EQ(run(resume, &err), 0) << "trial " << trial << " (killed after " << delay_us << " us): " << err;
    expect_same_datasets(reference, out);
  }
  EXPECT_GT(killed_mid_run, 0) << "no trial killed the capture while it ran; the test proved nothing";
}

TEST_F(CaptureFixture, ErrorsAreOneLineWithExitCode2) {
  std::string err;
  auto args = capture_args(dir.file("x.h5"));
  args[5] = "blocks.*.hook_resid";
  EXPECT_EQ(run(args, &err), 2);
  EXPECT_NE(err.find("no hook matches 'blocks.*.hook_resid'"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;

  const std::string out = dir.file("exists.h5");
  ASSERT_EQ(run(capture_args(out)), 0);
  EXPECT_EQ(run(capture_args(out), &err), 2);
  EXPECT_NE(err.find("--force"), std::string::npos) << err;

  EXPECT_EQ(run(capture_args("/proc/no/such/dir/out.h5"), &err), 2);
  EXPECT_NE(err.find("/proc/no/such/dir/out.h5"), std::string::npos) << err;

  // A line longer than --max-tokens.
  std::ofstream(data, std::ios::app) << std::string(60 * 2, ' ').replace(0, 1, "1") << "\n";
  {
    std::ofstream long_line(data, std::ios::app);
    for (int i = 0; i < 60; ++i) long_line << "5 ";
    long_line << "\n";
  }
  EXPECT_EQ(run(capture_args(dir.file("long.h5")), &err), 2);
  EXPECT_NE(err.find("60 tokens"), std::string::npos) << err;
}

}  // namespace
}  // namespace resid
