// The "training" section: loss, accuracy and the fraction of dead ReLUs per layer, epoch by epoch, for one
// or more training runs side by side (e.g. a healthy learning rate and one that kills neurons), so the
// dying-ReLU story is a picture of real runs.
#pragma once
#include <string>
#include <vector>

#include "reports/report.h"

namespace resid {

struct EpochRecord {
  int epoch = 0;
  double loss = 0;      // mean training loss over the epoch
  double accuracy = 0;  // on the training set (or < 0 when not measured)
  double test_accuracy = -1;
  std::vector<double> dead_fraction;  // [hidden layers]: units never on over the training set
};

struct TrainingHistory {
  std::string run;  // the legend's name for this run ("lr 0.01", "lr 1.0")
  std::string source;
  std::vector<EpochRecord> epochs;
};

// Reads the lines `resid train --json` prints (one object per epoch: {"epoch", "train": {"loss", "accuracy",
// "dead_fraction"}, "test": {...}}). FormatError naming the file and line for anything else.
TrainingHistory read_training_history(const std::string& path, const std::string& run);

// InputError when there are no runs, a run has no epochs, or runs of one section have different numbers of
// hidden layers.
Section training_section(const std::vector<TrainingHistory>& runs);

}  // namespace resid
