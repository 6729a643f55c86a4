// The plain MLP family: a bare .safetensors of Linear layers. The real check is ggml's pretrained MNIST MLP
// over the real MNIST test set; the synthetic ones cover naming, ordering, activations and shape errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "core/error.h"
#include "core/formats/hf_checkpoint.h"
#include "core/formats/safetensors.h"
#include "core/mlp.h"
#include "datasets/image_set.h"
#include "test_support.h"

namespace resid {
namespace {

using testing::error_of;
using testing::TempDir;

TEST(MnistMlp, RealModelClassifiesTheRealTestSet) {
  RESID_REQUIRE_SHARED(model_path, "models/mnist-mlp/mnist_mlp.safetensors");
  RESID_REQUIRE_SHARED(images_path, "data/mnist/t10k-images-idx3-ubyte.gz");
  RESID_REQUIRE_SHARED(labels_path, "data/mnist/t10k-labels-idx1-ubyte.gz");

  const LoadedModel model = load_safetensors_file(model_path);
  ASSERT_TRUE(model.mlp);
  EXPECT_FALSE(model.transformer);
  EXPECT_EQ(model.format, ModelFormat::Safetensors);
  EXPECT_EQ(model.mlp->config().widths, (std::vector<int>{784, 500, 10}));
  EXPECT_EQ(model.mlp->config().act_fn, ActFn::ReLU);
  ASSERT_EQ(model.tensors.size(), 4u);
  for (const TensorRecord& r : model.tensors) EXPECT_TRUE(r.mapped) << r.name;  // F32: used in place
  std::printf("[ format ] %s\n", model.format_detail.c_str());

  // The library's IDX reader (datasets/idx_file.h): gzip, pixel / 255.
  const ImageSet set = read_idx_images(images_path, labels_path);
  ASSERT_EQ(set.size(), 10000);
  ASSERT_EQ(set.image_shape, (std::vector<int64_t>{28, 28}));
  const int n = 10000;
  const RowMatrix& x = set.pixels;

  const RowMatrix logits = model.mlp->forward(x);
  ASSERT_EQ(logits.rows(), n);
  ASSERT_EQ(logits.cols(), 10);
  int correct = 0;
  for (int i = 0; i < n; ++i) {
    Eigen::Index predicted;
    logits.row(i).maxCoeff(&predicted);
    correct += predicted == set.labels[i];
  }
  const double accuracy = double(correct) / n;
  std::printf("[ MNIST  ] accuracy %.4f (%d / %d)\n", accuracy, correct, n);
  EXPECT_GT(accuracy, 0.95);
}

// ---- synthetic MLPs ----

Tensor random_tensor(std::vector<int64_t> shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return Tensor::owned(std::move(shape), std::move(v));
}

RowMatrix random_input(int rows, int cols) {
  std::mt19937 rng(99);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  RowMatrix x(rows, cols);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = dist(rng);
  return x;
}

// Writes Linear layers under explicit names (weight name, bias name) in the given order.
void write_layers(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata = {}) {
  std::vector<NamedTensor> named;
  for (const auto& [name, t] : tensors) named.push_back({name, &t});
  write_safetensors(path, named, metadata);
}

TEST(MlpSafetensors, SaveAndLoadRoundTripExactly) {
  TempDir dir;
  std::vector<Linear> layers;
  const std::vector<int> widths = {6, 9, 7, 3};
  for (size_t i = 0; i + 1 < widths.size(); ++i)
    layers.push_back(
        {random_tensor({widths[i + 1], widths[i]}, 10 + i), random_tensor({widths[i + 1]}, 20 + i)});
  for (ActFn act : {ActFn::ReLU, ActFn::GeLU, ActFn::GeLUTanh, ActFn::SiLU}) {
    SCOPED_TRACE(act_fn_name(act));
    const Mlp original(layers, act);
    const std::string path = dir.file("mlp.safetensors");
    save_mlp_safetensors(path, original);
    const SafetensorsFile file(path);
    EXPECT_TRUE(file.has("fc1.weight"));
    EXPECT_TRUE(file.has("fc3.bias"));
    EXPECT_EQ(file.metadata().at("resid_act_fn"), act_fn_name(act));

    const LoadedModel loaded = load_safetensors_file(path);
    ASSERT_TRUE(loaded.mlp);
    EXPECT_EQ(loaded.mlp->config().widths, widths);
    EXPECT_EQ(loaded.mlp->config().act_fn, act);
    const RowMatrix x = random_input(5, 6);
    EXPECT_TRUE(loaded.mlp->forward(x) == original.forward(x));
  }
}

TEST(MlpSafetensors, LayersAreOrderedByNumberNotName) {
  TempDir dir;
  const std::string path = dir.file("seq.safetensors");
  // Sorted as strings this would be 0, 10, 2 and the shapes would not chain.
  write_layers(path,
               {{"layers.0.weight", random_tensor({5, 4}, 1)},
                {"layers.0.bias", random_tensor({5}, 2)},
                {"layers.2.weight", random_tensor({6, 5}, 3)},
                {"layers.2.bias", random_tensor({6}, 4)},
                {"layers.10.weight", random_tensor({2, 6}, 5)},
                {"layers.10.bias", random_tensor({2}, 6)}},
               {{"resid_act_fn", "gelu"}});
  const LoadedModel loaded = load_safetensors_file(path);
  ASSERT_TRUE(loaded.mlp);
  EXPECT_EQ(loaded.mlp->config().widths, (std::vector<int>{4, 5, 6, 2}));
  EXPECT_EQ(loaded.mlp->config().act_fn, ActFn::GeLU);
}

TEST(MlpSafetensors, SequentialNamedModelIsAnMlpNotLlama) {
  TempDir dir;
  const std::string path = dir.file("seq.safetensors");
  // torch.nn.Sequential under an attribute called `model`, activations at the odd indices.
  write_layers(path, {{"model.0.weight", random_tensor({5, 4}, 1)},
                      {"model.0.bias", random_tensor({5}, 2)},
                      {"model.2.weight", random_tensor({3, 5}, 3)},
                      {"model.2.bias", random_tensor({3}, 4)}});
  const LoadedModel loaded = load_safetensors_file(path);
  ASSERT_TRUE(loaded.mlp);
  EXPECT_EQ(loaded.mlp->config().widths, (std::vector<int>{4, 5, 3}));
}

TEST(MlpSafetensors, ReluIsAssumedWithANote) {
  TempDir dir;
  const std::string path = dir.file("plain.safetensors");
  write_layers(path, {{"fc1.weight", random_tensor({3, 2}, 1)},
                      {"fc1.bias", random_tensor({3}, 2)},
                      {"fc2.weight", random_tensor({1, 3}, 3)},
                      {"fc2.bias", random_tensor({1}, 4)}});
  const LoadedModel loaded = load_safetensors_file(path);
  EXPECT_EQ(loaded.mlp->config().act_fn, ActFn::ReLU);
  bool noted = false;
  for (const std::string& n : loaded.notes) noted |= n.find("ReLU assumed") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(MlpSafetensors, ShapesThatDoNotChainNameTheTensor) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_layers(path, {{"fc1.weight", random_tensor({500, 784}, 1)},
                      {"fc1.bias", random_tensor({500}, 2)},
                      {"fc2.weight", random_tensor({10, 400}, 3)},
                      {"fc2.bias", random_tensor({10}, 4)}});
  const std::string msg = error_of<FormatError>([&] { load_safetensors_file(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "tensor 'fc2.weight' has shape [10, 400], expected [*, 500]");
}

TEST(MlpSafetensors, BadLayerFilesThrowFormatError) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  struct Case {
    const char* label;
    std::vector<std::pair<std::string, Tensor>> tensors;
    std::map<std::string, std::string> metadata;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"bias length",
       {{"fc1.weight", random_tensor({3, 2}, 1)}, {"fc1.bias", random_tensor({4}, 2)}},
       {},
       "tensor 'fc1.bias' has shape [4], expected [3]"},
      {"bias without weight",
       {{"fc1.bias", random_tensor({4}, 2)}},
       {},
       "'fc1.bias' has no matching .weight"},
      {"weight not 2-D",
       {{"fc1.weight", random_tensor({3, 2, 2}, 1)}},
       {},
       "tensor 'fc1.weight' has shape [3, 2, 2]"},
      {"not a Linear name",
       {{"embedding", random_tensor({3, 2}, 1)}},
       {},
       "tensor 'embedding' is not a Linear layer"},
      {"mixed prefixes",
       {{"fc1.weight", random_tensor({3, 2}, 1)}, {"layers.2.weight", random_tensor({1, 3}, 2)}},
       {},
       "layer prefix"},
      {"two layers with one number",
       {{"fc1.weight", random_tensor({3, 2}, 1)}, {"fc01.weight", random_tensor({3, 2}, 2)}},
       {},
       "are both layer 1"},
      {"no tensors", {}, {{"format", "pt"}}, "no tensors"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    write_layers(path, c.tensors, c.metadata);
    const std::string msg = error_of<FormatError>([&] { load_safetensors_file(path); });
    EXPECT_CONTAINS(msg, path);
    EXPECT_CONTAINS(msg, c.expected);
  }

  write_layers(path, {{"fc1.weight", random_tensor({3, 2}, 1)}, {"fc1.bias", random_tensor({3}, 2)}},
               {{"resid_act_fn", "sigmoid"}});
  const std::string msg = error_of<ConfigError>([&] { load_safetensors_file(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "sigmoid");
}

}  // namespace
}  // namespace resid
