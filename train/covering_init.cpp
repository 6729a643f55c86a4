#include "train/covering_init.h"

#include <algorithm>

#include "train/init_mlp.h"
#include "train/mlp_backprop.h"

namespace resid::train {

uint64_t init_draw_seed(uint64_t seed, int draw) {
  if (draw == 0) return seed;
  return seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(draw) + 0x13198a2e03707344ull;
}

int required_on(int width) {
  return std::clamp(width / 2, 1, 2);
}

int64_t thinly_covered(const MlpParams<float>& params, const PointSet& train, int64_t chunk_rows) {
  ForwardCache<float> cache;
  int64_t thin = 0;
  for (int64_t first = 0; first < train.size(); first += chunk_rows) {
    const int64_t rows = std::min(chunk_rows, train.size() - first);
    mlp_forward(params, Matrix<float>(train.x.middleRows(first, rows)), &cache);
    Eigen::Array<bool, Eigen::Dynamic, 1> thin_here = Eigen::Array<bool, Eigen::Dynamic, 1>::Zero(rows);
    for (size_t l = 1; l < cache.inputs.size(); ++l) {
      const Matrix<float>& post = cache.inputs[l];  // [rows, width]: hidden layer l - 1's mlp.hook_post
      const int need = required_on(static_cast<int>(post.cols()));
      thin_here = thin_here || ((post.array() > 0.0f).cast<int>().rowwise().sum() < need);
    }
    thin += thin_here.count();
  }
  return thin;
}

CoveringInit covering_init(const std::vector<int>& widths, ActFn act_fn, const std::string& scheme,
                           uint64_t seed, const PointSet& train, int max_redraws) {
  CoveringInit best{init_mlp(widths, act_fn, scheme, seed), 0, 0};
  if (act_fn != ActFn::ReLU || widths.size() < 3) return best;  // no hidden ReLU layer
  best.thin = thinly_covered(best.params, train);
  for (int draw = 1; draw <= max_redraws && best.thin > 0; ++draw) {
    MlpParams<float> params = init_mlp(widths, act_fn, scheme, init_draw_seed(seed, draw));
    const int64_t thin = thinly_covered(params, train);
    if (thin < best.thin) best = CoveringInit{std::move(params), draw, thin};
  }
  return best;
}

}  // namespace resid::train
