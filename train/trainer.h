// Training a plain MLP on labelled points: seeded init, an epoch-shuffled order, mini-batch steps (forward,
// loss, backward, optimiser), and after every epoch an evaluation of the whole training set (and the test
// set, when given) with its dead neurons. Deterministic: the same options, data and thread count give
// bit-identical parameters and statistics.
//
// A step whose loss is NaN or infinite stops training: the result then holds the parameters of the last epoch
// that ended finite (the initial ones if the first epoch did not), and says at which step the loss diverged.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "datasets/point_set.h"
#include "train/covering_init.h"
#include "train/evaluate.h"
#include "train/init_mlp.h"
#include "train/loss.h"
#include "train/mlp_params.h"
#include "train/optimizer.h"

namespace resid::train {

struct TrainOptions {
  std::vector<int> widths;  // d_in, hidden..., d_out ("2-64-64-3")
  ActFn act_fn = ActFn::ReLU;
  std::string init = kDefaultInit;
  LossKind loss = LossKind::CrossEntropy;
  OptimizerOptions optimizer;
  int batch_size = 32;
  int epochs = 100;
  uint64_t seed = 0;  // init and shuffling
  // Redraws of the init allowed until every training point turns on two ReLUs of every hidden layer, one
  // under 4 units (train/covering_init.h); 0 keeps the plain draw.
  int init_redraws = kDefaultInitRedraws;

  // ConfigError naming the field (batch_size, epochs, lr, ...) or the width.
  void validate() const;
};

// "2-64-64-3" -> {2, 64, 64, 3}; ConfigError for anything else. widths_string is the inverse.
std::vector<int> parse_widths(const std::string& text);
std::string widths_string(const std::vector<int>& widths);

struct EpochStats {
  int epoch = 0;     // 0: the initial model, before any step
  int64_t step = 0;  // optimiser steps taken by the end of this epoch
  Evaluation train;  // the whole training set, after the epoch
  std::optional<Evaluation> test;
};

// Where training stopped because the loss stopped being a finite number.
struct Divergence {
  int64_t step = 0;  // 1-based: the step whose loss was not finite
  int epoch = 0;
  double loss = 0;               // NaN or +-inf
  std::string describe() const;  // "loss became nan at step 37 (epoch 2)"
};

struct StepProgress {
  int epoch = 0;
  int64_t step = 0, steps_per_epoch = 0;
  double epoch_loss = 0;      // mean batch loss so far this epoch
  double epoch_accuracy = 0;  // batch accuracy so far this epoch (before each step's update)
};

struct TrainCallbacks {
  std::function<void(const CoveringInit&)> on_init;  // train_mlp only, before epoch 0
  std::function<void(const EpochStats&)> on_epoch;   // epoch 0 included
  std::function<void(const StepProgress&)> on_step;
};

struct TrainResult {
  MlpParams<float> params;          // after the last finished epoch (the last good ones when diverged)
  std::vector<EpochStats> history;  // epoch 0 .. the last finished epoch
  std::optional<Divergence> diverged;
  int init_draw = 0;  // which draw of covering_init started the run (0 for train_mlp_from)
};

// Checks the data against the model first: InputError when the set's features differ from widths.front(), a
// label is not below widths.back(), or the training set is empty. Then draws the init with covering_init.
TrainResult train_mlp(const PointSet& train, const PointSet* test, const TrainOptions& options,
                      const TrainCallbacks& callbacks = {});

// The same from given parameters instead of init_mlp (options.widths, act_fn and init are then not used).
TrainResult train_mlp_from(MlpParams<float> params, const PointSet& train, const PointSet* test,
                           const TrainOptions& options, const TrainCallbacks& callbacks = {});

}  // namespace resid::train
