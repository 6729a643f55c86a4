// Capturing a plain MLP over vectors (capture/capture_mlp.h): rows equal an independent float64 forward,
// labels and the index-as-token convention, hook selection, resume, and the CLI on the real MNIST MLP.
#include <atomic>
#include <cmath>
#include <filesystem>

#include "capture/activation_file.h"
#include "capture/activation_reader.h"
#include "capture/capture_mlp.h"
#include "core/error.h"
#include "core/init.h"
#include "run_resid.h"
#include "test_support.h"

namespace resid {
namespace {

// 3 -> 5 ReLU -> 4 ReLU -> 2, seeded.
Mlp small_mlp() {
  return testing::seeded_mlp({3, 5, 4, 2}, 5);
}

ImageSet points(int64_t n) {
  ImageSet s;
  s.images_path = "points";
  s.image_shape = {3};
  s.pixels.resize(n, 3);
  Rng rng(9);
  for (int64_t i = 0; i < n * 3; ++i)
    s.pixels.data()[i] = static_cast<float>(rng.next_u64() % 2001) / 1000.f - 1.f;
  for (int64_t i = 0; i < n; ++i) s.labels.push_back(static_cast<int32_t>(i % 3));
  return s;
}

// Layer `layer`'s post-activation of example `row`, in float64 from the weights.
std::vector<double> post(const Mlp& mlp, const ImageSet& data, int64_t row, int layer) {
  std::vector<double> h(data.pixels.row(row).data(), data.pixels.row(row).data() + data.pixels.cols());
  for (int l = 0; l <= layer; ++l) {
    const Linear& lin = mlp.layers()[l];
    const int64_t out = lin.weight.shape[0], in = lin.weight.shape[1];
    std::vector<double> next(out);
    for (int64_t j = 0; j < out; ++j) {
      double acc = lin.bias.data[j];
      for (int64_t i = 0; i < in; ++i) acc += double(lin.weight.data[j * in + i]) * h[i];
      next[j] = std::max(acc, 0.0);
    }
    h = next;
  }
  return h;
}

ActivationFileInfo info() {
  ActivationFileInfo i;
  i.resid_version = "test";
  i.model_path = "small.safetensors";
  i.dataset_path = "points";
  return i;
}

TEST(CaptureMlp, RowsAreTheForwardOfEachExample) {
  testing::TempDir dir;
  const Mlp mlp = small_mlp();
  const ImageSet data = points(23);
  CaptureOptions o;
  o.hook_patterns = {"blocks.*.mlp.hook_post", "hook_embed"};
  o.batch_size = 5;
  VectorLabel radius{{"radius", LabelColumn::Kind::SequenceNumber, {}}, {}};
  for (int64_t i = 0; i < data.size(); ++i) radius.values.push_back(data.pixels.row(i).norm());
  const std::string out = dir.file("acts.h5");
  const CaptureResult r = capture_mlp(mlp, data, {radius}, out, info(), o);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.rows, 23);

  const ActivationReader reader(out);
  const ActivationFileSummary& s = reader.summary();
  // Forward order, whatever the order of the patterns.
  EXPECT_EQ(s.hooks,
            (std::vector<std::string>{"hook_embed", "blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post"}));
  EXPECT_EQ(s.info.n_pos, 1);
  EXPECT_EQ(reader.row_shape("blocks.1.mlp.hook_post"), std::vector<int64_t>{4});
  for (int layer = 0; layer < 2; ++layer) {
    std::vector<float> rows;
    reader.read_rows("blocks." + std::to_string(layer) + ".mlp.hook_post", 0, 23, &rows);
    const int64_t width = layer == 0 ? 5 : 4;
    for (int64_t row = 0; row < 23; ++row) {
      const std::vector<double> want = post(mlp, data, row, layer);
      for (int64_t j = 0; j < width; ++j)  // float32 forward vs float64: a few ulps of values of order 1
        EXPECT_NEAR(rows[row * width + j], want[j], 1e-5) << "row " << row << " unit " << j;
    }
  }
  std::vector<int32_t> tokens, lengths;
  reader.read_tokens(0, 23, &tokens, &lengths);
  for (int32_t i = 0; i < 23; ++i) EXPECT_EQ(tokens[i], i);  // the example's index stands in for a token
  EXPECT_EQ(lengths, std::vector<int32_t>(23, 1));
  std::vector<double> cls, rad;
  reader.read_labels("class", 0, 23, &cls);
  reader.read_labels("radius", 0, 23, &rad);
  EXPECT_EQ(cls[4], 1);
  EXPECT_NEAR(rad[7], radius.values[7], 1e-12);
}

TEST(CaptureMlp, AStoppedCaptureResumesToTheSameRows) {
  testing::TempDir dir;
  const Mlp mlp = small_mlp();
  const ImageSet data = points(40);
  CaptureOptions o;
  o.hook_patterns = {"blocks.0.mlp.hook_pre", "unembed.hook_out"};
  o.batch_size = 8;
  const std::string whole = dir.file("whole.h5"), part = dir.file("part.h5");
  capture_mlp(mlp, data, {}, whole, info(), o);
  std::atomic<bool> stop{false};
  CaptureOptions first = o;
  first.stop = &stop;
  first.on_progress = [&](int64_t rows, int64_t) { stop = rows >= 16; };
  EXPECT_FALSE(capture_mlp(mlp, data, {}, part, info(), first).complete);
  EXPECT_EQ(read_activation_summary(part).committed_rows, 16);
  CaptureOptions again = o;
  again.resume = true;
  const CaptureResult r = capture_mlp(mlp, data, {}, part, info(), again);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.new_rows, 24);
  for (const std::string& hook : {"blocks.0.mlp.hook_pre", "unembed.hook_out"})
    EXPECT_EQ(read_activation_rows(whole, hook, 0, 40), read_activation_rows(part, hook, 0, 40)) << hook;
}

// The MLP's hooks are selected by the same rules as a transformer's (hooks/hook_selector.h): globs, exact
// names and inclusive layer ranges, returned in forward order whatever the order of the patterns.
TEST(CaptureMlp, HookPatternsFollowTheTransformerRules) {
  const Mlp mlp = small_mlp();
  const MlpConfig& c = mlp.config();
  const auto names = [&](const std::vector<std::string>& patterns) {
    std::vector<std::string> out;
    for (const HookPointId& p : select_mlp_hooks(c, patterns)) out.push_back(hook_name(p.site, p.layer));
    return out;
  };
  EXPECT_EQ(
      names({"unembed.hook_out", "blocks.0-1.mlp.hook_post"}),
      (std::vector<std::string>{"blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post", "unembed.hook_out"}));
  EXPECT_EQ(names({"*"}).size(), 6u);
  EXPECT_EQ(names({"blocks.1-9.mlp.hook_pre", "hook_embed"}),
            (std::vector<std::string>{"hook_embed", "blocks.1.mlp.hook_pre"}));
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { names({"blocks.2-3.mlp.hook_post"}); }),
                  "no hook matches 'blocks.2-3.mlp.hook_post'; this MLP's hooks are hook_embed");
}

TEST(CaptureMlp, BadHooksShapesAndLabelsAreInputErrors) {
  testing::TempDir dir;
  const Mlp mlp = small_mlp();
  const ImageSet data = points(6);
  CaptureOptions o;
  o.hook_patterns = {"blocks.*.hook_resid_post"};
  const std::string out = dir.file("x.h5");
  EXPECT_EQ(
      testing::error_of<InputError>([&] { capture_mlp(mlp, data, {}, out, info(), o); }),
      "no hook matches 'blocks.*.hook_resid_post'; this MLP's hooks are hook_embed, blocks.0.mlp.hook_pre, "
      "blocks.0.mlp.hook_post, blocks.1.mlp.hook_pre, blocks.1.mlp.hook_post, unembed.hook_out");
  o.hook_patterns = {"hook_embed"};
  ImageSet wide = data;
  wide.pixels.resize(6, 4);
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { capture_mlp(mlp, wide, {}, out, info(), o); }),
                  "examples have 4 features but the MLP takes 3 inputs");
  VectorLabel short_label{{"arm", LabelColumn::Kind::SequenceClass, {"a", "b"}}, {0, 1}};
  EXPECT_CONTAINS(
      testing::error_of<InputError>([&] { capture_mlp(mlp, data, {short_label}, out, info(), o); }),
      "label arm has 2 values for 6 examples");
  CaptureOptions positions = o;
  positions.positions = PositionSpec::parse("last");
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { capture_mlp(mlp, data, {}, out, info(), positions); }),
                  "positions and n_pos do not apply");
  EXPECT_FALSE(std::filesystem::exists(out));
}

// The real MNIST MLP over the MNIST test set through the CLI: the census of the capture finds the same 17
// dead neurons as the census of the model (tests/census pins them), and the probe sweep reads the file.
TEST(CaptureMlpCli, MnistCaptureFeedsCensusAndProbes) {
  RESID_REQUIRE_SHARED(mlp, "models/mnist-mlp/mnist_mlp.safetensors");
  RESID_REQUIRE_SHARED(images, "data/mnist/t10k-images-idx3-ubyte.gz");
  RESID_REQUIRE_SHARED(labels, "data/mnist/t10k-labels-idx1-ubyte.gz");
  testing::TempDir dir;
  const std::string out = dir.file("mnist.h5");
  std::string err;
  ASSERT_EQ(testing::run({testing::resid_binary(), "capture", mlp, images, "--idx-labels", labels, "--hooks",
                          "blocks.0.mlp.hook_post", "-o", out, "--batch-size", "1000", "--max-rows", "2000"},
                         &err),
            0)
      << err;
  const testing::CliRun census = testing::run_resid({"census", "--capture", out, "--json"});
  ASSERT_EQ(census.status, 0) << census.err;
  EXPECT_CONTAINS(census.out, "\"n_examples\": 2000");
  const testing::CliRun sweep =
      testing::run_resid({"probe", "sweep", out, "--hooks", "blocks.0.mlp.hook_post", "--label", "class"});
  ASSERT_EQ(sweep.status, 0) << sweep.err;
  EXPECT_CONTAINS(sweep.out, "blocks.0.mlp.hook_post");
  // A language model's flags on an MLP are refused with one line.
  const testing::CliRun bad = testing::run_resid(
      {"capture", mlp, images, "--hooks", "hook_embed", "-o", dir.file("bad.h5"), "--positions", "last"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_CONTAINS(bad.err, "is a plain MLP");
}

}  // namespace
}  // namespace resid
