// `resid census` end to end through the real binary: a plain MLP over IDX images written here (table, --json,
// -o), a language model over a token file, a capture file, and the one-line errors with exit code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "capture/capture.h"
#include "census/census_file.h"
#include "core/formats/gguf.h"
#include "core/formats/hf_checkpoint.h"
#include "core/init.h"
#include "datasets/idx_file.h"
#include "test_support.h"

namespace resid {
namespace {

using nlohmann::json;
using testing::run_resid;

IdxArray u8(std::vector<int64_t> dims, std::vector<uint8_t> bytes) {
  IdxArray a;
  a.dims = std::move(dims);
  a.bytes = std::move(bytes);
  return a;
}

using testing::expect_one_line_error;

struct CensusCli : ::testing::Test {
  testing::TempDir dir;
  std::string mlp = dir.file("mlp.safetensors");
  std::string images = dir.file("images.idx.gz"), labels = dir.file("labels.idx");

  void SetUp() override {
    // 2 pixels -> 3 ReLU -> 2 classes; neuron 1 has bias -100 and never fires (tests/census/test_census.cpp
    // traces the same network by hand).
    std::vector<Linear> layers;
    layers.push_back({Tensor::owned({3, 2}, {1, 1, 0, 0, 1, 0}), Tensor::owned({3}, {0, -100, -0.5f})});
    layers.push_back({Tensor::owned({2, 3}, {1, 0, 0, 0, 0, 1}), Tensor::owned({2}, {0, 0})});
    save_mlp_safetensors(mlp, Mlp(std::move(layers), ActFn::ReLU));
    write_idx(images, u8({4, 1, 2}, {0, 0, 255, 0, 0, 255, 255, 255}), true);
    write_idx(labels, u8({4}, {0, 0, 1, 0}), false);
  }
};

TEST_F(CensusCli, MlpTableJsonAndStatisticsFile) {
  const testing::CliRun table = run_resid({"census", mlp, "--images", images, "--labels", labels});
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_CONTAINS(table.out, "firing rule: a neuron fires when blocks.L.mlp.hook_post > 0");
  EXPECT_CONTAINS(table.out, "accuracy: 0.7500 (3 of 4 correct)");
  EXPECT_CONTAINS(table.out, "layer 0: 1\n");   // the dead ids
  EXPECT_TRUE(table.err.empty()) << table.err;  // no progress bar off a terminal

  const std::string out = dir.file("census.h5");
  const testing::CliRun r = run_resid({"census", mlp, "--images", images, "--labels", labels, "--json", "-o",
                                       out, "--batch-size", "3", "--rare", "0.6", "--threshold", "0.25"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["firing_rule"], "post_activation");
  EXPECT_EQ(j["threshold"], 0.25);
  EXPECT_EQ(j["accuracy"], 0.75);
  EXPECT_EQ(j["n_examples"], 4);
  // threshold 0.25: neuron 0 fires on values 1, 1, 2 (3 of 4), neuron 2 on 0.5, 0.5 (2 of 4, rare below 0.6).
  EXPECT_EQ(j["layers"][0]["dead_ids"], json::array({1}));
  EXPECT_EQ(j["layers"][0]["rare"][0]["count"], 1);
  const CensusResult file = read_census_file(out);
  EXPECT_EQ(file.layers.at(0).fires, (std::vector<int64_t>{3, 0, 2}));
  EXPECT_EQ(file.options.threshold, 0.25);
}

// The statistics file read with h5py alone, as docs/census.md shows.
TEST_F(CensusCli, StatisticsFileReadsWithH5py) {
  if (std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 has no h5py (Debian package python3-h5py)";
  const std::string out = dir.file("census.h5"), py = dir.file("py.json");
  ASSERT_EQ(run_resid({"census", mlp, "--images", images, "--labels", labels, "-o", out}).status, 0);
  const std::string script = std::string(RESID_SOURCE_DIR) + "/tests/census/read_census_with_h5py.py";
  ASSERT_EQ(std::system(("/usr/bin/python3 '" + script + "' '" + out + "' > '" + py + "'").c_str()), 0);
  std::ifstream in(py);
  const json j = json::parse(in);
  EXPECT_EQ(j["firing_rule"], "post_activation");
  EXPECT_EQ(j["accuracy"], 0.75);
  EXPECT_EQ(j["edges"].size(), 15u);
  ASSERT_EQ(j["layers"].size(), 1u);
  EXPECT_EQ(j["layers"][0]["hook"], "blocks.0.mlp.hook_post");
  EXPECT_EQ(j["layers"][0]["fires"], json::array({3, 0, 2}));
  EXPECT_EQ(j["layers"][0]["dead_ids"], json::array({1}));
  EXPECT_NEAR(j["layers"][0]["mean"][0].get<double>(), 1.0, 1e-12);  // (0 + 1 + 1 + 2) / 4
}

TEST_F(CensusCli, LanguageModelAndCapture) {
  const Config c = testing::tiny_config();
  const std::string model = dir.file("tiny.gguf"), data = dir.file("ids.tokens");
  write_gguf(model, c, random_weights(c, 3));
  {
    std::ofstream f(data);
    Rng rng(4);
    for (int line = 0; line < 20; ++line) {
      const int n = 1 + static_cast<int>(rng.next_u64() % 20);
      for (int i = 0; i < n; ++i) f << (i ? " " : "") << rng.next_u64() % c.d_vocab;
      f << "\n";
    }
  }
  const testing::CliRun direct = run_resid({"census", model, data, "--json", "--batch-size", "4"});
  ASSERT_EQ(direct.status, 0) << direct.err;
  const json jd = json::parse(direct.out);
  EXPECT_EQ(jd["firing_rule"], "gate_pre_activation");
  EXPECT_EQ(jd["n_examples"], 20);
  ASSERT_EQ(jd["layers"].size(), 2u);
  EXPECT_EQ(jd["layers"][1]["hook"], "blocks.1.mlp.hook_pre");

  const std::string acts = dir.file("acts.h5");
  ASSERT_EQ(run_resid({"capture", model, data, "--hooks", "blocks.*.mlp.hook_pre", "-o", acts, "--max-tokens",
                       "24", "--batch-size", "4"})
                .status,
            0);
  const testing::CliRun stored = run_resid({"census", "--capture", acts, "--json"});
  ASSERT_EQ(stored.status, 0) << stored.err;
  const json js = json::parse(stored.out);
  for (int l = 0; l < 2; ++l) {
    EXPECT_EQ(js["layers"][l]["n_tokens"], jd["layers"][l]["n_tokens"]);
    EXPECT_EQ(js["layers"][l]["histogram"], jd["layers"][l]["histogram"]);  // same batches, same floats
  }

  const std::string resid_only = dir.file("resid.h5");
  ASSERT_EQ(run_resid({"capture", model, data, "--hooks", "blocks.*.hook_resid_post", "-o", resid_only,
                       "--max-tokens", "24"})
                .status,
            0);
  expect_one_line_error({"census", "--capture", resid_only},
                        {resid_only, "holds no blocks.*.mlp.hook_pre hooks"});
  expect_one_line_error({"census", model, "--images", images}, {"--images/--labels are for plain MLPs"});
}

TEST_F(CensusCli, BadInputIsOneLineWithExitCode2) {
  expect_one_line_error({"census", mlp, "--images", images, "--threshold", "abc"},
                        {"--threshold 'abc' is not a number"});
  expect_one_line_error({"census", mlp, "--images", images, "--threshold", "0.5x"}, {"--threshold '0.5x'"});
  expect_one_line_error({"census", mlp, "--images", images, "--rare", "1e-5,2"}, {"--rare has 2"});
  expect_one_line_error({"census", mlp}, {"give its input images with --images"});
  expect_one_line_error({"census", "--capture", dir.file("acts.h5"), mlp}, {"give no MODEL"});

  const std::string bad = dir.file("bad.idx");
  std::ofstream(bad) << "not an idx file";
  expect_one_line_error({"census", mlp, "--images", bad}, {bad, "not an IDX file: magic"});
  write_idx(bad, u8({4, 1, 2}, {0, 0, 255, 0, 0, 255, 255, 255}), false);
  std::filesystem::resize_file(bad, 4 + 12 + 5);  // header + 5 of the 8 pixels
  expect_one_line_error({"census", mlp, "--images", bad}, {bad, "truncated", "holds only 5"});
  const std::string three = dir.file("three.idx");
  write_idx(three, u8({3}, {0, 1, 0}), false);
  expect_one_line_error({"census", mlp, "--images", images, "--labels", three},
                        {three + ": has 3 labels but " + images + " has 4 images"});
  write_idx(bad, u8({4, 3}, std::vector<uint8_t>(12, 1)), false);
  expect_one_line_error({"census", mlp, "--images", bad},
                        {"images have 3 pixels but the MLP takes 2 inputs"});
}

}  // namespace
}  // namespace resid
