#include "reports/census_section.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "reports/vega_spec.h"

namespace resid {

using nlohmann::json;

namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string id_text(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
  return s.empty() ? "none" : s;
}

// "Rare" on the map and in the lists: below the largest --rare density.
double largest_rare_density(const CensusResult& c) {
  const std::vector<double>& r = c.options.rare_densities;
  return r.empty() ? 0.0 : *std::max_element(r.begin(), r.end());
}

Chart dead_fraction_chart(const CensusResult& c, double rare_below) {
  json values = json::array();
  for (const LayerCensus& l : c.layers) {
    const size_t dead = l.dead_ids().size();
    values.push_back({{"layer", l.layer},
                      {"hook", l.hook},
                      {"neurons", l.width()},
                      {"dead", dead},
                      {"dead_fraction", l.width() ? double(dead) / l.width() : 0.0},
                      {"rare", l.rare_count(rare_below)},
                      {"tokens", l.n_tokens}});
  }
  json spec = vega_lite_spec("dead fraction per layer", values);
  spec["width"] = std::max<int>(240, 48 * static_cast<int>(c.layers.size()));
  spec["height"] = 200;
  json y = channel("dead_fraction", "quantitative", "dead neurons (fraction of the layer)");
  y["axis"] = {{"format", ".1%"}};
  double most = 0;
  for (const json& v : values) most = std::max(most, v["dead_fraction"].get<double>());
  y["scale"] = {{"domain", {0, std::max(0.05, most * 1.15)}}};  // an all-alive model still shows an axis
  json x = channel("layer", "ordinal", "layer");
  x["axis"] = {{"labelAngle", 0}};
  json bar = {{"mark", {{"type", "bar"}, {"color", "#cf222e"}, {"tooltip", true}}}};
  json label = {{"mark", {{"type", "text"}, {"dy", -8}, {"fontSize", 11}}},
                {"encoding", {{"text", {{"field", "label"}, {"type", "nominal"}}}}}};
  for (json& v : values)
    v["label"] = std::to_string(v["dead"].get<size_t>()) + " / " + std::to_string(v["neurons"].get<int>());
  spec["data"]["values"] = values;
  spec["layer"] = {bar, label};
  spec["encoding"] = {{"x", x},
                      {"y", y},
                      {"tooltip",
                       {tooltip("hook", "nominal", "hook"), tooltip("dead", "quantitative", "dead"),
                        tooltip("neurons", "quantitative", "neurons"),
                        tooltip("dead_fraction", "quantitative", "dead", ".2%"),
                        tooltip("rare", "quantitative", "rare (< " + fmt("%g", rare_below) + ")"),
                        tooltip("tokens", "quantitative", "tokens counted", ",")}}};
  return {"Dead neurons per layer", spec,
          "A neuron is dead when it never fired over the data. Bars are labelled dead / neurons."};
}

Chart histogram_chart(const CensusResult& c) {
  const std::vector<double> edges = c.options.histogram_edges_log10();
  json values = json::array();
  for (const LayerCensus& l : c.layers) {
    const std::vector<int64_t> h = l.histogram(c.options);
    for (size_t b = 0; b < h.size(); ++b)
      values.push_back({{"layer", l.layer},
                        {"bin", b},
                        {"from", edges[b]},
                        {"to", edges[b + 1]},
                        {"bin_label", fmt("%.1f", edges[b])},
                        {"neurons", h[b]},
                        {"range", (b == 0 ? std::string("< ") : "1e" + fmt("%.1f", edges[b]) + " – ") + "1e" +
                                      fmt("%.1f", edges[b + 1])}});
  }
  json spec = vega_lite_spec("firing-density histogram", values);
  spec["width"] = 36 * static_cast<int>(edges.size() - 1);
  spec["height"] = std::max<int>(60, 28 * static_cast<int>(c.layers.size()));
  json x = channel("bin_label", "ordinal", "log10 firing density (bin start)");
  x["sort"] = {{"field", "bin"}, {"op", "min"}};
  x["axis"] = {{"labelAngle", 0}};
  json color = channel("neurons", "quantitative", "alive neurons");
  color["scale"] = {{"scheme", "blues"}, {"type", "symlog"}};
  color["condition"] = {{"test", "datum.neurons == 0"}, {"value", "#f6f8fa"}};
  const json enc = {{"x", x}, {"y", channel("layer", "ordinal", "layer")}};
  json rect = {{"mark", {{"type", "rect"}, {"tooltip", true}}},
               {"encoding",
                {{"color", color},
                 {"tooltip",
                  {tooltip("layer", "ordinal", "layer"), tooltip("range", "nominal", "firing density"),
                   tooltip("neurons", "quantitative", "alive neurons")}}}}};
  json text = {{"mark", {{"type", "text"}, {"fontSize", 10}}},
               {"transform", {{{"filter", "datum.neurons > 0"}}}},
               {"encoding", {{"text", channel("neurons", "quantitative", "")}}}};
  spec["encoding"] = enc;
  spec["layer"] = {rect, text};
  return {
      "Firing-density histogram", spec,
      "Alive neurons per half-decade of firing density (the fraction of tokens a neuron fires on); the first "
      "bin also takes lower densities. Dead neurons are not in it."};
}

Chart neuron_map_chart(const CensusResult& c, double rare_below, size_t* drawn, size_t* total) {
  json values = json::array();
  *total = 0;
  for (const LayerCensus& l : c.layers)
    for (int j = 0; j < l.width(); ++j) {
      const bool dead = l.fires[j] == 0;
      if (!dead && !(l.density(j) < rare_below)) continue;
      ++*total;
      if (values.size() >= kMaxNeuronPoints) continue;
      values.push_back({{"layer", l.layer},
                        {"neuron", j},
                        {"status", dead ? "dead" : "rare"},
                        {"fires", l.fires[j]},
                        {"density", l.density(j)},
                        {"max", l.max[j]}});
    }
  *drawn = values.size();
  json spec = vega_lite_spec("dead and rare neurons by id", values);
  spec["width"] = 900;
  spec["height"] = std::max<int>(80, 30 * static_cast<int>(c.layers.size()));
  spec["params"] = {zoom_x_param()};
  json x = channel("neuron", "quantitative", "neuron id");
  x["scale"] = {{"domain", {0, c.layers.empty() ? 1 : c.layers.front().width()}}};
  json color = channel("status", "nominal", "status");
  color["scale"] = {{"domain", {"dead", "rare"}}, {"range", {"#cf222e", "#bf8700"}}};
  spec["mark"] = {{"type", "tick"}, {"thickness", 2}, {"tooltip", true}};
  spec["encoding"] = {
      {"x", x},
      {"y", channel("layer", "ordinal", "layer")},
      {"color", color},
      {"tooltip",
       {tooltip("layer", "ordinal", "layer"), tooltip("neuron", "quantitative", "neuron id"),
        tooltip("status", "nominal", "status"), tooltip("fires", "quantitative", "fires", ","),
        tooltip("density", "quantitative", "density", ".3~g"),
        tooltip("max", "quantitative", "max value", ".3~g")}}};
  return {"Dead and rare neurons by id", spec,
          "Each tick is one neuron: dead (never fired) or rare (fired on fewer than " +
              fmt("%g", rare_below) + " of the tokens). Drag to pan, scroll to zoom, double-click to reset."};
}

}  // namespace

Section census_section(const CensusResult& c, const std::string& path) {
  Section sec;
  sec.id = "census";
  sec.title = "Dead-neuron census";
  sec.intro = "How much of the MLP never fires, and where. Firing rule: " + c.rule_description() + ".";
  sec.sources = {{"census file", path},
                 {"model or capture", c.source},
                 {"counted over", c.data + " (" + std::to_string(c.n_examples) + " examples" +
                                      (c.partial ? ", an unfinished capture" : "") + ")"},
                 {"FFN", c.ffn}};
  if (c.n_labelled > 0)
    sec.sources.emplace_back("accuracy", fmt("%.4f", c.accuracy()) + " (" + std::to_string(c.n_correct) +
                                             " of " + std::to_string(c.n_labelled) + " correct)");
  const double rare_below = largest_rare_density(c);
  sec.charts.push_back(dead_fraction_chart(c, rare_below));
  sec.charts.push_back(histogram_chart(c));
  size_t drawn = 0, total = 0;
  Chart map = neuron_map_chart(c, rare_below, &drawn, &total);
  if (total == 0)
    sec.notes.push_back("No neuron is dead or rare (below " + fmt("%g", rare_below) + ") in any layer.");
  else
    sec.charts.push_back(std::move(map));
  if (drawn < total)
    sec.notes.push_back("The neuron map draws the first " + std::to_string(drawn) + " of " +
                        std::to_string(total) + " dead or rare neurons; the lists below are complete.");
  for (const LayerCensus& l : c.layers) {
    std::vector<int32_t> rare;
    for (int j = 0; j < l.width(); ++j)
      if (l.fires[j] > 0 && l.density(j) < rare_below) rare.push_back(j);
    const std::vector<int32_t> dead = l.dead_ids();
    sec.lists.push_back({"layer " + std::to_string(l.layer) + ": " + std::to_string(dead.size()) + " dead, " +
                             std::to_string(rare.size()) + " rare (< " + fmt("%g", rare_below) + ")",
                         "dead: " + id_text(dead) + "\nrare: " + id_text(rare)});
  }
  return sec;
}

}  // namespace resid
