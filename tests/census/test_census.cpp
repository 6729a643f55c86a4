// The dead-neuron census (census/): hand-traced counts, padding masked, batch-size independence, models built
// in memory with known dead neurons, the capture-file path, the statistics file, and the real checkpoints in
// ../shared.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "capture/capture.h"
#include "census/census_file.h"
#include "census/census_json.h"
#include "census/run_census.h"
#include "core/error.h"
#include "core/formats/model_file.h"
#include "core/init.h"
#include "hooks/hook_set.h"
#include "test_support.h"

namespace resid {
namespace {

using testing::error_of;
using testing::TempDir;

// ---- hand-traced counts ----

TEST(LayerCensus, CountsMeansAndMaxByHand) {
  LayerCensus l(0, "blocks.0.mlp.hook_post", 3);
  const std::vector<float> rows = {1, 0, -1,  // [3 tokens, 3 neurons]
                                   2, 0, 0.5f, 0, 0, 3};
  l.add_rows(rows.data(), 3, 0.0);
  EXPECT_EQ(l.n_tokens, 3);
  EXPECT_EQ(l.fires, (std::vector<int64_t>{2, 0, 2}));  // 0 is not > 0
  EXPECT_EQ(l.dead_ids(), (std::vector<int32_t>{1}));
  EXPECT_DOUBLE_EQ(l.mean(0), 1.0);
  EXPECT_DOUBLE_EQ(l.mean(2), 2.5 / 3);
  EXPECT_EQ(l.max, (std::vector<float>{2, 0, 3}));
  EXPECT_DOUBLE_EQ(l.mean_active(0), 1.5);
  EXPECT_TRUE(std::isnan(l.mean_active(1)));
  EXPECT_DOUBLE_EQ(l.mean_active(2), 1.75);
  EXPECT_DOUBLE_EQ(l.density(2), 2.0 / 3);
  EXPECT_EQ(l.rare_count(0.7), 2);  // alive and below 0.7; the dead neuron is not "rare"
  EXPECT_EQ(l.rare_count(0.5), 0);

  LayerCensus t(0, "h", 3);
  t.add_rows(rows.data(), 3, 1.0);  // threshold 1: only 2 and 3 fire
  EXPECT_EQ(t.fires, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_DOUBLE_EQ(t.mean_active(2), 3.0);
}

TEST(LayerCensus, PaddedPositionsAreNotCounted) {
  LayerCensus l(0, "h", 2);
  // [batch 2, pos 3, width 2]; sequence 0 has 1 real token, sequence 1 has 3. Pads hold 100.
  std::vector<float> act = {1, -1, 100, 100, 100, 100, -1, 2, 3, 4, -5, -6};
  const std::vector<int> lengths = {1, 3};
  ActivationView view{{HookSite::MlpPost, 0}, act.data(), {2, 3, 2}, &lengths, 0};
  l.add(view, 0.0);
  EXPECT_EQ(l.n_tokens, 4);
  EXPECT_EQ(l.fires, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(l.max, (std::vector<float>{3, 4}));
  EXPECT_DOUBLE_EQ(l.mean(0), (1 - 1 + 3 - 5) / 4.0);
}

TEST(LayerCensus, Log10HistogramByHand) {
  LayerCensus l(0, "h", 6);
  l.n_tokens = 1000;
  l.fires = {0, 1, 10, 100, 1000, 3};  // densities: dead, 1e-3, 1e-2, 1e-1, 1, 3e-3
  CensusOptions o;
  o.histogram_min_log10 = -3;
  o.bins_per_decade = 1;
  EXPECT_EQ(o.histogram_edges_log10(), (std::vector<double>{-3, -2, -1, 0}));
  // [1e-3, 1e-2): 1e-3 and 3e-3; [1e-2, 1e-1): 1e-2; [1e-1, 1]: 1e-1 and 1. The dead neuron is in no bin.
  EXPECT_EQ(l.histogram(o), (std::vector<int64_t>{2, 1, 2}));
  l.fires[1] = 0;
  l.n_tokens = 100000;  // 3e-5 is below the first edge: it goes to the first bin
  l.fires[5] = 3;
  EXPECT_EQ(l.histogram(o)[0], 3);
}

TEST(CensusOptions, RejectsNonsense) {
  CensusOptions o;
  o.rare_densities = {1e-5, 2};
  EXPECT_CONTAINS(error_of<InputError>([&] { o.validate(); }), "rare_densities has 2");
  o = {};
  o.threshold = NAN;
  EXPECT_CONTAINS(error_of<InputError>([&] { o.validate(); }), "not finite");
  o = {};
  o.bins_per_decade = 0;
  EXPECT_CONTAINS(error_of<InputError>([&] { o.validate(); }), "bins_per_decade");
}

// ---- the plain MLP family ----

// 2 inputs -> 3 ReLU -> 2 outputs. Neuron 0 = x0 + x1, neuron 1 has bias -100 (dead), neuron 2 = x0 - 0.5.
// The outputs are [neuron 0, neuron 2].
Mlp traced_mlp() {
  std::vector<Linear> layers;
  layers.push_back({Tensor::owned({3, 2}, {1, 1, 0, 0, 1, 0}), Tensor::owned({3}, {0, -100, -0.5f})});
  layers.push_back({Tensor::owned({2, 3}, {1, 0, 0, 0, 0, 1}), Tensor::owned({2}, {0, 0})});
  return Mlp(std::move(layers), ActFn::ReLU);
}

ImageSet traced_images() {
  ImageSet set;
  set.images_path = "traced";
  set.pixels.resize(4, 2);
  set.pixels << 0, 0, 1, 0, 0, 1, 1, 1;
  // Predictions (argmax of [n0, n2]; ties go to the first): 0, 0, 0, 0.
  set.labels = {0, 0, 1, 0};
  return set;
}

TEST(MlpCensus, KnownDeadNeuronAndAccuracyByHand) {
  const Mlp mlp = traced_mlp();
  const ImageSet images = traced_images();
  for (int batch : {1, 3, 4}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    CensusRunOptions o;
    o.batch_size = batch;
    const CensusResult r = census_of_mlp(mlp, images, o);
    EXPECT_EQ(r.rule, FiringRule::PostActivation);
    EXPECT_EQ(r.n_examples, 4);
    EXPECT_EQ(r.n_labelled, 4);
    EXPECT_EQ(r.n_correct, 3);
    ASSERT_EQ(r.layers.size(), 1u);
    const LayerCensus& l = r.layers[0];
    EXPECT_EQ(l.hook, "blocks.0.mlp.hook_post");
    EXPECT_EQ(l.n_tokens, 4);
    // neuron 0: [0, 1, 1, 2]; neuron 1: 0; neuron 2: relu([-0.5, 0.5, -0.5, 0.5]).
    EXPECT_EQ(l.fires, (std::vector<int64_t>{3, 0, 2}));
    EXPECT_EQ(l.dead_ids(), (std::vector<int32_t>{1}));
    EXPECT_DOUBLE_EQ(l.mean(0), 1.0);
    EXPECT_DOUBLE_EQ(l.mean_active(0), 4.0 / 3);
    EXPECT_DOUBLE_EQ(l.mean(2), 0.25);
    EXPECT_DOUBLE_EQ(l.mean_active(2), 0.5);
    EXPECT_EQ(l.max, (std::vector<float>{2, 0, 0.5f}));
  }
  CensusRunOptions o;
  o.max_rows = 2;
  EXPECT_EQ(census_of_mlp(mlp, images, o).layers[0].fires, (std::vector<int64_t>{1, 0, 1}));
}

TEST(MlpCensus, ImagesOfTheWrongWidthAreRefused) {
  ImageSet images = traced_images();
  images.pixels.resize(4, 3);
  images.pixels.setZero();
  EXPECT_CONTAINS(error_of<InputError>([&] { census_of_mlp(traced_mlp(), images, {}); }),
                  "images have 3 pixels but the MLP takes 2 inputs");
}

// ---- language models ----

Tensor with_zero_row(const Tensor& t, int64_t row) {
  std::vector<float> v(t.data, t.data + t.numel());
  std::fill(v.begin() + row * t.shape[1], v.begin() + (row + 1) * t.shape[1], 0.0f);
  return Tensor::owned(t.shape, std::move(v));
}

// A seeded tiny model whose neuron 5 of layer 0 and 7 of layer 1 can never fire: their gate (or up, for a
// plain FFN) row is zero, so the hooked value is exactly 0.
Transformer model_with_dead_neurons(bool gated) {
  Config c = testing::tiny_config();
  c.gated_mlp = gated;
  c.act_fn = gated ? ActFn::SiLU : ActFn::ReLU;
  TransformerWeights w = random_weights(c, 11);
  Tensor& l0 = gated ? w.layers[0].w_gate : w.layers[0].w_up;
  Tensor& l1 = gated ? w.layers[1].w_gate : w.layers[1].w_up;
  l0 = with_zero_row(l0, 5);
  l1 = with_zero_row(l1, 7);
  return Transformer(c, std::move(w));
}

struct TokenData {
  TempDir dir;
  std::string path = dir.file("ids.tokens");
  std::vector<std::vector<int32_t>> rows;
  TokenData(int n, int vocab) {
    std::ofstream out(path);
    Rng rng(5);
    for (int line = 0; line < n; ++line) {
      const int len = 1 + static_cast<int>(rng.next_u64() % 30);
      rows.emplace_back();
      for (int i = 0; i < len; ++i) {
        rows.back().push_back(static_cast<int32_t>(rng.next_u64() % vocab));
        out << (i ? " " : "") << rows.back().back();
      }
      out << "\n";
    }
  }
  std::unique_ptr<Dataset> open() const {
    DatasetOptions o;
    o.path = path;
    o.kind = "tokens";
    return open_dataset(o, nullptr);
  }
  int64_t tokens() const {
    int64_t n = 0;
    for (const auto& r : rows) n += static_cast<int64_t>(r.size());
    return n;
  }
};

// The census recomputed the slow way: one sequence per forward, activations copied out, counted here.
std::vector<std::vector<int64_t>> brute_force_fires(const Transformer& model, const TokenData& data,
                                                    HookSite site, double threshold) {
  const Config& c = model.config();
  std::vector<std::vector<int64_t>> fires(c.n_layers, std::vector<int64_t>(c.d_mlp, 0));
  for (const auto& ids : data.rows) {
    HookSet hooks;
    for (int l = 0; l < c.n_layers; ++l)
      hooks.add(HookPointId{site, l}, [&, l](ActivationView& act) {
        for (int64_t i = 0; i < act.shape[1] * c.d_mlp; ++i) fires[l][i % c.d_mlp] += act.data[i] > threshold;
      });
    ForwardOptions fwd;
    fwd.hooks = &hooks;
    model.forward(TokenBatch::single(ids), fwd);
  }
  return fires;
}

// Counts may differ by one where a value lies within float rounding of the threshold: the batched forward
// runs the same arithmetic on differently shaped buffers, which is not promised to be bit-identical.
void expect_same_counts(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  ASSERT_EQ(a.size(), b.size());
  int64_t differing = 0;
  for (size_t j = 0; j < a.size(); ++j) {
    EXPECT_LE(std::llabs(a[j] - b[j]), 1) << "neuron " << j;
    differing += a[j] != b[j];
  }
  EXPECT_LE(differing, 2);
}

TEST(TransformerCensus, GatedModelCountsTheGatePreActivationAndFindsTheDeadNeurons) {
  const Transformer model = model_with_dead_neurons(true);
  const TokenData data(40, model.config().d_vocab);
  auto ds = data.open();
  CensusRunOptions o;
  o.batch_size = 7;
  const CensusResult r = census_of_transformer(model, *ds, o);
  EXPECT_EQ(r.rule, FiringRule::GatePreActivation);
  EXPECT_EQ(r.ffn, "SwiGLU");
  EXPECT_CONTAINS(r.rule_description(), "blocks.L.mlp.hook_pre > 0");
  EXPECT_EQ(r.n_examples, 40);
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_EQ(r.layers[1].hook, "blocks.1.mlp.hook_pre");
  EXPECT_EQ(r.layers[0].n_tokens, data.tokens());  // every real token, no pad
  EXPECT_EQ(r.layers[0].dead_ids(), (std::vector<int32_t>{5}));
  EXPECT_EQ(r.layers[1].dead_ids(), (std::vector<int32_t>{7}));
  const auto brute = brute_force_fires(model, data, HookSite::MlpPre, 0.0);
  for (int l = 0; l < 2; ++l) expect_same_counts(r.layers[l].fires, brute[l]);
}

TEST(TransformerCensus, ReluModelCountsThePostActivation) {
  const Transformer model = model_with_dead_neurons(false);
  const TokenData data(25, model.config().d_vocab);
  auto ds = data.open();
  const CensusResult r = census_of_transformer(model, *ds, {});
  EXPECT_EQ(r.rule, FiringRule::PostActivation);
  EXPECT_EQ(r.layers[0].hook, "blocks.0.mlp.hook_post");
  EXPECT_EQ(r.layers[0].dead_ids(), (std::vector<int32_t>{5}));
  EXPECT_EQ(r.layers[1].dead_ids(), (std::vector<int32_t>{7}));
  const auto brute = brute_force_fires(model, data, HookSite::MlpPost, 0.0);
  for (int l = 0; l < 2; ++l) expect_same_counts(r.layers[l].fires, brute[l]);
}

TEST(TransformerCensus, PaddedBatchesGiveTheSameCensusAsOneAtATime) {
  const Transformer model = model_with_dead_neurons(true);
  const TokenData data(30, model.config().d_vocab);
  CensusRunOptions one, many;
  one.batch_size = 1;
  many.batch_size = 16;  // lengths 1..30 in one batch: most rows are mostly padding
  auto a = data.open();
  auto b = data.open();
  const CensusResult r1 = census_of_transformer(model, *a, one), r16 = census_of_transformer(model, *b, many);
  for (int l = 0; l < 2; ++l) {
    SCOPED_TRACE("layer " + std::to_string(l));
    EXPECT_EQ(r1.layers[l].n_tokens, r16.layers[l].n_tokens);
    expect_same_counts(r1.layers[l].fires, r16.layers[l].fires);
    for (int j = 0; j < model.config().d_mlp; ++j) {
      // Sums of ~500 values of order 1 in double: float-level differences in the activations only.
      EXPECT_NEAR(r1.layers[l].mean(j), r16.layers[l].mean(j), 1e-5) << "neuron " << j;
      EXPECT_NEAR(r1.layers[l].max[j], r16.layers[l].max[j], 1e-5) << "neuron " << j;
    }
  }
}

TEST(TransformerCensus, ThresholdAndMaxRows) {
  const Transformer model = model_with_dead_neurons(true);
  const TokenData data(20, model.config().d_vocab);
  auto a = data.open();
  auto b = data.open();
  CensusRunOptions o;
  o.census.threshold = 0.5;
  o.max_rows = 9;
  const CensusResult high = census_of_transformer(model, *a, o);
  EXPECT_EQ(high.n_examples, 9);
  const CensusResult base = census_of_transformer(model, *b, {});
  for (int j = 0; j < model.config().d_mlp; ++j) EXPECT_LE(high.layers[0].fires[j], base.layers[0].fires[j]);
  EXPECT_CONTAINS(high.rule_description(), "> 0.5");
}

// ---- from a capture file ----

struct CaptureFixture : ::testing::Test {
  TempDir dir;
  std::string model_path = dir.file("tiny.gguf");
  LoadedModel model;
  std::unique_ptr<TokenData> data;

  void SetUp() override {
    model.path = model_path;
    model.transformer = std::make_shared<Transformer>(model_with_dead_neurons(true));
    data = std::make_unique<TokenData>(30, model.transformer->config().d_vocab);
  }
  std::string capture(const std::vector<std::string>& hooks, const std::string& positions,
                      const std::string& name) {
    const std::string out = dir.file(name);
    CaptureOptions o;
    o.hook_patterns = hooks;
    o.positions = PositionSpec::parse(positions);
    o.n_pos = 32;
    o.batch_size = 4;
    auto ds = data->open();
    capture_activations(*model.transformer, CapturePlan::resolve(model.transformer->config(), o), *ds, out,
                        ActivationFileInfo{}, o);
    return out;
  }
};

TEST_F(CaptureFixture, CensusOfACaptureEqualsTheCensusOfTheForward) {
  const std::string acts = capture({"blocks.*.mlp.hook_pre", "blocks.0.hook_resid_post"}, "all", "acts.h5");
  CensusRunOptions o;
  o.batch_size = 4;  // the same forwards as the capture: the same floats
  auto ds = data->open();
  const CensusResult direct = census_of_transformer(*model.transformer, *ds, o);
  const CensusResult stored = census_of_capture(acts, o);
  EXPECT_EQ(stored.rule, FiringRule::GatePreActivation);
  EXPECT_EQ(stored.n_examples, 30);
  ASSERT_EQ(stored.layers.size(), 2u);
  for (int l = 0; l < 2; ++l) {
    EXPECT_EQ(stored.layers[l].n_tokens, data->tokens());
    EXPECT_EQ(stored.layers[l].fires, direct.layers[l].fires);
    for (int j = 0; j < 96; ++j) EXPECT_NEAR(stored.layers[l].mean(j), direct.layers[l].mean(j), 1e-9);
  }
  EXPECT_EQ(stored.layers[0].dead_ids(), (std::vector<int32_t>{5}));
}

TEST_F(CaptureFixture, CaptureWithoutTheNeededHooksIsOneLineError) {
  const std::string acts = capture({"blocks.*.hook_resid_post", "blocks.*.mlp.hook_post"}, "all", "resid.h5");
  const std::string msg = error_of<InputError>([&] { census_of_capture(acts, {}); });
  EXPECT_CONTAINS(
      msg, acts + ": holds no blocks.*.mlp.hook_pre hooks; the census of this SwiGLU model needs them");
  EXPECT_EQ(msg.find('\n'), std::string::npos);

  const std::string mean = capture({"blocks.*.mlp.hook_pre"}, "mean", "mean.h5");
  EXPECT_CONTAINS(
      error_of<InputError>([&] { census_of_capture(mean, {}); }),
      "blocks.0.mlp.hook_pre is stored reduced (mean); the census needs every token (capture it with "
      "positions all)");
}

// ---- the statistics file and JSON ----

TEST(CensusFile, RoundTripAndJson) {
  TempDir dir;
  CensusRunOptions o;
  o.census.rare_densities = {0.3, 0.9};
  CensusResult r = census_of_mlp(traced_mlp(), traced_images(), o);
  r.source = "traced.safetensors";
  const std::string path = dir.file("census.h5");
  write_census_file(path, r);
  const CensusResult back = read_census_file(path);
  EXPECT_EQ(back.source, "traced.safetensors");
  EXPECT_EQ(back.rule, FiringRule::PostActivation);
  EXPECT_EQ(back.n_correct, 3);
  EXPECT_EQ(back.options.rare_densities, o.census.rare_densities);
  ASSERT_EQ(back.layers.size(), 1u);
  EXPECT_EQ(back.layers[0].hook, "blocks.0.mlp.hook_post");
  EXPECT_EQ(back.layers[0].fires, r.layers[0].fires);
  EXPECT_EQ(back.layers[0].max, r.layers[0].max);
  EXPECT_NEAR(back.layers[0].mean(2), 0.25, 1e-12);
  EXPECT_TRUE(std::isnan(back.layers[0].mean_active(1)));
  EXPECT_EQ(back.layers[0].histogram(back.options), r.layers[0].histogram(r.options));

  const nlohmann::json j = census_to_json(r);
  EXPECT_EQ(j["firing_rule"], "post_activation");
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.75);
  EXPECT_EQ(j["layers"][0]["dead_ids"], nlohmann::json::array({1}));
  EXPECT_EQ(j["layers"][0]["rare"][1]["count"], 2);  // densities 3/4 and 2/4 are below 0.9
  EXPECT_EQ(j["layers"][0]["rare"][0]["count"], 0);

  std::ofstream(dir.file("not.h5")) << "hello";
  EXPECT_CONTAINS(error_of<FormatError>([&] { read_census_file(dir.file("not.h5")); }), "not an HDF5 file");
}

// ---- real checkpoints ----

TEST(RealModels, MnistMlpCensusAndAccuracy) {
  RESID_REQUIRE_SHARED(model_path, "models/mnist-mlp/mnist_mlp.safetensors");
  RESID_REQUIRE_SHARED(images_path, "data/mnist/t10k-images-idx3-ubyte.gz");
  RESID_REQUIRE_SHARED(labels_path, "data/mnist/t10k-labels-idx1-ubyte.gz");
  const LoadedModel m = load_model(model_path);
  const ImageSet images = read_idx_images(images_path, labels_path);
  CensusRunOptions o;
  o.batch_size = 1000;
  const CensusResult r = census_of_mlp(*m.mlp, images, o);
  ASSERT_EQ(r.layers.size(), 1u);
  EXPECT_EQ(r.layers[0].n_tokens, 10000);
  EXPECT_EQ(r.layers[0].width(), 500);
  // Pinned to what resid computed on this model (docs/census.md). Accuracy within 2 of 9,831 images: an image
  // whose two best logits tie to the last bit could flip between instruction sets (docs/numerics.md).
  EXPECT_NEAR(r.accuracy(), 0.9831, 0.0002);
  // The 17 dead neurons, as an independent numpy forward in float64 also finds them. Rounding cannot move a
  // neuron across the line: the dead one closest to firing peaks at a pre-activation of -0.037 over the
  // 10,000 images, the weakest live one at +0.69.
  const std::vector<int32_t> dead = {108, 165, 184, 189, 195, 201, 219, 233, 285,
                                     293, 346, 368, 394, 433, 449, 451, 455};
  EXPECT_EQ(r.layers[0].dead_ids(), dead);
  std::printf("[ census ] MNIST MLP: accuracy %.4f, %zu of 500 dead, %lld rare (<1e-3)\n", r.accuracy(),
              r.layers[0].dead_ids().size(), (long long)r.layers[0].rare_count(1e-3));
}

TEST(RealModels, Stories260kCensusPerLayer) {
  RESID_REQUIRE_SHARED(model_path, "models/stories260K/stories260K.bin");
  RESID_REQUIRE_SHARED(text_path, "data/tinystories/tinystories_sample.txt");
  const LoadedModel m = load_model(model_path);
  DatasetOptions d;
  d.path = text_path;
  d.max_tokens = 256;
  d.truncate = true;
  auto ds = open_dataset(d, m.tokenizer.get());
  CensusRunOptions o;
  o.max_rows = 100;
  o.n_pos = 256;
  const CensusResult r = census_of_transformer(*m.transformer, *ds, o);
  EXPECT_EQ(r.rule, FiringRule::GatePreActivation);
  ASSERT_EQ(r.layers.size(), 5u);
  for (const LayerCensus& l : r.layers) {
    EXPECT_EQ(l.width(), 172);
    EXPECT_GT(l.n_tokens, 1000);
    // A trained SwiGLU layer's gates are not all negative: most neurons fire somewhere in 100 stories.
    EXPECT_LT(l.dead_ids().size(), 172u / 2);
    std::printf("[ census ] stories260K %s: %zu dead, %lld rare (<1e-3)\n", l.hook.c_str(),
                l.dead_ids().size(), (long long)l.rare_count(1e-3));
  }
}

}  // namespace
}  // namespace resid
