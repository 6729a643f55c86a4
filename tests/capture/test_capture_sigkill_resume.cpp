// Issue 7 item 6: SIGKILL at 20 seeded random moments of a capture with a label file, rule labels,
// --positions last and --dtype bfloat16, each followed by --resume: every result has exactly the datasets of
// the uninterrupted run. Uses ../shared stories260K and the tinystories sample (skips without them).
#include <filesystem>
#include <fstream>
#include <random>

#include "capture/activation_file.h"
#include "run_resid.h"
#include "test_support.h"

namespace resid {
namespace {

namespace fs = std::filesystem;

TEST(SigkillResume, TwentyKillsWithLabelsRulesLastPositionBfloat16) {
  RESID_REQUIRE_SHARED(model, "models/stories260K/stories260K.bin");
  RESID_REQUIRE_SHARED(sample, "data/tinystories/tinystories_sample.txt");
  testing::TempDir dir;
  const std::string lines = dir.file("lines.txt"), labels = dir.file("labels.txt");
  {
    std::ifstream in(sample);
    std::ofstream o(lines), l(labels);
    std::string line;
    for (int n = 0; n < 120 && std::getline(in, line);)
      if (line.find_first_not_of(" \t\r") != std::string::npos) {
        o << line << "\n";
        l << (n % 5 == 0 ? "question" : n % 3 ? "story" : "dialogue") << "\n";
        ++n;
      }
  }
  auto args = [&](const std::string& out) {
    return std::vector<std::string>{testing::resid_binary(),
                                    "capture",
                                    model,
                                    lines,
                                    "--kind",
                                    "text",
                                    "--truncate",
                                    "--max-tokens",
                                    "48",
                                    "--hooks",
                                    "blocks.*.hook_resid_post",
                                    "blocks.1.mlp.hook_post",
                                    "--labels",
                                    "genre=" + labels,
                                    "--rule",
                                    "in_quotes",
                                    "--rule",
                                    "starts_word",
                                    "--positions",
                                    "last",
                                    "--dtype",
                                    "bfloat16",
                                    "--batch-size",
                                    "3",
                                    "--max-rows",
                                    "90",
                                    "-o",
                                    out};
  };
  const std::string reference = dir.file("reference.h5");
  std::string err;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(testing::run(args(reference), &err), 0) << err;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<std::string> names = list_stored_datasets(reference);
  ASSERT_EQ(read_activation_summary(reference).committed_rows, 90);

  std::mt19937 rng(424242);
  int killed_with_rows = 0;
  for (int trial = 0; trial < 20; ++trial) {
    const std::string out = dir.file("killed" + std::to_string(trial) + ".h5");
    const int delay_us = std::uniform_int_distribution<int>(0, static_cast<int>(1.1e6 * seconds))(rng);
    SCOPED_TRACE("trial " + std::to_string(trial) + ", SIGKILL after " + std::to_string(delay_us) + " us");
    testing::RunOptions kill;
    kill.kill_after_us = delay_us;
    const int status = testing::run(args(out), &err, kill);
    if (status != 0) {
      ASSERT_EQ(status, -SIGKILL) << err;
      std::vector<std::string> again = args(out);
      // Killed before the file was placed: nothing to resume, start again (a stale side file is cleaned up).
      // Killed after the file was finished, while the process exited: nothing to resume either.
      const bool placed = fs::exists(out);
      const bool complete = placed && read_activation_summary(out).complete;
      if (placed && !complete) {
        killed_with_rows += read_activation_summary(out).committed_rows > 0;
        again.push_back("--resume");
      }
      if (!complete) ASSERT_EQ(testing::run(again, &err), 0) << err;
    }
    ASSERT_EQ(list_stored_datasets(out), names);
    for (const std::string& name : names) {
      std::vector<int64_t> sa, sb;
      EXPECT_TRUE(read_stored_dataset(reference, name, &sa) == read_stored_dataset(out, name, &sb)) << name;
      EXPECT_EQ(sa, sb) << name;
    }
    const ActivationFileSummary s = read_activation_summary(out);
    EXPECT_TRUE(s.complete);
    ASSERT_EQ(s.labels.size(), 3u);
    for (size_t i = 0; i < s.labels.size(); ++i)
      EXPECT_EQ(s.labels[i].classes, read_activation_summary(reference).labels[i].classes);
    for (const auto& e : fs::directory_iterator(dir.path()))
      EXPECT_EQ(e.path().filename().string().find(".creating-"), std::string::npos) << e.path();
  }
  EXPECT_GT(killed_with_rows, 0) << "no kill landed after the first commit; the test proved nothing";
  std::cout << "[          ] " << killed_with_rows << " of 20 kills left committed rows to resume\n";
}

}  // namespace
}  // namespace resid
