#include "hooks/interventions.h"

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/tensor.h"

namespace resid {

namespace {

// Visits every last-axis row of an activation with its (batch, position, head) coordinates, honouring a
// Selection. Works for [batch, pos, d], [batch, pos, heads, d], [batch, heads, q_pos, k_pos] and the MLP
// family's [batch, d] (position 0).
template <typename RowFn>
void for_each_selected_row(const ActivationView& act, const Selection& sel, RowFn fn) {
  const std::vector<int64_t>& s = act.shape;
  const int rank = static_cast<int>(s.size());
  const int64_t width = s.back();
  const int pos_axis = act.position_axis();  // -1 for the MLP family's [batch, d]
  const int h_axis = act.head_axis();
  if (!sel.heads.empty() && h_axis < 0)
    throw InputError(hook_name(act.point.site, act.point.layer) + " has no head axis to select heads from");
  const std::string name = hook_name(act.point.site, act.point.layer);
  if (h_axis >= 0)
    for (int h : sel.heads)
      if (h < 0 || h >= s[h_axis])
        throw InputError("head " + std::to_string(h) + " is outside " + name + "'s " +
                         std::to_string(s[h_axis]) + " heads");
  // Positions are checked against this run (a KV-cached step sees only its new positions, so not there).
  if (pos_axis >= 0 && act.start_pos == 0)
    for (int p : sel.positions)
      if (p >= s[pos_axis] || p < -s[pos_axis])
        throw InputError("position " + std::to_string(p) + " is outside " + name + "'s " +
                         std::to_string(s[pos_axis]) + " positions");
  for (int n : sel.neurons)
    if (n < 0 || n >= width)
      throw InputError("neuron " + std::to_string(n) + " is outside " +
                       hook_name(act.point.site, act.point.layer) + "'s last axis of size " +
                       std::to_string(width));
  const int64_t n_rows = act.numel() / width;
  for (int64_t row = 0; row < n_rows; ++row) {
    // Unravel row into coordinates over the leading axes.
    int64_t rest = row;
    std::vector<int64_t> coord(rank - 1);
    for (int i = rank - 2; i >= 0; --i) {
      coord[i] = rest % s[i];
      rest /= s[i];
    }
    const int b = static_cast<int>(coord[0]);
    const int pos = pos_axis >= 0 ? static_cast<int>(coord[pos_axis]) : 0;
    const int head = h_axis >= 0 ? static_cast<int>(coord[h_axis]) : -1;
    if (!sel.heads.empty() && std::find(sel.heads.begin(), sel.heads.end(), head) == sel.heads.end())
      continue;
    if (!sel.positions.empty()) {
      const int length = act.lengths ? (*act.lengths)[b] : 1;
      const int absolute = static_cast<int>(act.start_pos) + pos;
      bool hit = false;
      for (int p : sel.positions) hit |= (p >= 0 ? p == absolute : length + p == pos);
      if (!hit) continue;
    }
    fn(act.data + row * width, row, width, b);
  }
}

void for_each_selected_value(
    const ActivationView& act, const Selection& sel,
    const std::function<void(float& value, int64_t row, int64_t column, int b)>& fn) {
  for_each_selected_row(act, sel, [&](float* r, int64_t row, int64_t width, int b) {
    if (sel.neurons.empty()) {
      for (int64_t j = 0; j < width; ++j) fn(r[j], row, j, b);
    } else {
      for (int n : sel.neurons) fn(r[n], row, n, b);
    }
  });
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

HookFn zero_ablation(Selection selection) {
  return [selection](ActivationView& act) {
    for_each_selected_value(act, selection, [](float& v, int64_t, int64_t, int) { v = 0.0f; });
  };
}

HookFn mean_ablation(std::vector<float> mean, Selection selection) {
  auto shared = std::make_shared<const std::vector<float>>(std::move(mean));
  return [shared, selection](ActivationView& act) {
    const std::vector<float>& m = *shared;
    const int64_t width = act.shape.back();
    const int64_t per_batch = act.numel() / act.shape[0];
    const bool per_feature = static_cast<int64_t>(m.size()) == width;
    if (!per_feature && static_cast<int64_t>(m.size()) != per_batch)
      throw InputError("mean for " + hook_name(act.point.site, act.point.layer) + " has " +
                       std::to_string(m.size()) + " values, expected " + std::to_string(width) +
                       " (per feature) or " + std::to_string(per_batch));
    for_each_selected_value(act, selection, [&](float& v, int64_t row, int64_t col, int) {
      v = per_feature ? m[col] : m[(row * width + col) % per_batch];
    });
  };
}

HookFn patch_from(const StoredActivation& source, Selection selection) {
  auto src = std::make_shared<const StoredActivation>(source);
  return [src, selection](ActivationView& act) {
    const bool broadcast = src->shape.size() == act.shape.size() && src->shape[0] == 1 &&
                           std::equal(src->shape.begin() + 1, src->shape.end(), act.shape.begin() + 1);
    if (src->shape != act.shape && !broadcast)
      throw InputError("patch source for " + hook_name(act.point.site, act.point.layer) + " has shape " +
                       shape_string(src->shape) + ", target has " + shape_string(act.shape) +
                       " (runs must have the same number of tokens)");
    const int64_t per_batch = act.numel() / act.shape[0];
    const int64_t width = act.shape.back();
    for_each_selected_value(act, selection, [&](float& v, int64_t row, int64_t col, int) {
      const int64_t index = row * width + col;
      v = src->values[broadcast ? index % per_batch : index];
    });
  };
}

HookFn steering(std::vector<float> vector, float scale, Selection selection) {
  auto shared = std::make_shared<const std::vector<float>>(std::move(vector));
  return [shared, scale, selection](ActivationView& act) {
    const int64_t width = act.shape.back();
    if (static_cast<int64_t>(shared->size()) != width)
      throw InputError("steering vector has " + std::to_string(shared->size()) + " values but " +
                       hook_name(act.point.site, act.point.layer) + "'s last axis is " +
                       std::to_string(width));
    for_each_selected_value(act, selection,
                            [&](float& v, int64_t, int64_t col, int) { v += scale * (*shared)[col]; });
  };
}

std::vector<float> feature_mean(const StoredActivation& a) {
  const int64_t width = a.shape.back();
  std::vector<double> sum(width, 0.0);
  int64_t count = 0;
  const int64_t rows = numel(a.shape) / width;
  const int64_t n_pos = a.shape.size() >= 3 ? a.shape[1] : 1;
  const int64_t rows_per_pos = a.shape.size() >= 3 ? rows / (a.shape[0] * n_pos) : 1;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = r / (n_pos * rows_per_pos), pos = (r / rows_per_pos) % n_pos;
    if (!a.lengths.empty() && a.shape.size() >= 3 && pos >= a.lengths[b]) continue;  // padding
    for (int64_t j = 0; j < width; ++j) sum[j] += a.values[r * width + j];
    ++count;
  }
  std::vector<float> mean(width);
  for (int64_t j = 0; j < width; ++j) mean[j] = static_cast<float>(sum[j] / std::max<int64_t>(count, 1));
  return mean;
}

}  // namespace resid
