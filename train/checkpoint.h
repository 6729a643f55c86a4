// A trained MLP's checkpoint: the .safetensors layout core/formats/mlp_safetensors.h reads (so `resid info`,
// `capture` and `census` take it as it is), with the training configuration and the final metrics as JSON in
// the header metadata (kMlpTrainConfigKey, kMlpTrainMetricsKey) and a one-line summary (kMlpTrainSummaryKey).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "train/trainer.h"

namespace resid::train {

// The options as JSON: every field, the learning rate resolved to the one used.
nlohmann::json options_to_json(const TrainOptions& options);
// What a checkpoint records of a run: options_to_json plus the data it was trained on ("data", "data_seed",
// "test_fraction", "n_train", "n_test") and the thread count (a run repeats bit for bit at the same count).
nlohmann::json run_config_json(const TrainOptions& options, const PointSet& data, const PointSplit& split,
                               uint64_t data_seed, double test_fraction, int threads);

// One epoch's statistics: {"epoch", "step", "train": {"loss", "accuracy", "dead_fraction": [...], "dead":
// [...]}, "test": {...}} (no "test" without a test set).
nlohmann::json epoch_to_json(const EpochStats& stats);

// config: options_to_json plus whatever the caller adds (the data, the thread count); metrics: the last
// epoch's JSON plus "stopped" when training diverged. Written atomically.
void save_trained_mlp(const std::string& path, const MlpParams<float>& params, const nlohmann::json& config,
                      const nlohmann::json& metrics);

}  // namespace resid::train
