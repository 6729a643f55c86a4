// One pass of a model over a labelled set, in chunks: its mean loss, its accuracy, and per hidden layer the
// neurons that never fire on the set. "Fires" is the census's rule (census/neuron_census.h, threshold 0):
// mlp.hook_post > 0 on at least one example; a neuron that never fires is dead. The mirror image: an example
// on which no neuron of a layer fires is uncovered.
#pragma once
#include <cstdint>
#include <vector>

#include "datasets/point_set.h"
#include "train/loss.h"
#include "train/mlp_params.h"

namespace resid::train {

struct Evaluation {
  int64_t n = 0;
  double loss = 0;         // mean over the set (NaN when the model gives NaN)
  double accuracy = 0;     // fraction of argmax == label
  std::vector<int> dead;   // [hidden layers] neurons that never fired
  std::vector<int> width;  // [hidden layers]
  // ReLU models: examples on which every neuron of some hidden layer is off, so no gradient gets in (0 for
  // other activations, whose negative side still passes a gradient).
  int64_t uncovered = 0;
  double dead_fraction(size_t layer) const { return width[layer] ? double(dead[layer]) / width[layer] : 0.0; }
};

// InputError when the set's features or classes do not fit the model.
Evaluation evaluate(const MlpParams<float>& params, const PointSet& set, LossKind loss,
                    int64_t chunk_rows = 1024);

}  // namespace resid::train
