// resid train: trains a plain MLP (core/mlp.h) on a seeded 2-D point set, a CSV file or MNIST's IDX files,
// and writes a .safetensors checkpoint that `resid info`, `capture` and `census` read as they are, its
// training configuration and final metrics in the header metadata. --json prints one JSON object per epoch
// (epoch 0 is the initial model), with the fraction of dead ReLUs per layer on the training set.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flag_names.h"
#include "cli/progress.h"
#include "core/error.h"
#include "datasets/open_points.h"
#include "train/batches.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace resid::cli {

namespace {

using nlohmann::json;

std::string names_of_init() {
  std::string s;
  for (const train::InitScheme& i : train::init_schemes()) s += (s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

std::string names_of_optimizers() {
  std::string s;
  for (const train::OptimizerInfo& o : train::optimizer_kinds())
    s += (s.empty() ? "" : "|") + std::string(o.name) +
         (o.kind == train::OptimizerKind::Adam ? " (default)" : "");
  return s;
}

std::string default_noises() {
  std::string s;
  for (const ToyKind& k : toy_kinds()) {
    char item[64];
    std::snprintf(item, sizeof item, "%s%s %g", s.empty() ? "" : ", ", k.name, k.default_noise);
    s += item;
  }
  return s;
}

std::string default_lrs() {
  std::string s;
  for (const train::OptimizerInfo& o : train::optimizer_kinds()) {
    char item[64];
    std::snprintf(item, sizeof item, "%s%s %g", s.empty() ? "" : ", ", o.name, o.default_lr);
    s += item;
  }
  return s;
}

std::string percent(double fraction) {
  char s[32];
  std::snprintf(s, sizeof s, "%.2f%%", 100 * fraction);
  return s;
}

std::string dead_line(const train::Evaluation& e) {
  std::string s;
  for (size_t l = 0; l < e.dead.size(); ++l)
    s += (l ? ", " : "") + std::to_string(e.dead[l]) + "/" + std::to_string(e.width[l]);
  return s.empty() ? "no hidden layers" : s;
}

void print_epoch(const train::EpochStats& s) {
  std::printf("epoch %4d  step %7lld  loss %.4f  accuracy %s", s.epoch, (long long)s.step, s.train.loss,
              percent(s.train.accuracy).c_str());
  if (s.test)
    std::printf("  test loss %.4f  test accuracy %s", s.test->loss, percent(s.test->accuracy).c_str());
  std::printf("  dead %s\n", dead_line(s.train).c_str());
}

}  // namespace

int run_train(const std::vector<std::string>& args) {
  PointSource source;
  train::TrainOptions options;
  std::string layers, activation = "relu", loss = "cross_entropy", optimizer = "adam", lr, noise, out,
                      save_data;
  int64_t points = 1000;
  uint64_t data_seed = 0;
  double test_fraction = 0.2;
  int threads = 0;
  bool as_json = false;
  po::options_description desc("resid train options");
  desc.add_options()(
      "data", po::value(&source.data)->required(),
      "xor, moons, circles, spirals[:arms], blobs[:k], or a CSV file, or IDX images (with --labels)")(
      "labels", po::value(&source.labels_path), "IDX images: their IDX labels file")(
      "label-column", po::value(&source.csv.label_column),
      "CSV: the label column, by header name or 1-based number (default: the last)")(
      "points", po::value(&points)->default_value(1000), "generated sets: how many points")(
      "noise", po::value(&noise),
      ("generated sets: Gaussian noise std (default " + default_noises() + ")").c_str())(
      "data-seed", po::value(&data_seed)->default_value(0),
      "seed of the generated points and of the train/test split")(
      "test-fraction", po::value(&test_fraction)->default_value(0.2, "0.2"),
      "fraction held out for testing, in [0, 1)")("layers", po::value(&layers)->required(),
                                                  "widths from input to output, e.g. 2-64-64-3")(
      "activation", po::value(&activation)->default_value("relu"),
      "between layers: relu, gelu, gelu_tanh, silu")(
      "init", po::value(&options.init)->default_value(train::kDefaultInit),
      (names_of_init() + " (he_*, xavier_*: biases 0; torch: torch.nn.Linear's default)").c_str())(
      "init-redraws", po::value(&options.init_redraws)->default_value(train::kDefaultInitRedraws),
      "redraw the init (seeded) up to N times until every training point turns on 2 ReLUs of every hidden "
      "layer (1 in layers under 4 units): a point with all of a layer's ReLUs off gets no gradient there, "
      "and with one on it is a step from that (0 = keep the first draw)")(
      "loss", po::value(&loss)->default_value("cross_entropy"),
      "cross_entropy (softmax fused) or mse (against one-hot)")(
      "optimizer", po::value(&optimizer)->default_value("adam"), names_of_optimizers().c_str())(
      "lr", po::value(&lr), ("learning rate (default " + default_lrs() + ")").c_str())(
      "momentum", po::value(&options.optimizer.momentum)->default_value(0.9), "sgd momentum")(
      "weight-decay", po::value(&options.optimizer.weight_decay)->default_value(0.0),
      "L2 (sgd, adam) or decoupled (adamw) weight decay, on every parameter")(
      "batch-size", po::value(&options.batch_size)->default_value(32), "examples per step")(
      "epochs", po::value(&options.epochs)->default_value(100), "passes over the training set")(
      "seed", po::value(&options.seed)->default_value(0), "seed of the init and the shuffling")(
      "threads", po::value(&threads)->default_value(0),
      "worker threads (0 = all cores); a run repeats bit for bit at the same count")(
      "output,o", po::value(&out)->required(), "the checkpoint to write (.safetensors)")(
      "save-data", po::value(&save_data),
      "also write the train and test sets as IDX files PREFIX{train,test}-{images,labels}.idx (for resid "
      "census --images)")("json", po::bool_switch(&as_json),
                          "print one JSON object per epoch instead of the text lines");
  po::positional_options_description pos;
  po::variables_map vm;
  const std::string usage =
      "resid train --data xor|moons|circles|spirals[:arms]|blobs[:k]|FILE --layers 2-64-64-3 -o "
      "model.safetensors "
      "[--optimizer sgd|adam|adamw] [--lr X] [--epochs N] [--json]";
  if (!parse(args, desc, pos, vm, usage)) return 0;
  if (threads < 0) throw InputError("--threads = " + std::to_string(threads) + " must not be negative");
  if (threads > 0) omp_set_num_threads(threads);
  if (!lr.empty()) options.optimizer.lr = parse_double("--lr", lr);
  if (!noise.empty()) source.toy.noise = parse_double("--noise", noise);
  if (points < 1) throw InputError("--points " + std::to_string(points) + " must be at least 1");
  source.toy.n = points;
  source.toy.seed = data_seed;
  options.widths = with_flag_names([&] { return train::parse_widths(layers); });
  options.act_fn = act_fn_from_name(activation);
  options.loss = train::loss_from_name(loss);
  options.optimizer.kind = train::optimizer_from_name(optimizer);
  with_flag_names([&] { options.validate(); });

  const PointSet all = with_flag_names([&] { return open_points(source); });
  const PointSplit split = with_flag_names([&] { return split_points(all, test_fraction, data_seed); });
  if (!save_data.empty()) {
    write_points_idx(split.train, save_data + "train-images.idx", save_data + "train-labels.idx");
    if (split.test.size() > 0)
      write_points_idx(split.test, save_data + "test-images.idx", save_data + "test-labels.idx");
  }
  json config = train::run_config_json(options, all, split, data_seed, test_fraction, omp_get_max_threads());

  const int64_t steps_per_epoch = train::batch_count(split.train.size(), options.batch_size);
  Progress progress("train", steps_per_epoch * options.epochs, "steps", "examples/s");
  const int print_every = std::max(1, options.epochs / 10);
  train::TrainCallbacks callbacks;
  std::string init_line;
  callbacks.on_init = [&](const train::CoveringInit& init) {
    const std::string too_few = "fewer than 2 ReLUs of a layer on (1 in layers under 4 units)";
    if (init.draw > 0)
      init_line = "init " + options.init + ": redraw " + std::to_string(init.draw) +
                  ": earlier draws left training points with " + too_few +
                  (init.thin ? "; this one still leaves " + std::to_string(init.thin) : std::string()) + "\n";
    else if (init.thin)
      init_line = "init " + options.init + ": " + std::to_string(init.thin) + " training points with " +
                  too_few + ", a step from getting no gradient there; " +
                  (options.init_redraws ? "the same in all " + std::to_string(options.init_redraws + 1) +
                                              " draws, kept the first"
                                        : std::string("--init-redraws 0 keeps the first draw")) +
                  "\n";
  };
  callbacks.on_step = [&](const train::StepProgress& p) {
    char note[96];
    std::snprintf(note, sizeof note, "epoch %d  loss %.4f  accuracy %.2f%%  ", p.epoch, p.epoch_loss,
                  100 * p.epoch_accuracy);
    progress.update(p.step, p.step * split.train.size() / steps_per_epoch,
                    note);  // examples, exact at epoch ends
  };
  callbacks.on_epoch = [&](const train::EpochStats& s) {
    // Epoch 0 comes once the data has been checked against the model: a mismatch prints nothing to stdout.
    if (s.epoch == 0 && !as_json)
      std::printf("training %s on %s: %lld train, %lld test examples, %s lr %g\n",
                  train::widths_string(options.widths).c_str(), all.source.c_str(),
                  (long long)split.train.size(), (long long)split.test.size(), optimizer.c_str(),
                  options.optimizer.lr_or_default());
    if (s.epoch == 0 && !as_json) std::fputs(init_line.c_str(), stdout);
    if (as_json) {
      std::cout << train::epoch_to_json(s).dump() << std::endl;
    } else if (s.epoch % print_every == 0 || s.epoch == options.epochs) {
      progress.clear();
      print_epoch(s);
      std::fflush(stdout);
    }
  };
  const PointSet* test = split.test.size() > 0 ? &split.test : nullptr;
  const train::TrainResult result =
      with_flag_names([&] { return train::train_mlp(split.train, test, options, callbacks); });
  progress.finish();

  config["init_draw"] = result.init_draw;
  json metrics = train::epoch_to_json(result.history.back());
  if (result.diverged) metrics["stopped"] = result.diverged->describe();
  train::save_trained_mlp(out, result.params, config, metrics);
  if (result.diverged) {
    const int good = result.history.back().epoch;
    throw InputError(result.diverged->describe() + "; training stopped, " + out +
                     " holds the last good model (" +
                     (good == 0 ? std::string("the initial one") : "epoch " + std::to_string(good)) +
                     "); try a smaller --lr");
  }
  if (!as_json) {
    const train::EpochStats& last = result.history.back();
    std::printf("final: train accuracy %s", percent(last.train.accuracy).c_str());
    if (last.test) std::printf(", test accuracy %s", percent(last.test->accuracy).c_str());
    std::printf(
        "; dead neurons (never hook_post > 0) per hidden layer on the training set: %s\ncheckpoint: %s\n",
        dead_line(last.train).c_str(), out.c_str());
  }
  return 0;
}

}  // namespace resid::cli
