#include "reports/vega_spec.h"

namespace resid {

using nlohmann::json;

json vega_lite_spec(const std::string& description, json values) {
  return {{"$schema", "https://vega.github.io/schema/vega-lite/v6.json"},
          {"description", description},
          {"data", {{"values", std::move(values)}}},
          {"config",
           {{"font", "DejaVu Sans, Helvetica, Arial, sans-serif"},
            {"view", {{"stroke", "#d1d9e0"}}},
            {"axis", {{"labelFontSize", 11}, {"titleFontSize", 12}, {"titleFontWeight", "normal"}}},
            {"legend", {{"labelFontSize", 11}, {"titleFontSize", 12}}},
            {"header", {{"labelFontSize", 12}, {"titleFontSize", 12}}}}}};
}

json channel(const std::string& field, const std::string& type, const std::string& title) {
  return {{"field", field}, {"type", type}, {"title", title}};
}

json tooltip(const std::string& field, const std::string& type, const std::string& title,
             const std::string& format) {
  json t = channel(field, type, title);
  if (!format.empty()) t["format"] = format;
  return t;
}

json zoom_x_param() {
  return {{"name", "zoom"}, {"select", {{"type", "interval"}, {"encodings", {"x"}}}}, {"bind", "scales"}};
}

std::string layer_label(int layer) {
  return layer < 0 ? "embed" : std::to_string(layer);
}

}  // namespace resid
