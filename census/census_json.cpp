#include "census/census_json.h"

namespace resid {

nlohmann::json census_to_json(const CensusResult& r) {
  using nlohmann::json;
  json j;
  j["source"] = r.source;
  j["data"] = r.data;
  j["n_examples"] = r.n_examples;
  j["partial"] = r.partial;
  j["ffn"] = r.ffn;
  j["firing_rule"] = firing_rule_name(r.rule);
  j["firing_rule_description"] = r.rule_description();
  j["hook_site"] = hook_site_info(firing_hook_site(r.rule)).suffix;
  j["threshold"] = r.options.threshold;
  if (r.n_labelled > 0) {
    j["accuracy"] = r.accuracy();
    j["n_labelled"] = r.n_labelled;
    j["n_correct"] = r.n_correct;
  }
  j["rare_densities"] = r.options.rare_densities;
  j["histogram_edges_log10"] = r.options.histogram_edges_log10();
  json layers = json::array();
  for (const LayerCensus& l : r.layers) {
    const std::vector<int32_t> dead = l.dead_ids();
    json rare = json::array();
    for (double d : r.options.rare_densities) rare.push_back({{"below", d}, {"count", l.rare_count(d)}});
    layers.push_back({{"layer", l.layer},
                      {"hook", l.hook},
                      {"n_tokens", l.n_tokens},
                      {"n_neurons", l.width()},
                      {"dead", dead.size()},
                      {"dead_fraction", l.width() ? double(dead.size()) / l.width() : 0.0},
                      {"rare", rare},
                      {"histogram", l.histogram(r.options)},
                      {"dead_ids", dead}});
  }
  j["layers"] = layers;
  return j;
}

}  // namespace resid
