#include "train/checkpoint.h"

#include <cstdio>

#include "core/formats/mlp_safetensors.h"

namespace resid::train {

namespace {

nlohmann::json evaluation_to_json(const Evaluation& e) {
  nlohmann::json dead_fraction = nlohmann::json::array();
  for (size_t l = 0; l < e.dead.size(); ++l) dead_fraction.push_back(e.dead_fraction(l));
  return {{"n", e.n},       {"loss", e.loss},           {"accuracy", e.accuracy},
          {"dead", e.dead}, {"uncovered", e.uncovered}, {"dead_fraction", dead_fraction}};
}

std::string summary_of(const nlohmann::json& config, const nlohmann::json& metrics) {
  char line[512];
  std::snprintf(line, sizeof line, "%s %s, %s lr %g, %d epochs, batch %d, seed %llu",
                config.value("widths", "").c_str(), config.value("act_fn", "").c_str(),
                config["optimizer"].value("name", "").c_str(), config["optimizer"].value("lr", 0.0),
                config.value("epochs", 0), config.value("batch_size", 0),
                (unsigned long long)config.value("seed", uint64_t{0}));
  std::string s = line;
  if (config.contains("data")) s += " on " + config["data"].get<std::string>();
  if (metrics.contains("train"))
    s += "; train accuracy " + std::to_string(metrics["train"].value("accuracy", 0.0)).substr(0, 6);
  if (metrics.contains("test"))
    s += ", test accuracy " + std::to_string(metrics["test"].value("accuracy", 0.0)).substr(0, 6);
  if (metrics.contains("stopped")) s += "; stopped: " + metrics["stopped"].get<std::string>();
  return s;
}

}  // namespace

nlohmann::json options_to_json(const TrainOptions& o) {
  return {{"widths", widths_string(o.widths)},
          {"act_fn", act_fn_name(o.act_fn)},
          {"init", o.init},
          {"init_redraws", o.init_redraws},
          {"loss", loss_name(o.loss)},
          {"optimizer",
           {{"name", optimizer_info(o.optimizer.kind).name},
            {"lr", o.optimizer.lr_or_default()},
            {"momentum", o.optimizer.momentum},
            {"beta1", o.optimizer.beta1},
            {"beta2", o.optimizer.beta2},
            {"eps", o.optimizer.eps},
            {"weight_decay", o.optimizer.weight_decay}}},
          {"batch_size", o.batch_size},
          {"epochs", o.epochs},
          {"seed", o.seed}};
}

nlohmann::json run_config_json(const TrainOptions& options, const PointSet& data, const PointSplit& split,
                               uint64_t data_seed, double test_fraction, int threads) {
  nlohmann::json config = options_to_json(options);
  config["data"] = data.source;
  config["data_seed"] = data_seed;
  config["test_fraction"] = test_fraction;
  config["n_train"] = split.train.size();
  config["n_test"] = split.test.size();
  config["threads"] = threads;
  return config;
}

nlohmann::json epoch_to_json(const EpochStats& s) {
  nlohmann::json j = {{"epoch", s.epoch}, {"step", s.step}, {"train", evaluation_to_json(s.train)}};
  if (s.test) j["test"] = evaluation_to_json(*s.test);
  return j;
}

void save_trained_mlp(const std::string& path, const MlpParams<float>& params, const nlohmann::json& config,
                      const nlohmann::json& metrics) {
  save_mlp_safetensors(path, to_mlp(params),
                       {{kMlpTrainConfigKey, config.dump()},
                        {kMlpTrainMetricsKey, metrics.dump()},
                        {kMlpTrainSummaryKey, summary_of(config, metrics)}});
}

}  // namespace resid::train
