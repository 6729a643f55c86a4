#include "reports/activation_stats.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "core/error.h"
#include "core/hook_site.h"
#include "reports/vega_spec.h"

namespace resid {

using nlohmann::json;

namespace {

// The hooks this section reads, with the short name the charts use for them.
struct StatSite {
  HookSite site;
  const char* label;
};
constexpr StatSite kStatSites[] = {{HookSite::Embed, "embed"},        {HookSite::ResidPre, "resid_pre"},
                                   {HookSite::ResidMid, "resid_mid"}, {HookSite::ResidPost, "resid_post"},
                                   {HookSite::AttnOut, "attn_out"},   {HookSite::MlpOut, "mlp_out"}};
// A plain MLP has no residual stream: its layers are the input, each hidden layer's pre- and post-activation,
// and the output logits.
constexpr StatSite kMlpStatSites[] = {{HookSite::Embed, "input"},
                                      {HookSite::MlpPre, "mlp_pre"},
                                      {HookSite::MlpPost, "mlp_post"},
                                      {HookSite::UnembedOut, "logits"}};

// A capture of a plain MLP (capture/capture_mlp.h) says so in its model config.
bool is_mlp_capture(const ActivationReader& r) {
  const nlohmann::json c = nlohmann::json::parse(r.summary().info.model_config_json, nullptr, false);
  return c.is_object() && c.value("family", "") == "mlp";
}

std::span<const StatSite> stat_sites(bool mlp) {
  if (mlp) return kMlpStatSites;
  return kStatSites;
}

const char* site_label(std::span<const StatSite> sites, const HookDatasetSpec& spec) {
  for (const StatSite& s : sites)
    if (hook_name(s.site, spec.layer) == spec.hook) return s.label;
  return nullptr;
}

constexpr int64_t kChunkBytes = int64_t{32} << 20;  // activations read per block of rows

HookStats stats_of(const ActivationReader& r, const HookDatasetSpec& spec, const char* label) {
  HookStats st{spec.hook, label, spec.layer};
  const std::vector<int64_t>& shape = spec.row_shape;  // [n_pos, d] (per position), [k, d] or [d]
  const int64_t d = shape.back();
  int64_t row_elems = 1;
  for (int64_t s : shape) row_elems *= s;
  const bool per_position = spec.reduction == "none" && shape.size() == 2;
  const int64_t chunk = std::max<int64_t>(1, kChunkBytes / (row_elems * 4));
  double sum = 0, sum_sq = 0, rms_sum = 0;  // double: sums over millions of values
  float max_abs = 0;
  std::vector<float> x;  // [rows, row_shape...]
  std::vector<int32_t> tokens, lengths;
  for (int64_t first = 0; first < r.rows(); first += chunk) {
    const int64_t n = std::min(chunk, r.rows() - first);
    r.read_rows(spec.hook, first, n, &x);
    if (per_position) r.read_tokens(first, n, &tokens, &lengths);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t vectors = per_position ? lengths[i] : row_elems / d;
      for (int64_t v = 0; v < vectors; ++v) {
        const float* p = x.data() + i * row_elems + v * d;
        double s = 0, sq = 0;
        for (int64_t j = 0; j < d; ++j)
          s += p[j], sq += double(p[j]) * p[j], max_abs = std::max(max_abs, std::fabs(p[j]));
        sum += s, sum_sq += sq, rms_sum += std::sqrt(sq / double(d));
        ++st.vectors;
      }
    }
  }
  const double count = double(st.vectors) * double(d);
  st.mean = sum / count;
  st.std = std::sqrt(std::max(0.0, sum_sq / count - st.mean * st.mean));
  st.rms = rms_sum / double(st.vectors);
  st.max_abs = max_abs;
  return st;
}

}  // namespace

std::vector<HookStats> activation_stats(const ActivationReader& r) {
  if (r.rows() == 0) throw InputError(r.path() + ": holds no committed rows");
  const bool mlp = is_mlp_capture(r);
  std::vector<HookStats> out;
  int last_layer = -1;
  for (const HookDatasetSpec& spec : r.summary().hook_specs)
    if (const char* label = site_label(stat_sites(mlp), spec)) {
      out.push_back(stats_of(r, spec, label));
      last_layer = std::max(last_layer, spec.layer);
    }
  // An MLP's logits come after its last hidden layer.
  for (HookStats& h : out)
    if (mlp && h.site == std::string("logits")) h.layer = last_layer + 1;
  if (out.empty())
    throw InputError(r.path() + (mlp ? ": holds none of the hooks activation statistics read (hook_embed, "
                                       "blocks.*.mlp.hook_pre/post, unembed.hook_out)"
                                     : ": holds none of the hooks activation statistics read (hook_embed, "
                                       "blocks.*.hook_resid_pre/mid/post, blocks.*.hook_attn_out, "
                                       "blocks.*.hook_mlp_out)"));
  return out;
}

std::vector<std::pair<std::string, std::string>> capture_sources(const ActivationReader& r) {
  const ActivationFileSummary& s = r.summary();
  return {{"capture", r.path()},
          {"model", s.info.model_path + "  (sha256 " + s.info.model_sha256.substr(0, 16) + "…)"},
          {"dataset", s.info.dataset_path + "  (" + s.info.dataset_description + ")"},
          {"rows", std::to_string(s.committed_rows) + " of " + std::to_string(s.rows) +
                       (s.complete ? " (complete)" : " (capture not finished: committed rows only)")},
          {"positions", s.info.positions}};
}

Section activation_stats_section(const ActivationReader& r) {
  const std::vector<HookStats> stats = activation_stats(r);
  const bool mlp = is_mlp_capture(r);
  json values = json::array();
  for (const HookStats& s : stats)
    values.push_back({{"hook", s.hook},
                      {"site", s.site},
                      {"layer", s.layer},
                      {"layer_label", mlp && s.site == "logits" ? std::string("out")
                                      : mlp && s.layer < 0      ? std::string("in")
                                                                : layer_label(s.layer)},
                      {"vectors", s.vectors},
                      {"mean", s.mean},
                      {"std", s.std},
                      {"rms", s.rms},
                      {"max_abs", s.max_abs}});
  Section sec;
  sec.id = "activation-stats";
  sec.title = "Activation statistics by layer";
  sec.intro =
      mlp ? "Mean, standard deviation (over every element) and RMS norm (sqrt of the mean square of each "
            "activation vector, averaged over vectors) of a plain MLP's input, each hidden layer before "
            "(mlp_pre) and after (mlp_post) its activation function, and the output logits, over every "
            "example of the capture. Activations that explode or collapse with depth show here."
          : "Mean, standard deviation (over every element) and RMS norm (sqrt of the mean square of each "
            "activation vector, averaged over vectors) of the residual stream and each sublayer's output, "
            "over every real (non-padding) position of the capture. A residual stream whose norm explodes "
            "or collapses with depth shows here.";
  sec.sources = capture_sources(r);
  json spec = vega_lite_spec("activation statistics by layer", values);
  json x = channel("layer_label", "ordinal", "layer");
  x["sort"] = {{"field", "layer"}, {"op", "min"}};
  x["axis"] = {{"labelAngle", 0}};
  json color = channel("site", "nominal", "hook");
  color["scale"] = {{"domain", json::array()}};
  for (const StatSite& s : stat_sites(mlp)) color["scale"]["domain"].push_back(s.label);
  spec["repeat"] = {"rms", "std", "mean"};
  spec["columns"] = 3;
  spec["spec"] = {
      {"width", 300},
      {"height", 220},
      {"mark", {{"type", "line"}, {"point", true}, {"tooltip", true}}},
      {"encoding",
       {{"x", x},
        {"y", {{"field", {{"repeat", "repeat"}}}, {"type", "quantitative"}, {"scale", {{"zero", false}}}}},
        {"color", color},
        {"tooltip",
         {tooltip("hook", "nominal", "hook"), tooltip("mean", "quantitative", "mean", ".4~g"),
          tooltip("std", "quantitative", "std", ".4~g"), tooltip("rms", "quantitative", "RMS norm", ".4~g"),
          tooltip("max_abs", "quantitative", "max |x|", ".4~g"),
          tooltip("vectors", "quantitative", "vectors", ",")}}}}};
  sec.charts.push_back({"RMS norm, std and mean by layer", spec,
                        "One line per hook kind; hover a point for the hook name and all its statistics."});
  std::vector<std::string> missing;
  for (const StatSite& s : stat_sites(mlp))
    if (std::none_of(stats.begin(), stats.end(), [&](const HookStats& h) { return h.site == s.label; }))
      missing.push_back(s.label);
  if (!missing.empty()) {
    std::string m = "The capture holds no ";
    for (size_t i = 0; i < missing.size(); ++i) m += (i ? ", " : "") + missing[i];
    sec.notes.push_back(m + " hooks, so they are not shown.");
  }
  return sec;
}

}  // namespace resid
