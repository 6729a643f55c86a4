// Small builders for the Vega-Lite specs every section writes, so that the schema, fonts and axis styling are
// set in one place. Specs are nlohmann::json values; data is always inlined ("data": {"values": [...]}).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace resid {

// {"$schema": Vega-Lite v6, "description", "config": resid's look, "data": {"values": values}}.
nlohmann::json vega_lite_spec(const std::string& description, nlohmann::json values);

// An encoding channel: {"field": name, "type": type, "title": title}.
nlohmann::json channel(const std::string& field, const std::string& type, const std::string& title);
// A tooltip entry with a d3 number format (".4f", ".3~g", ...).
nlohmann::json tooltip(const std::string& field, const std::string& type, const std::string& title,
                       const std::string& format = "");

// The interval selection bound to the scales: drag to pan, scroll to zoom, double-click to reset. Only on the
// x axis: Vega-Lite binds continuous scales only, and the y axes here are layers (ordinal).
nlohmann::json zoom_x_param();

// Ordered layer labels for the x or y axis: -1 is "embed", others their number as text.
std::string layer_label(int layer);

}  // namespace resid
