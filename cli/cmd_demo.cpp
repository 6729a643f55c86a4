// resid demo: the embedded default job. Offline, in seconds, on models resid trains itself, it walks the
// whole pipeline on the seeds' problem, points of the plane on 3-arm spirals:
//   1. train a 2-64-64-3 ReLU MLP twice: with Adam (healthy), and with SGD at lr 2 (its ReLUs die);
//   2. capture every hook of the healthy model over fresh points it never saw;
//   3. fit a linear probe per hook for two labels: the arm (the class) and "outer" (|x| > 0.7), with
//   baselines;
//   4. run the dead-neuron census of both models over the same points;
//   5. write the report: folds, training and dying ReLUs, probes by layer, census, activation statistics.
// Each step writes the file its subcommand writes (train's checkpoint and --json lines, capture's HDF5, probe
// sweep's JSON, census's HDF5), so every one can be reopened with the other subcommands. What it prints is
// read off those results, never typed in.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "capture/capture_mlp.h"
#include "capture/fingerprint.h"
#include "census/census_file.h"
#include "census/run_census.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "datasets/toy_points.h"
#include "probes/capture_probe.h"
#include "reports/build_report.h"
#include "reports/html_page.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace resid::cli {

namespace {

constexpr const char* kData = "spirals:3";
constexpr double kTestFraction = 0.2;
constexpr double kOuterRadius = 0.7;  // r = sqrt(u) on each arm, so about half the points lie outside 0.7

struct DemoRun {
  std::string name;  // file stem: spirals-adam, spirals-sgd-lr2
  train::TrainOptions options;
  train::TrainResult result;
  std::string checkpoint, history;
};

train::TrainOptions options_for(train::OptimizerKind kind, double lr, uint64_t seed) {
  train::TrainOptions o;
  o.widths = {2, 64, 64, 3};
  o.optimizer.kind = kind;
  o.optimizer.lr = lr;
  o.epochs = 60;
  o.batch_size = 32;
  o.seed = seed;
  return o;
}

// Whole or not at all, like every other file the demo writes.
void write_text(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

// Trains, then writes what `resid train -o NAME.safetensors --json > NAME.jsonl` writes.
void train_run(DemoRun& run, const PointSet& all, const PointSplit& split, uint64_t seed,
               const fs::path& dir) {
  std::string lines;
  train::TrainCallbacks callbacks;
  callbacks.on_epoch = [&](const train::EpochStats& s) { lines += train::epoch_to_json(s).dump() + "\n"; };
  run.result = train::train_mlp(split.train, &split.test, run.options, callbacks);
  run.checkpoint = (dir / (run.name + ".safetensors")).string();
  run.history = (dir / (run.name + ".jsonl")).string();
  json metrics = train::epoch_to_json(run.result.history.back());
  if (run.result.diverged) metrics["stopped"] = run.result.diverged->describe();
  train::save_trained_mlp(
      run.checkpoint, run.result.params,
      train::run_config_json(run.options, all, split, seed, kTestFraction, omp_get_max_threads()), metrics);
  write_text(run.history, lines);
}

std::string dead_counts(const train::Evaluation& e) {
  std::string s;
  for (size_t l = 0; l < e.dead.size(); ++l)
    s += (l ? ", " : "") + std::to_string(e.dead[l]) + "/" + std::to_string(e.width[l]);
  return s;
}

// The first epoch after which at least half of every hidden layer was dead on the training set (0 if none).
int half_dead_epoch(const train::TrainResult& r) {
  for (const train::EpochStats& s : r.history) {
    bool all_half = !s.train.dead.empty();
    for (size_t l = 0; l < s.train.dead.size(); ++l) all_half = all_half && s.train.dead_fraction(l) >= 0.5;
    if (all_half && s.epoch > 0) return s.epoch;
  }
  return 0;
}

// The sweep's JSON as `resid probe sweep --json` prints it; returns test accuracy by hook, in capture order.
std::vector<std::pair<std::string, double>> sweep_label(const std::string& capture,
                                                        const std::vector<std::string>& hooks,
                                                        const std::string& label, const std::string& path,
                                                        const std::string& command) {
  probes::CaptureFitOptions o;
  o.examples.label = label;
  o.command_line = command;
  const std::vector<probes::FitResult> results =
      probes::sweep_capture(capture, hooks, o, omp_get_max_threads());
  json all = json::array();
  std::vector<std::pair<std::string, double>> accuracy;
  for (const probes::FitResult& r : results) {
    all.push_back(r.report);
    accuracy.emplace_back(r.probe.hook, r.report["metrics"]["test"]["accuracy"].get<double>());
  }
  write_text(path, json{{"capture", capture}, {"label", label}, {"probes", all}}.dump() + "\n");
  return accuracy;
}

// The hook with the highest accuracy, the first one among equals.
const std::pair<std::string, double>& best_of(const std::vector<std::pair<std::string, double>>& acc) {
  return *std::max_element(acc.begin(), acc.end(),
                           [](const auto& a, const auto& b) { return a.second < b.second; });
}

// One line on where a label becomes linearly readable: the input against the best hook.
std::string finding(const std::string& what, const std::vector<std::pair<std::string, double>>& acc) {
  const auto& [hook, best] = best_of(acc);
  char line[256];
  if (best - acc.front().second >= 0.1)
    std::snprintf(line, sizeof line, "   %s: %.2f from the input, %.2f from %s: the ReLUs made it linear.\n",
                  what.c_str(), acc.front().second, best, hook.c_str());
  else
    std::snprintf(line, sizeof line,
                  "   %s: %.2f from the input already; the layers add little (best %.2f).\n", what.c_str(),
                  acc.front().second, best);
  return line;
}

std::string census_line(const CensusResult& c) {
  std::string s;
  for (const LayerCensus& l : c.layers)
    s += (s.empty() ? "" : ", ") + std::to_string(l.dead_ids().size()) + "/" + std::to_string(l.width());
  return s;
}

}  // namespace

int run_demo(const std::vector<std::string>& args) {
  std::string out_dir = "resid-demo";
  uint64_t seed = 0;
  int threads = 0;
  po::options_description desc("resid demo options");
  desc.add_options()(
      "out", po::value(&out_dir)->default_value(out_dir),
      "directory for the models, capture, probes, census and report (created; the demo's files "
      "in it are replaced)")("seed", po::value(&seed)->default_value(0),
                             "seed of the points, the split, the init and the shuffling")(
      "threads", po::value(&threads)->default_value(0),
      "worker threads (0 = all cores); the same seed and count give the same numbers");
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse(args, desc, pos, vm, "resid demo [--out DIR] [--seed S] [--threads N]")) return 0;
  if (threads < 0) throw InputError("--threads = " + std::to_string(threads) + " must not be negative");
  if (threads > 0) omp_set_num_threads(threads);
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_directory(out_dir, ec))
    throw InputError("--out " + out_dir + ": exists and is not a directory");
  fs::create_directories(out_dir, ec);
  if (ec) throw InputError("--out " + out_dir + ": cannot create directory: " + ec.message());
  const fs::path dir(out_dir);
  const auto file = [&](const std::string& name) { return (dir / name).string(); };
  const auto start = std::chrono::steady_clock::now();
  const std::string command = command_line("demo", args);

  // 1. Training, twice, on the same points.
  ToyOptions toy;
  toy.n = 1000;
  toy.seed = seed;
  const PointSet all = make_toy_points(kData, toy);
  const PointSplit split = split_points(all, kTestFraction, seed);
  std::printf("resid demo: the whole pipeline on models resid trains here, offline (files in %s/)\n\n",
              out_dir.c_str());
  std::printf("1. Train a 2-64-64-3 ReLU MLP on 3-arm spirals (%lld train, %lld test points), twice:\n",
              (long long)split.train.size(), (long long)split.test.size());
  std::fflush(stdout);
  std::vector<DemoRun> runs = {
      {"spirals-adam", options_for(train::OptimizerKind::Adam, 0.01, seed), {}, {}, {}},
      {"spirals-sgd-lr2", options_for(train::OptimizerKind::Sgd, 2, seed), {}, {}, {}}};
  for (DemoRun& run : runs) {
    train_run(run, all, split, seed, dir);
    const train::EpochStats& last = run.result.history.back();
    char what[32];
    std::snprintf(what, sizeof what, "%s lr %g,", train::optimizer_info(run.options.optimizer.kind).name,
                  run.options.optimizer.lr_or_default());
    std::printf("   %-13s %d epochs: test accuracy %5.1f%%, dead ReLUs per layer %s\n", what, last.epoch,
                100 * last.test->accuracy, dead_counts(last.train).c_str());
    std::fflush(stdout);
  }
  const DemoRun &healthy = runs[0], &dying = runs[1];
  if (const int e = half_dead_epoch(dying.result))
    std::printf(
        "   At lr 2, half of every layer's ReLUs were dead after epoch %d (dead: off on every training "
        "point);\n   a dead ReLU passes no gradient, so they stay dead.\n",
        e);
  else
    std::printf("   With this seed the lr 2 run kept most of its ReLUs alive.\n");
  std::printf("   -> %s.safetensors, %s.jsonl, %s.safetensors, %s.jsonl\n", healthy.name.c_str(),
              healthy.name.c_str(), dying.name.c_str(), dying.name.c_str());

  // 2. Capture every hook of the healthy model over fresh points.
  toy.n = 2000;
  toy.seed = seed + 1000;
  const PointSet fresh = make_toy_points(kData, toy);
  const std::string images = file("fresh-points-images.idx"), labels = file("fresh-points-labels.idx");
  write_points_idx(fresh, images, labels);
  const ImageSet points = read_idx_images(images, labels);
  VectorLabel outer{{"outer", LabelColumn::Kind::SequenceClass, {"inner", "outer"}}, {}};
  for (int64_t i = 0; i < fresh.size(); ++i) outer.values.push_back(fresh.x.row(i).norm() > kOuterRadius);
  const LoadedModel model = load_model(healthy.checkpoint);
  ActivationFileInfo info = capture_file_info(model, images, command);
  info.tokenizer = "none";
  info.dataset_description = std::to_string(fresh.size()) + " fresh points of " + fresh.source +
                             ", labels class (the arm) and outer (|x| > 0.7)";
  CaptureOptions cap;
  cap.hook_patterns = {"*"};
  cap.batch_size = 256;
  cap.writer.force = true;  // a second run replaces its own capture (and only an activation file)
  fingerprint_vector_inputs(model, images, labels, &info, &cap.writer.inputs);
  const std::string capture = file("capture.h5");
  capture_mlp(*model.mlp, points, {outer}, capture, info, cap);
  const std::vector<HookPointId> hook_points = mlp_hook_points(model.mlp->config());
  std::printf(
      "\n2. Capture all %zu hooks of the Adam model over %lld fresh points (data seed %llu, never seen "
      "in training)\n   -> fresh-points-images.idx, fresh-points-labels.idx, capture.h5\n",
      hook_points.size(), (long long)fresh.size(), (unsigned long long)toy.seed);
  std::fflush(stdout);

  // 3. Probes per layer, for both labels.
  const std::vector<std::string> probed = {"hook_embed", "blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post",
                                           "unembed.hook_out"};
  const std::string class_json = file("probes-class.json"), outer_json = file("probes-outer.json");
  const auto arm = sweep_label(capture, probed, "class", class_json, command);
  const auto radius = sweep_label(capture, probed, "outer", outer_json, command);
  std::printf("\n3. Linear probes (logistic, L2 by 3-fold CV), test accuracy on held-out rows:\n");
  std::printf("   %-24s %8s %8s\n", "hook", "arm", "outer");
  for (size_t h = 0; h < probed.size(); ++h)
    std::printf("   %-24s %8.3f %8.3f\n", probed[h].c_str(), arm[h].second, radius[h].second);
  std::printf("%s", finding("the arm", arm).c_str());
  std::printf("%s", finding("the radius (outer)", radius).c_str());
  std::printf("   -> probes-class.json, probes-outer.json\n");

  // 4. The census of both models over the same fresh points.
  std::printf("\n4. Dead-neuron census over the %lld fresh points (dead: hook_post > 0 on none of them):\n",
              (long long)fresh.size());
  const std::string census_path = file("census.h5");
  for (const DemoRun* run : {&healthy, &dying}) {
    const LoadedModel m = run == &healthy ? model : load_model(run->checkpoint);
    CensusResult c = census_of_mlp(*m.mlp, points, CensusRunOptions{});
    c.source = run->checkpoint;
    std::printf("   %-16s dead per layer %s, accuracy %.1f%%\n", run->name.c_str(), census_line(c).c_str(),
                100 * c.accuracy());
    if (run == &healthy) write_census_file(census_path, c);
  }
  std::printf("   -> census.h5 (the Adam model)\n");

  // 5. The report.
  ReportInputs in;
  in.title = "resid demo: a ReLU MLP on 3-arm spirals";
  in.capture = capture;
  in.census = census_path;
  in.probe_sweeps = {class_json, outer_json};
  in.mlp_weights = healthy.checkpoint;
  in.plane_points.xy.assign(split.train.x.data(), split.train.x.data() + split.train.x.size());
  in.plane_points.label.assign(split.train.y.begin(), split.train.y.end());
  in.plane_points_source = all.source + ", training split";
  for (const DemoRun& run : runs) in.training_runs.push_back(read_training_history(run.history, run.name));
  in.command_line = command;
  const Report report = build_report(in);
  const std::string html = file("report.html");
  write_report(html, report);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "\n5. Report: %zu sections, %zu charts: each layer's folds of the plane, loss and dead ReLUs by\n"
      "   epoch for both runs, probes by layer, census, activation statistics\n   -> %s\n",
      report.sections.size(), report.chart_count(), html.c_str());
  std::printf(
      "\nDone in %.1f s. The same on a Llama checkpoint you have (llama2.c .bin, GGUF, or a Hugging Face "
      "directory):\n"
      "  resid capture MODEL TEXT.txt --hooks 'blocks.*.hook_resid_post' --rule in_quotes -o acts.h5\n"
      "  resid probe sweep acts.h5 --hooks 'blocks.*.hook_resid_post' --label in_quotes --json > "
      "sweep.json\n"
      "  resid census MODEL TEXT.txt -o census.h5\n"
      "  resid report -o report.html --capture acts.h5 --census census.h5 --probe-sweep sweep.json "
      "--model MODEL --prompt 'Once upon a time'\n",
      seconds);
  return 0;
}

}  // namespace resid::cli
