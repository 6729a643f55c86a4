// resid probe end to end on a synthetic capture: fit (table, --json, saved probe), sweep, apply, direction,
// and one-line errors with exit code 2.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "probes/probe.h"
#include "synthetic_capture.h"
#include "test_support.h"

namespace resid {
namespace {

struct CliRun {
  int code;
  std::string out, err;
};

CliRun run(const std::string& args, const testing::TempDir& dir) {
  const std::string out = dir.file("stdout"), err = dir.file("stderr");
  const int status = std::system((testing::resid_binary() + " " + args + " >" + out + " 2>" + err).c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  return {WEXITSTATUS(status), slurp(out), slurp(err)};
}

// The float32 payload of a .npy written by resid (format 1.0, '<f4'), as `resid run --steer` reads it.
std::vector<float> read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.rfind("\x93NUMPY\x01\x00", 0), 0u);
  const size_t header = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_NE(bytes.find("'<f4'"), std::string::npos);
  std::vector<float> out((bytes.size() - 10 - header) / 4);
  std::memcpy(out.data(), bytes.data() + 10 + header, out.size() * 4);
  return out;
}

class ProbeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    acts_ = dir_.file("acts.h5");
    testing::write_synthetic_capture(acts_, {});
  }
  testing::TempDir dir_;
  std::string acts_;
};

TEST_F(ProbeCli, FitSaveApplyDirection) {
  const std::string probe = dir_.file("p.safetensors");
  CliRun r = run("probe fit " + acts_ + " --hook blocks.2.hook_resid_post --label quote -o " + probe, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "selectivity");
  EXPECT_CONTAINS(r.out, "control");
  r = run("probe fit " + acts_ + " --hook blocks.2.hook_resid_post --label quote --json --lambda 0.01", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["lambda_selection"], "fixed");
  EXPECT_GT(j["metrics"]["test"]["accuracy"].get<double>(), 0.9);
  EXPECT_EQ(j["provenance"]["command_line"].get<std::string>().rfind("resid probe fit", 0), 0u);

  r = run("probe apply " + probe + " " + acts_ + " --json --scores " + dir_.file("s.npy"), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json a = nlohmann::json::parse(r.out);
  EXPECT_GT(a["metrics"]["accuracy"].get<double>(), 0.9);
  EXPECT_EQ(read_npy(dir_.file("s.npy")).size(), a["n"].get<size_t>());

  r = run("probe direction " + probe + " --class yes -o " + dir_.file("dir.npy"), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<float> dir = read_npy(dir_.file("dir.npy"));  // what resid run --steer reads
  ASSERT_EQ(dir.size(), 16u);
  EXPECT_GT(dir[0], 0.8f);  // the label lives on feature 0; the other 15 carry noise-fitted weight
}

TEST_F(ProbeCli, SweepTableAndJson) {
  CliRun r = run("probe sweep " + acts_ + " --hooks 'blocks.*.hook_resid_post' --label quote --jobs 2 -o " +
                     dir_.file("probes"),
                 dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "blocks.0.hook_resid_post");
  EXPECT_CONTAINS(r.out, "selectivity");
  EXPECT_TRUE(std::filesystem::exists(dir_.file("probes/blocks.1.hook_resid_post.safetensors")));
  r = run("probe sweep " + acts_ + " --hooks 'blocks.*.hook_resid_post' --label quote --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["probes"].size(), 3u);
}

TEST_F(ProbeCli, SweepPerPosition) {
  CliRun r = run("probe sweep " + acts_ +
                     " --hooks blocks.1.hook_resid_post --label quote --per-position --lambda 1e-2 -o " +
                     dir_.file("pp"),
                 dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "blocks.1.hook_resid_post@0       skipped: ");  // BOS: no labelled examples
  EXPECT_CONTAINS(r.out, "blocks.1.hook_resid_post@3 ");
  EXPECT_TRUE(std::filesystem::exists(dir_.file("pp/blocks.1.hook_resid_post.pos3.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(dir_.file("pp/blocks.1.hook_resid_post.pos0.safetensors")));
  r = run("probe sweep " + acts_ + " --hooks blocks.1.hook_resid_post --label topic --per-position", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_CONTAINS(r.err, "per-position probes need a token label");
}

// --memory below the example matrix: fit and apply stream the capture and give the in-memory results.
TEST_F(ProbeCli, OutOfCoreFitAndApplyEqualInMemory) {
  const std::string fit = "probe fit " + acts_ +
                          " --hook blocks.1.hook_resid_post --label quote --lambda 1e-2 " +
                          "--tol 1e-7 --no-control --json";
  CliRun r = run(fit + " --memory 1G -o " + dir_.file("mem.safetensors"), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json mem = nlohmann::json::parse(r.out);
  // The index bound (docs/probes.md: 128 + 16 x 2 classes bytes per example) plus 6 KiB of activations, about
  // a fifth of the ~30 KiB example matrix (~480 examples x 16 x 4 bytes).
  const int64_t n = mem["n_examples"].get<int64_t>();
  const std::string budget = std::to_string(n * 160 + 6144);
  r = run(fit + " --memory " + budget + " -o " + dir_.file("stream.safetensors"), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json stream = nlohmann::json::parse(r.out);
  EXPECT_FALSE(mem["streamed"].get<bool>());
  EXPECT_TRUE(stream["streamed"].get<bool>());
  EXPECT_EQ(mem["metrics"]["test"]["accuracy"], stream["metrics"]["test"]["accuracy"]);
  EXPECT_EQ(mem["metrics"]["test"]["confusion"], stream["metrics"]["test"]["confusion"]);
  const probes::Probe a = probes::load_probe(dir_.file("mem.safetensors")),
                      b = probes::load_probe(dir_.file("stream.safetensors"));
  EXPECT_LT((a.model.w - b.model.w).cwiseAbs().maxCoeff(), 1e-4 * a.model.w.cwiseAbs().maxCoeff());

  const std::string apply = "probe apply " + dir_.file("mem.safetensors") + " " + acts_ + " --json";
  r = run(apply + " --scores " + dir_.file("mem.npy"), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json whole = nlohmann::json::parse(r.out);
  r = run(apply + " --memory " + budget + " --scores " + dir_.file("stream.npy"), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json chunked = nlohmann::json::parse(r.out);
  EXPECT_EQ(whole["chunks"], 1);
  EXPECT_GT(chunked["chunks"].get<int>(), 5);
  EXPECT_EQ(whole["metrics"]["confusion"], chunked["metrics"]["confusion"]);
  const std::vector<float> sa = read_npy(dir_.file("mem.npy")), sb = read_npy(dir_.file("stream.npy"));
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_NEAR(sa[i], sb[i], 1e-4f * (1 + std::abs(sa[i]))) << i;
}

// A capture that was killed: only its committed rows are probed, and the output says so.
TEST_F(ProbeCli, KilledCaptureIsProbedOnItsCommittedRows) {
  testing::SyntheticCapture killed;
  killed.committed_rows = 40;
  const std::string partial = dir_.file("partial.h5");
  testing::write_synthetic_capture(partial, killed);
  const std::string note =
      "capture incomplete (still running or killed): only its 40 committed rows of 60 are used";
  CliRun r = run("probe fit " + partial + " --hook blocks.2.hook_resid_post --label quote --lambda 1e-2 -o " +
                     dir_.file("p.safetensors"),
                 dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, note);
  r = run("probe sweep " + partial + " --hooks 'blocks.*' --label quote --lambda 1e-2", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, note);
  r = run("probe apply " + dir_.file("p.safetensors") + " " + partial, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, note);
  r = run("probe fit " + partial + " --hook blocks.2.hook_resid_post --label quote --lambda 1e-2 --json",
          dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["provenance"]["committed_rows"], 40);
  EXPECT_FALSE(j["provenance"]["capture_complete"].get<bool>());
  // A complete capture prints no such note.
  r = run("probe fit " + acts_ + " --hook blocks.2.hook_resid_post --label quote --lambda 1e-2", dir_);
  EXPECT_EQ(r.out.find("capture incomplete"), std::string::npos);
}

TEST_F(ProbeCli, EachSubcommandHelpPrintsItsOptions) {
  const std::vector<std::string> fit_flags = {
      "--label",     "--kind",       "--lambda",   "--lambdas", "--folds",  "--split",   "--seed", "--reduce",
      "--keep-none", "--no-control", "--max-iter", "--tol",     "--memory", "--threads", "--json"};
  std::map<std::string, std::vector<std::string>> options = {
      {"fit", {"--acts", "--hook", "--output"}},
      {"sweep", {"--acts", "--hooks", "--jobs", "--per-position", "--output-dir"}},
      {"apply", {"--probe", "--acts", "--hook", "--other-hook", "--label", "--scores", "--memory", "--json"}},
      {"direction", {"--probe", "--class", "--output"}}};
  for (const char* sub : {"fit", "sweep"})
    options[sub].insert(options[sub].end(), fit_flags.begin(), fit_flags.end());
  for (const auto& [sub, flags] : options) {
    const CliRun r = run("probe " + sub + " --help", dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("usage: resid probe " + sub, 0), 0u) << r.out;
    for (const std::string& f : flags) EXPECT_CONTAINS(r.out, f);
  }
  EXPECT_EQ(run("probe", dir_).code, 2);
}

TEST_F(ProbeCli, BadInputIsOneLineAndExitCodeTwo) {
  const std::string probe = dir_.file("p.safetensors");
  ASSERT_EQ(
      run("probe fit " + acts_ + " --hook blocks.0.hook_resid_post --label quote --lambda 0.1 -o " + probe,
          dir_)
          .code,
      0);
  // A capture of another width.
  testing::SyntheticCapture wide;
  wide.d = 24;
  const std::string wide_acts = dir_.file("wide.h5");
  testing::write_synthetic_capture(wide_acts, wide);
  // NaN and infinity in the activations; a single class; label rows fewer than activation rows.
  testing::SyntheticCapture nan = {}, inf = {}, one = {};
  nan.nan_row = 17, nan.nan_pos = 2;
  inf.nan_row = 23, inf.nan_pos = 5, inf.bad_value = INFINITY;
  one.n_pos = 1;  // every real token is BOS ("none"): with --keep-none, one class
  const std::string nan_acts = dir_.file("nan.h5"), inf_acts = dir_.file("inf.h5"),
                    one_acts = dir_.file("one.h5");
  testing::write_synthetic_capture(nan_acts, nan);
  testing::write_synthetic_capture(inf_acts, inf);
  testing::write_synthetic_capture(one_acts, one);
  const std::string short_acts = dir_.file("short.h5");
  std::filesystem::copy_file(acts_, short_acts);
  const bool have_h5py = testing::shorten_label_column(short_acts, "quote", 5);
  const std::string truncated = dir_.file("t.safetensors");
  std::filesystem::copy_file(probe, truncated);
  std::filesystem::resize_file(truncated, std::filesystem::file_size(probe) - 7);
  std::vector<std::pair<std::string, std::string>> cases = {
      {"probe fit " + acts_ + " --hook blocks.7.hook_resid_post --label quote",
       "no hook 'blocks.7.hook_resid_post'"},
      {"probe fit " + acts_ + " --hook blocks.0.hook_resid_post --label mood", "no label 'mood'"},
      {"probe fit " + acts_ + " --hook blocks.0.hook_resid_post --label quote --kind ridge", "use logistic"},
      {"probe fit " + nan_acts + " --hook blocks.0.hook_resid_post --label quote",
       nan_acts + ": /acts/blocks.0.hook_resid_post row 17 position 2 holds NaN"},
      {"probe fit " + inf_acts + " --hook blocks.0.hook_resid_post --label quote --memory 100K",
       inf_acts + ": /acts/blocks.0.hook_resid_post row 23 position 5 holds infinity"},
      {"probe apply " + probe + " " + inf_acts, "row 23 position 5 holds infinity"},
      {"probe fit " + one_acts + " --hook blocks.0.hook_resid_post --label quote --keep-none",
       one_acts + ": label 'quote' has a single class ('none')"},
      {"probe apply " + probe + " " + acts_ + " --memory 1K", "--memory 1.0 KiB is below the example index"},
      {"probe fit " + acts_ + " --hook blocks.0.hook_resid_post --label quote --memory lots",
       "--memory 'lots'"},
      {"probe apply " + probe + " " + acts_ + " --hook blocks.1.hook_resid_post",
       "fitted on hook blocks.0.hook_resid_post"},
      {"probe apply " + probe + " " + wide_acts, "the probe has d = 16 features but " + wide_acts},
      {"probe apply " + truncated + " " + acts_, truncated + ": "},
      {"probe direction " + probe + " -o " + dir_.file("d.npy"), "give --class"},
      {"probe frobnicate", "unknown probe subcommand"},
  };
  if (have_h5py)
    cases.push_back({"probe fit " + short_acts + " --hook blocks.0.hook_resid_post --label quote",
                     short_acts + ": /labels/quote is shorter than /committed_rows"});
  for (const auto& [args, needle] : cases) {
    const CliRun r = run(args, dir_);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_CONTAINS(r.err, needle);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_CONTAINS(run("probe apply " + truncated + " " + acts_, dir_).err, "truncated?");
}

}  // namespace
}  // namespace resid
