// A seeded init that every training point can learn from. A point on which every ReLU of a hidden layer is
// off sends no gradient into that layer or any below it, so no unit ever moves to fold it apart from the
// rest: a corner of XOR that starts there stays misclassified (16 of 20 seeds learn XOR with 4 hidden units
// from a plain He draw; the 4 failures are exactly the draws that leave a corner with every ReLU off). A
// point that one ReLU alone sees is one step from the same state: when training turns that unit off on it,
// nothing turns it back on (with "at least one ReLU on", 18 of 20 seeds learnt XOR with 4 units; both
// failures lost a corner that way during training). So the init is redrawn, a bounded number of times,
// until every training point turns on at least two ReLUs of every hidden layer: a spare. A layer of 2 or 3
// units asks for one: its solutions often need points with every unit but one off (two parallel folds
// draw XOR). Wide layers pass on the first draw, which is then the plain draw of init_mlp(seed).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/point_set.h"
#include "train/mlp_params.h"

namespace resid::train {

inline constexpr int kDefaultInitRedraws = 16;

struct CoveringInit {
  MlpParams<float> params;
  int draw = 0;      // 0: the plain draw of init_mlp(seed); k: the k-th redraw
  int64_t thin = 0;  // training points below required_on() in some hidden layer, in the kept draw
};

// ReLUs a training point must turn on in a hidden layer of `width` units: 2, or 1 below 4 units.
int required_on(int width);

// Training points that turn on fewer than required_on(width) ReLUs of some hidden layer of params.
int64_t thinly_covered(const MlpParams<float>& params, const PointSet& train, int64_t chunk_rows = 1024);

// The seed of draw k (draw 0 is `seed` itself, so a draw that covers every point changes nothing).
uint64_t init_draw_seed(uint64_t seed, int draw);

// Draws init_mlp(widths, act_fn, scheme, init_draw_seed(seed, k)) for k = 0, 1, ..., max_redraws and keeps
// the first that leaves no training point thinly covered, else the one that leaves the fewest (the earliest
// on a tie: an input of all zeros with zero biases is never covered, and must not make the draw depend on
// luck).
// Only ReLU layers have an all-off region with no gradient; other activations keep draw 0.
CoveringInit covering_init(const std::vector<int>& widths, ActFn act_fn, const std::string& scheme,
                           uint64_t seed, const PointSet& train, int max_redraws = kDefaultInitRedraws);

}  // namespace resid::train
