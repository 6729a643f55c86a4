// `resid train` end to end through the real binary: a spirals run with --json per epoch and the checkpoint's
// metadata, the checkpoint read back by `resid info` and `resid census` (over the data --save-data wrote), a
// repeated run giving the same bytes, a CSV, a diverging run, and the one-line errors with exit code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/formats/mlp_safetensors.h"
#include "core/formats/safetensors.h"
#include "test_support.h"

namespace resid {
namespace {

using nlohmann::json;
using testing::run_resid;

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

using testing::expect_one_line_error;

struct TrainCli : ::testing::Test {
  testing::TempDir dir;
  std::string model = dir.file("spirals.safetensors");
  std::vector<std::string> spirals = {"train",    "--data",    "spirals:3", "--points", "600",
                                      "--layers", "2-32-32-3", "--epochs",  "20",       "--threads",
                                      "1",        "-o",        model};
};

TEST_F(TrainCli, JsonPerEpochAndACheckpointInfoAndCensusRead) {
  std::vector<std::string> args = spirals;
  args.insert(args.end(), {"--json", "--save-data", dir.file("")});
  const testing::CliRun r = run_resid(args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;  // no progress bar off a terminal
  const std::vector<json> epochs = json_lines(r.out);
  ASSERT_EQ(epochs.size(), 21u);  // epoch 0 (the initial model) .. 20
  EXPECT_EQ(epochs[0]["epoch"], 0);
  EXPECT_EQ(epochs[20]["step"], 20 * ((480 + 31) / 32));
  EXPECT_EQ(epochs[20]["train"]["n"], 480);
  EXPECT_EQ(epochs[20]["test"]["n"], 120);
  EXPECT_EQ(epochs[20]["train"]["dead_fraction"].size(), 2u);
  EXPECT_GT(epochs[20]["train"]["accuracy"].get<double>(), epochs[0]["train"]["accuracy"].get<double>());

  const SafetensorsFile file(model);
  const json config = json::parse(file.metadata().at(kMlpTrainConfigKey));
  EXPECT_EQ(config["widths"], "2-32-32-3");
  EXPECT_EQ(config["optimizer"]["name"], "adam");
  EXPECT_EQ(config["optimizer"]["lr"], 0.01);
  EXPECT_EQ(config["data"], "spirals:3 n=600 noise=0.05 seed=0");
  EXPECT_EQ(config["threads"], 1);
  EXPECT_EQ(config["init_redraws"], 16);
  EXPECT_EQ(config["init_draw"], 0);  // 32 ReLUs per layer cover every point on the first draw
  EXPECT_EQ(epochs[0]["train"]["uncovered"], 0);
  const json metrics = json::parse(file.metadata().at(kMlpTrainMetricsKey));
  EXPECT_EQ(metrics, epochs[20]);

  const testing::CliRun info = run_resid({"info", model});
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_CONTAINS(info.out, "family     plain MLP, widths 2 32 32 3, relu between layers");
  EXPECT_CONTAINS(info.out, "note       trained by resid train: 2-32-32-3 relu, adam lr 0.01, 20 epochs");

  // The census over the training set --save-data wrote counts the same dead neurons and accuracy.
  const testing::CliRun census = run_resid({"census", model, "--images", dir.file("train-images.idx"),
                                            "--labels", dir.file("train-labels.idx"), "--json"});
  ASSERT_EQ(census.status, 0) << census.err;
  const json c = json::parse(census.out);
  EXPECT_EQ(c["n_examples"], 480);
  // core's forward and the trainer's are compiled apart: a point on a class boundary may go either way.
  EXPECT_NEAR(c["accuracy"].get<double>(), epochs[20]["train"]["accuracy"].get<double>(), 1.5 / 480);
  for (int l = 0; l < 2; ++l)
    EXPECT_EQ(c["layers"][l]["dead_ids"].size(), epochs[20]["train"]["dead"][l].get<size_t>())
        << "layer " << l;
}

TEST_F(TrainCli, RepeatedRunWritesTheSameBytes) {
  ASSERT_EQ(run_resid(spirals).status, 0);
  const std::string first = testing::slurp(model);
  ASSERT_EQ(run_resid(spirals).status, 0);
  EXPECT_EQ(testing::slurp(model), first);
  std::vector<std::string> two_threads = spirals;
  *(std::find(two_threads.begin(), two_threads.end(), "--threads") + 1) = "2";
  ASSERT_EQ(run_resid(two_threads).status, 0);
  const std::string with_two = testing::slurp(model);
  ASSERT_EQ(run_resid(two_threads).status, 0);
  EXPECT_EQ(testing::slurp(model), with_two);
  std::vector<std::string> other = spirals;
  other.insert(other.end(), {"--seed", "1"});
  ASSERT_EQ(run_resid(other).status, 0);
  EXPECT_NE(testing::slurp(model), first);
}

TEST_F(TrainCli, TextOutputAndCsvData) {
  const std::string csv = dir.file("and.csv");
  std::ofstream(csv) << "a,b,label\n0,0,no\n0,1,no\n1,0,no\n1,1,yes\n";
  const testing::CliRun r =
      run_resid({"train", "--data", csv, "--layers", "2-4-2", "--epochs", "200", "--batch-size", "4", "--lr",
                 "0.05", "--test-fraction", "0", "-o", model});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_CONTAINS(r.out, "training 2-4-2 on " + csv + ": 4 train, 0 test examples, adam lr 0.05");
  EXPECT_CONTAINS(r.out, "final: train accuracy 100.00%");
  EXPECT_CONTAINS(r.out, "checkpoint: " + model);
}

TEST_F(TrainCli, DivergingRunStopsAtItsStepAndKeepsTheLastGoodModel) {
  const testing::CliRun r =
      run_resid({"train", "--data", "spirals", "--points", "200", "--layers", "2-32-32-3", "--optimizer",
                 "sgd", "--lr", "1e6", "--epochs", "50", "-o", model});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_CONTAINS(r.err, "resid train: error: loss became ");
  EXPECT_CONTAINS(r.err, " at step ");
  EXPECT_CONTAINS(r.err, model + " holds the last good model");
  const SafetensorsFile file(model);
  EXPECT_CONTAINS(file.metadata().at(kMlpTrainMetricsKey), "\"stopped\":\"loss became ");
  const testing::CliRun info = run_resid({"info", model});
  EXPECT_EQ(info.status, 0) << info.err;
}

// MNIST's 10,000 test images split 80/20: a 784-64-10 ReLU MLP for 3 epochs reaches a sensible held-out
// accuracy (about 93% measured), and an IDX label count that differs from the image count is a clear error.
TEST_F(TrainCli, MnistIdxFiles) {
  RESID_REQUIRE_SHARED(images, "data/mnist/t10k-images-idx3-ubyte.gz");
  RESID_REQUIRE_SHARED(labels, "data/mnist/t10k-labels-idx1-ubyte.gz");
  const testing::CliRun r = run_resid({"train", "--data", images, "--labels", labels, "--layers", "784-64-10",
                                       "--epochs", "3", "--batch-size", "64", "--json", "-o", model});
  ASSERT_EQ(r.status, 0) << r.err;
  const json last = json_lines(r.out).back();
  EXPECT_EQ(last["train"]["n"], 8000);
  EXPECT_GE(last["test"]["accuracy"].get<double>(), 0.88);
  const testing::CliRun info = run_resid({"info", model, "--json"});
  EXPECT_EQ(json::parse(info.out)["widths"], json::array({784, 64, 10}));

  expect_one_line_error({"train", "--data", images, "--layers", "784-64-10", "-o", model},
                        {images + ": IDX images need their IDX labels file (--labels)"});
}

// Seed 1's He draw of 2-4-2 leaves XOR points with all four ReLUs off, and the next two leave points with one
// on; the run says it redrew, and records it.
TEST_F(TrainCli, SaysWhenItRedrewTheInit) {
  const std::vector<std::string> base = {"train", "--data",   "xor",   "--points", "64", "--test-fraction",
                                         "0",     "--layers", "2-4-2", "--epochs", "1",  "--seed",
                                         "1",     "-o",       model};
  const testing::CliRun r = run_resid(base);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_CONTAINS(
      r.out,
      "init he_normal: redraw 3: earlier draws left training points with fewer than 2 ReLUs of a layer on (1 "
      "in layers under 4 units)\n");
  EXPECT_EQ(json::parse(SafetensorsFile(model).metadata().at(kMlpTrainConfigKey))["init_draw"], 3);

  std::vector<std::string> plain = base;
  plain.insert(plain.end(), {"--init-redraws", "0"});
  const testing::CliRun p = run_resid(plain);
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_CONTAINS(
      p.out,
      "init he_normal: 13 training points with fewer than 2 ReLUs of a layer on (1 in layers under 4 "
      "units), a step from getting no gradient there; --init-redraws 0 keeps the first draw\n");
  EXPECT_EQ(json::parse(SafetensorsFile(model).metadata().at(kMlpTrainConfigKey))["init_draw"], 0);
}

TEST_F(TrainCli, BadInputIsOneLineWithExitCode2) {
  const std::vector<std::string> base = {"train", "--data", "xor", "--layers", "2-4-2", "-o", model};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  expect_one_line_error(with({"--lr", "0"}), {"--lr = 0 must be a positive finite number"});
  expect_one_line_error(with({"--lr", "-0.1"}), {"--lr = -0.1 must be a positive finite number"});
  expect_one_line_error(with({"--lr", "nan"}), {"--lr = nan must be a positive finite number"});
  expect_one_line_error(with({"--lr", "fast"}), {"--lr 'fast' is not a number"});
  expect_one_line_error(with({"--optimizer", "lion"}),
                        {"unknown optimizer 'lion' (expected sgd, adam, adamw)"});
  expect_one_line_error(with({"--batch-size", "0"}), {"--batch-size = 0 must be at least 1"});
  expect_one_line_error(with({"--init-redraws", "-1"}), {"--init-redraws = -1 must not be negative"});
  expect_one_line_error(with({"--momentum", "1.5"}), {"--momentum = 1.5 is not in [0, 1)"});
  expect_one_line_error(with({"--test-fraction", "1"}), {"--test-fraction 1 is not in [0, 1)"});
  expect_one_line_error(with({"--noise", "-1"}), {"--noise -1 must be finite and not negative"});
  expect_one_line_error({"train", "--data", "xor", "--layers", "2-4-", "-o", model}, {"--layers '2-4-'"});
  expect_one_line_error({"train", "--data", "spirals", "--layers", "2-4-2", "-o", model},
                        {"has class 2 but the model has 2 outputs (--layers 2-4-2)"});
  expect_one_line_error({"train", "--data", "swirls", "--layers", "2-4-2", "-o", model},
                        {"swirls: no such file, nor a point set"});
  const std::string csv = dir.file("ragged.csv");
  std::ofstream(csv) << "x,y,label\n1,2,0\n3,4\n";
  expect_one_line_error({"train", "--data", csv, "--layers", "2-4-2", "-o", model},
                        {csv + ":3: ragged row: 2 fields, but the first line (the header) has 3"});
  std::ofstream(csv) << "x,y,label\n1,2,0\n3,x,1\n";
  expect_one_line_error({"train", "--data", csv, "--layers", "2-4-2", "-o", model},
                        {csv + ":3: column 2 ('y'): 'x' is not a finite number"});
  expect_one_line_error({"train", "--data", "xor", "--layers", "2-4-2"}, {"output"});
  // IDX images and labels that disagree in count.
  const std::string images = dir.file("im.idx"), labels = dir.file("lab.idx");
  std::ofstream(images, std::ios::binary) << std::string("\0\0\x08\x02\0\0\0\x03\0\0\0\x02", 12) << "abcdef";
  std::ofstream(labels, std::ios::binary) << std::string("\0\0\x08\x01\0\0\0\x02", 8) << std::string(2, '\0');
  expect_one_line_error({"train", "--data", images, "--labels", labels, "--layers", "2-4-2", "-o", model},
                        {labels + ": has 2 labels but " + images + " has 3 images"});
}

}  // namespace
}  // namespace resid
