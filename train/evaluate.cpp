#include "train/evaluate.h"

#include <algorithm>

#include "train/mlp_backprop.h"

namespace resid::train {

Evaluation evaluate(const MlpParams<float>& params, const PointSet& set, LossKind loss, int64_t chunk_rows) {
  Evaluation e;
  e.n = set.size();
  const std::vector<int> widths = params.widths();
  e.width.assign(widths.begin() + 1, widths.end() - 1);
  std::vector<std::vector<bool>> fired(e.width.size());
  for (size_t l = 0; l < fired.size(); ++l) fired[l].assign(static_cast<size_t>(e.width[l]), false);
  ForwardCache<float> cache;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t first = 0; first < e.n; first += chunk_rows) {
    const int64_t rows = std::min(chunk_rows, e.n - first);
    const Matrix<float> x = set.x.middleRows(first, rows);
    const Matrix<float> out = mlp_forward(params, x, &cache);  // [rows, d_out]
    loss_sum += loss_and_grad<float>(loss, out, set.y.data() + first, nullptr) * double(rows);
    correct += count_correct(out, set.y.data() + first);
    Eigen::Array<bool, Eigen::Dynamic, 1> covered = Eigen::Array<bool, Eigen::Dynamic, 1>::Ones(rows);
    for (size_t l = 0; l < fired.size(); ++l) {
      const Matrix<float>& post = cache.inputs[l + 1];  // [rows, width]: hidden layer l's mlp.hook_post
      const Eigen::Array<bool, 1, Eigen::Dynamic> any = (post.array() > 0.0f).colwise().any();
      for (int j = 0; j < e.width[l]; ++j) fired[l][j] = fired[l][j] || any(j);
      covered = covered && (post.array() > 0.0f).rowwise().any();
    }
    if (params.act_fn == ActFn::ReLU) e.uncovered += rows - covered.count();
  }
  e.loss = e.n ? loss_sum / double(e.n) : 0.0;
  e.accuracy = e.n ? double(correct) / double(e.n) : 0.0;
  for (const std::vector<bool>& f : fired)
    e.dead.push_back(static_cast<int>(std::count(f.begin(), f.end(), false)));
  return e;
}

}  // namespace resid::train
