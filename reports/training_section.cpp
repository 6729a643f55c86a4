#include "reports/training_section.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "reports/vega_spec.h"

namespace resid {

using nlohmann::json;

namespace {

constexpr int kWidth = 420, kHeight = 220;

json run_colour(const std::vector<TrainingHistory>& runs) {
  json domain = json::array();
  for (const TrainingHistory& r : runs) domain.push_back(r.run);
  return {{"field", "run"}, {"type", "nominal"}, {"title", "run"}, {"scale", {{"domain", domain}}}};
}

Chart curve_chart(const std::string& title, const std::vector<TrainingHistory>& runs, const char* field,
                  const std::string& y_title, bool log_scale, const std::string& format,
                  const std::string& caption) {
  json values = json::array();
  for (const TrainingHistory& r : runs)
    for (const EpochRecord& e : r.epochs) {
      const double v = std::string(field) == "loss"       ? e.loss
                       : std::string(field) == "accuracy" ? e.accuracy
                                                          : e.test_accuracy;
      if (v < 0 || (log_scale && v <= 0)) continue;
      values.push_back({{"run", r.run}, {"epoch", e.epoch}, {field, v}});
    }
  json spec = vega_lite_spec(title, values);
  spec["width"] = kWidth;
  spec["height"] = kHeight;
  json y = channel(field, "quantitative", y_title);
  if (log_scale) y["scale"] = {{"type", "log"}};
  if (!format.empty()) y["axis"] = {{"format", format}};
  spec["mark"] = {{"type", "line"}, {"point", true}, {"tooltip", true}};
  spec["encoding"] = {{"x", channel("epoch", "quantitative", "epoch")},
                      {"y", y},
                      {"color", run_colour(runs)},
                      {"tooltip",
                       {tooltip("run", "nominal", "run"), tooltip("epoch", "quantitative", "epoch"),
                        tooltip(field, "quantitative", y_title, format.empty() ? ".4g" : format)}}};
  return {title, spec, caption};
}

}  // namespace

TrainingHistory read_training_history(const std::string& path, const std::string& run) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the training history");
  TrainingHistory h;
  h.run = run;
  h.source = path;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "line " + std::to_string(number);
    try {
      const json j = json::parse(line);
      EpochRecord e;
      e.epoch = j.at("epoch").get<int>();
      const json& t = j.at("train");
      e.loss = t.at("loss").get<double>();
      e.accuracy = t.at("accuracy").get<double>();
      e.dead_fraction = t.at("dead_fraction").get<std::vector<double>>();
      if (j.contains("test")) e.test_accuracy = j["test"].at("accuracy").get<double>();
      h.epochs.push_back(std::move(e));
    } catch (const json::exception& e) {
      throw FormatError(path,
                        where + " is not an epoch of resid train --json (" + std::string(e.what()) + ")");
    }
  }
  if (h.epochs.empty())
    throw FormatError(path, "holds no epochs (resid train --json writes one line per epoch)");
  return h;
}

Section training_section(const std::vector<TrainingHistory>& runs) {
  if (runs.empty()) throw InputError("training section: no training runs given");
  const size_t layers = runs.front().epochs.empty() ? 0 : runs.front().epochs.front().dead_fraction.size();
  for (const TrainingHistory& r : runs) {
    if (r.epochs.empty()) throw InputError(r.source + ": training run '" + r.run + "' has no epochs");
    for (const EpochRecord& e : r.epochs)
      if (e.dead_fraction.size() != layers)
        throw InputError(r.source + ": training run '" + r.run + "' has " +
                         std::to_string(e.dead_fraction.size()) + " hidden layers at epoch " +
                         std::to_string(e.epoch) + ", the first run " + std::to_string(layers));
  }
  Section sec;
  sec.id = "training";
  sec.title = "Training and dying ReLUs";
  sec.intro =
      "Loss, accuracy and dead neurons epoch by epoch. A ReLU is dead when it is off (pre-activation ≤ 0) on "
      "every "
      "training example: it then passes no gradient to its weights and cannot come back. A learning rate too "
      "large kicks units into that state in the first steps; they stay dead for the rest of the run.";
  for (const TrainingHistory& r : runs) sec.sources.emplace_back(r.run, r.source);

  sec.charts.push_back(curve_chart(
      "Training loss", runs, "loss", "mean training loss", true, "",
      "Loss on the whole training set after each epoch (epoch 0: the initial model; log scale)."));
  sec.charts.push_back(curve_chart("Training accuracy", runs, "accuracy", "training accuracy", false, ".0%",
                                   "Accuracy on the training set after each epoch."));
  bool have_test = false;
  for (const TrainingHistory& r : runs)
    for (const EpochRecord& e : r.epochs) have_test = have_test || e.test_accuracy >= 0;
  if (have_test)
    sec.charts.push_back(curve_chart("Test accuracy", runs, "test_accuracy", "test accuracy", false, ".0%",
                                     "Accuracy on held-out examples after each epoch."));

  json values = json::array();
  for (const TrainingHistory& r : runs)
    for (const EpochRecord& e : r.epochs)
      for (size_t l = 0; l < layers; ++l)
        values.push_back({{"run", r.run},
                          {"epoch", e.epoch},
                          {"layer", "layer " + std::to_string(l)},
                          {"dead", e.dead_fraction[l]}});
  json spec = vega_lite_spec("dead fraction by epoch", values);
  spec["width"] = kWidth;
  spec["height"] = kHeight;
  json y = channel("dead", "quantitative", "dead ReLUs (fraction of the layer)");
  y["axis"] = {{"format", ".0%"}};
  y["scale"] = {{"domain", {0, 1}}};
  spec["mark"] = {{"type", "line"}, {"point", true}, {"tooltip", true}};
  // Layers differ by point shape as well as by dash: the points sit close together and hide the dashes, and
  // the legend shows a point (with points on the line its symbol is one), so a dash alone did not tell the
  // layers apart there.
  const json layer = channel("layer", "nominal", "hidden layer");
  spec["encoding"] = {
      {"x", channel("epoch", "quantitative", "epoch")},
      {"y", y},
      {"color", run_colour(runs)},
      {"strokeDash", layer},
      {"shape", layer},
      {"tooltip",
       {tooltip("run", "nominal", "run"), tooltip("layer", "nominal", "layer"),
        tooltip("epoch", "quantitative", "epoch"), tooltip("dead", "quantitative", "dead", ".1%")}}};
  sec.charts.push_back(
      {"Dead ReLUs by epoch", spec,
       "Fraction of each hidden layer's units that were off on every training example, after each "
       "epoch; one point shape and line style per layer."});
  return sec;
}

}  // namespace resid
