#include "census/neuron_census.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"

namespace resid {

FiringRule firing_rule_for(const Config& config) {
  return config.gated_mlp ? FiringRule::GatePreActivation : FiringRule::PostActivation;
}

HookSite firing_hook_site(FiringRule rule) {
  return rule == FiringRule::GatePreActivation ? HookSite::MlpPre : HookSite::MlpPost;
}

std::string firing_rule_name(FiringRule rule) {
  return rule == FiringRule::GatePreActivation ? "gate_pre_activation" : "post_activation";
}

void CensusOptions::validate() const {
  if (!std::isfinite(threshold))
    throw InputError("threshold " + std::to_string(threshold) + " is not finite");
  for (double d : rare_densities)
    if (!(d > 0 && d <= 1)) throw InputError("rare_densities has " + std::to_string(d) + ", not in (0, 1]");
  if (!(histogram_min_log10 < 0) || histogram_min_log10 < -30 ||
      histogram_min_log10 != std::floor(histogram_min_log10))
    throw InputError("histogram_min_log10 = " + std::to_string(histogram_min_log10) +
                     " must be a negative whole number of decades, at least -30");
  if (bins_per_decade < 1 || bins_per_decade > 100)
    throw InputError("bins_per_decade = " + std::to_string(bins_per_decade) + " must be in [1, 100]");
}

std::vector<double> CensusOptions::histogram_edges_log10() const {
  const int n_bins = static_cast<int>(std::lround(-histogram_min_log10 * bins_per_decade));
  std::vector<double> edges;
  for (int k = 0; k <= n_bins; ++k) edges.push_back(histogram_min_log10 + double(k) / bins_per_decade);
  return edges;
}

LayerCensus::LayerCensus(int layer_, std::string hook_, int width)
    : layer(layer_),
      hook(std::move(hook_)),
      fires(width, 0),
      sum(width, 0.0),
      sum_active(width, 0.0),
      max(width, -std::numeric_limits<float>::infinity()) {}

void LayerCensus::add_rows(const float* rows, int64_t n_rows, double threshold) {
  const int w = width();
  int64_t* __restrict f = fires.data();
  double* __restrict s = sum.data();
  double* __restrict sa = sum_active.data();
  float* __restrict m = max.data();
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* x = rows + r * w;
    // Branch-free so it vectorises; compared in double, so `> threshold` holds exactly for any threshold
    // given.
    for (int j = 0; j < w; ++j) {
      const double v = x[j];
      const bool on = v > threshold;
      s[j] += v;
      m[j] = std::max(m[j], x[j]);
      f[j] += on;
      sa[j] += on ? v : 0.0;
    }
  }
  n_tokens += n_rows;
}

void LayerCensus::add(const ActivationView& act, double threshold) {
  const std::vector<int64_t>& shape = act.shape;
  if (shape.empty() || shape.back() != width())
    throw InputError(hook + ": activation width does not match the census's " + std::to_string(width()) +
                     " neurons");
  if (shape.size() == 2) {
    add_rows(act.data, shape[0], threshold);
    return;
  }
  if (shape.size() != 3) throw InputError(hook + ": expected a [batch, pos, d_mlp] activation");
  const int64_t batch = shape[0], n_pos = shape[1];
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = act.lengths ? std::min<int64_t>((*act.lengths)[b], n_pos) : n_pos;
    add_rows(act.data + b * n_pos * width(), len, threshold);
  }
}

double LayerCensus::density(int j) const {
  return n_tokens ? double(fires[j]) / double(n_tokens) : 0.0;
}
double LayerCensus::mean(int j) const {
  return n_tokens ? sum[j] / double(n_tokens) : 0.0;
}
double LayerCensus::mean_active(int j) const {
  return fires[j] ? sum_active[j] / double(fires[j]) : std::numeric_limits<double>::quiet_NaN();
}

std::vector<int32_t> LayerCensus::dead_ids() const {
  std::vector<int32_t> ids;
  for (int j = 0; j < width(); ++j)
    if (fires[j] == 0) ids.push_back(j);
  return ids;
}

int64_t LayerCensus::rare_count(double density_below) const {
  int64_t n = 0;
  for (int j = 0; j < width(); ++j) n += fires[j] > 0 && density(j) < density_below;
  return n;
}

std::vector<int64_t> LayerCensus::histogram(const CensusOptions& o) const {
  const std::vector<double> edges = o.histogram_edges_log10();
  const int n_bins = static_cast<int>(edges.size()) - 1;
  std::vector<int64_t> counts(n_bins, 0);
  for (int j = 0; j < width(); ++j) {
    if (fires[j] == 0) continue;
    // The 1e-9 puts a density exactly on an edge (1e-3) into the bin it starts despite log10's rounding.
    const double pos = (std::log10(density(j)) - o.histogram_min_log10) * o.bins_per_decade;
    const int bin = std::clamp(static_cast<int>(std::floor(pos + 1e-9)), 0, n_bins - 1);
    ++counts[bin];
  }
  return counts;
}

std::string CensusResult::rule_description() const {
  char t[32];
  std::snprintf(t, sizeof t, "%g", options.threshold);
  const std::string site = hook_site_info(firing_hook_site(rule)).suffix;
  if (rule == FiringRule::GatePreActivation)
    return "a neuron fires when blocks.L." + site + " > " + t + " (the gate pre-activation of the " + ffn +
           " FFN, whose activation is never exactly zero)";
  return "a neuron fires when blocks.L." + site + " > " + t + " (the post-activation of the " + ffn + ")";
}

}  // namespace resid
