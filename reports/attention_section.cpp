#include "reports/attention_section.h"

#include <algorithm>

#include "core/hook_site.h"
#include "reports/vega_spec.h"

namespace resid {

using nlohmann::json;

namespace {

Chart layer_chart(int layer, const StoredActivation& pattern, const PromptRun& run) {
  const int n = static_cast<int>(run.tokens.size());
  const int heads = static_cast<int>(pattern.shape[1]);  // [1, n_heads, q_pos, k_pos]
  json values = json::array();
  for (int h = 0; h < heads; ++h)
    for (int q = 0; q < n; ++q)
      for (int k = 0; k <= q; ++k)  // causal: later keys are masked to 0
        values.push_back({{"head", h},
                          {"q", q},
                          {"k", k},
                          {"query", run.labels[q]},
                          {"key", run.labels[k]},
                          {"weight", pattern.values[(size_t(h) * n + q) * n + k]}});
  json spec = vega_lite_spec("attention patterns of layer " + std::to_string(layer), values);
  const int cell = std::clamp(220 / n, 6, 18);  // pixels per token: about 220 px per head
  json x = channel("key", "ordinal", "key");
  x["sort"] = {{"field", "k"}, {"op", "min"}};
  x["axis"] = {{"labelAngle", -60}, {"labelLimit", 90}};
  json y = channel("query", "ordinal", "query");
  y["sort"] = {{"field", "q"}, {"op", "min"}};
  y["axis"] = {{"labelLimit", 90}};
  json color = channel("weight", "quantitative", "attention");
  color["scale"] = {{"domain", {0, 1}}, {"scheme", "purples"}};
  json facet = channel("head", "ordinal", "head");
  facet["header"] = {{"labelExpr", "'head ' + datum.value"}, {"title", nullptr}};
  spec["facet"] = facet;
  spec["columns"] = std::max(1, std::min(heads, 1150 / (cell * n + 110)));
  spec["resolve"] = {{"axis", {{"x", "independent"}, {"y", "independent"}}}};
  spec["spec"] = {
      {"width", cell * n},
      {"height", cell * n},
      {"mark", {{"type", "rect"}, {"tooltip", true}}},
      {"encoding",
       {{"x", x},
        {"y", y},
        {"color", color},
        {"tooltip",
         {tooltip("head", "ordinal", "head"), tooltip("query", "nominal", "query token"),
          tooltip("key", "nominal", "key token"), tooltip("weight", "quantitative", "attention", ".3f")}}}}};
  return {"Layer " + std::to_string(layer), spec, ""};
}

}  // namespace

Section attention_section(const Config& config, const PromptRun& run) {
  Section sec;
  sec.id = "attention";
  sec.title = "Attention patterns";
  sec.intro =
      "Softmax attention weights of every head: row = the query token attending, column = the key token "
      "attended to (each row sums to 1; later keys are masked). Hover a cell for the tokens and weight.";
  for (int l = 0; l < config.n_layers; ++l)
    sec.charts.push_back(layer_chart(l, run.run.cache.at(hook_name(HookSite::AttnPattern, l)), run));
  return sec;
}

}  // namespace resid
