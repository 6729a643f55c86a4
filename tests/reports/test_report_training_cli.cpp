// resid report's --data and --training: the folds of a model resid train wrote, over its own points, with its
// epochs; and one-line errors for what does not fit.
#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace resid {
namespace {

TEST(ReportTrainingCli, FoldsAndTrainingOfATrainedModel) {
  testing::TempDir dir;
  const std::string model = dir.file("spirals.safetensors");
  const testing::CliRun trained =
      testing::run_resid({"train", "--data", "spirals:3", "--points", "300", "--layers", "2-16-16-3",
                          "--epochs", "4", "--json", "-o", model, "--threads", "1"});
  ASSERT_EQ(trained.status, 0) << trained.err;
  std::ofstream(dir.file("run.jsonl")) << trained.out;
  const std::string html = dir.file("r.html");
  const testing::CliRun r =
      testing::run_resid({"report", "-o", html, "--mlp-weights", model, "--data", "spirals:3", "--points",
                          "300", "--training", "adam=" + dir.file("run.jsonl")});
  ASSERT_EQ(r.status, 0) << r.err;
  // Folds: classes + 2 hidden layers; training: loss, accuracy, test accuracy, dead ReLUs.
  EXPECT_CONTAINS(r.out, "wrote " + html + ": 2 sections, 7 charts");
  const std::string page = testing::slurp(html);
  EXPECT_CONTAINS(page, "spirals:3 n=300");
  EXPECT_CONTAINS(page, "Dead ReLUs by epoch");
}

TEST(ReportTrainingCli, BadInputsAreOneLine) {
  testing::TempDir dir;
  std::ofstream(dir.file("bad.jsonl")) << "{\"epoch\": 0, \"train\": {\"loss\": 1}}\n";
  const testing::CliRun bad =
      testing::run_resid({"report", "-o", dir.file("r.html"), "--training", dir.file("bad.jsonl")});
  EXPECT_EQ(bad.status, 2);
  EXPECT_CONTAINS(bad.err, dir.file("bad.jsonl") + ": line 1 is not an epoch of resid train --json");
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  const testing::CliRun empty =
      testing::run_resid({"report", "-o", dir.file("r.html"), "--training", dir.file("none.jsonl")});
  EXPECT_EQ(empty.status, 2);
  EXPECT_CONTAINS(empty.err, "none.jsonl: cannot open the training history");
  const testing::CliRun moons3 =
      testing::run_resid({"report", "-o", dir.file("r.html"), "--data", "moons:3"});
  EXPECT_EQ(moons3.status, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("r.html")));
}

}  // namespace
}  // namespace resid
