#include "train/covering_init.h"

#include "train/evaluate.h"
#include "train/init_mlp.h"

namespace resid::train {

uint64_t init_draw_seed(uint64_t seed, int draw) {
  if (draw == 0) return seed;
  return seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(draw) + 0x13198a2e03707344ull;
}

CoveringInit covering_init(const std::vector<int>& widths, ActFn act_fn, const std::string& scheme,
                           uint64_t seed, const PointSet& train, int max_redraws) {
  CoveringInit best{init_mlp(widths, act_fn, scheme, seed), 0, 0};
  if (act_fn != ActFn::ReLU || widths.size() < 3) return best;  // no hidden ReLU layer
  best.uncovered = evaluate(best.params, train, LossKind::CrossEntropy).uncovered;
  for (int draw = 1; draw <= max_redraws && best.uncovered > 0; ++draw) {
    MlpParams<float> params = init_mlp(widths, act_fn, scheme, init_draw_seed(seed, draw));
    const int64_t uncovered = evaluate(params, train, LossKind::CrossEntropy).uncovered;
    if (uncovered < best.uncovered) best = CoveringInit{std::move(params), draw, uncovered};
  }
  return best;
}

}  // namespace resid::train
