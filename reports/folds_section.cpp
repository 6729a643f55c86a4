#include "reports/folds_section.h"

#include <cmath>
#include <cstdio>

#include "reports/png_image.h"
#include "reports/vega_spec.h"

namespace resid {

using nlohmann::json;

namespace {

constexpr int kCells = 200;   // grid cells per side
constexpr int kPixels = 360;  // drawn size of a map

// Vega's "tableau10", so that a class's background and its points share a hue.
const char* const kClassColours[] = {"#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b",
                                     "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"};

void hex_rgb(const char* hex, uint8_t* rgb) {
  unsigned r = 0, g = 0, b = 0;
  std::sscanf(hex + 1, "%02x%02x%02x", &r, &g, &b);
  rgb[0] = uint8_t(r), rgb[1] = uint8_t(g), rgb[2] = uint8_t(b);
}

// A pale version of the class colour: the background must not drown the points drawn over it.
void class_background(int cls, uint8_t* rgb) {
  hex_rgb(kClassColours[cls % 10], rgb);
  for (int k = 0; k < 3; ++k) rgb[k] = uint8_t(255 - (255 - rgb[k]) * 0.35f);
}

// A region's colour: hues spread by the golden angle so that neighbouring ids differ, light enough for
// points.
void region_colour(int32_t id, uint8_t* rgb) {
  const float h = std::fmod(id * 137.508f, 360.f) / 60.f, s = 0.45f, l = 0.78f;
  const float c = (1 - std::fabs(2 * l - 1)) * s, x = c * (1 - std::fabs(std::fmod(h, 2.f) - 1)),
              m = l - c / 2;
  float r = 0, g = 0, b = 0;
  if (h < 1)
    r = c, g = x;
  else if (h < 2)
    r = x, g = c;
  else if (h < 3)
    g = c, b = x;
  else if (h < 4)
    g = x, b = c;
  else if (h < 5)
    r = x, b = c;
  else
    r = c, b = x;
  rgb[0] = uint8_t((r + m) * 255), rgb[1] = uint8_t((g + m) * 255), rgb[2] = uint8_t((b + m) * 255);
}

// [ny, nx, 3]: each cell coloured by `colour(value)`; cells on a boundary (right or lower neighbour differs)
// darkened, so the folds show as lines.
template <typename Colour>
std::vector<uint8_t> map_image(const PlaneGrid& g, const std::vector<int32_t>& value, Colour colour,
                               bool boundaries) {
  std::vector<uint8_t> rgb(size_t(g.nx) * g.ny * 3);
  for (int r = 0; r < g.ny; ++r)
    for (int c = 0; c < g.nx; ++c) {
      const size_t i = size_t(r) * g.nx + c;
      colour(value[i], &rgb[i * 3]);
      const bool edge =
          (c + 1 < g.nx && value[i + 1] != value[i]) || (r + 1 < g.ny && value[i + g.nx] != value[i]);
      if (boundaries && edge)
        for (int k = 0; k < 3; ++k) rgb[i * 3 + k] = uint8_t(rgb[i * 3 + k] * 0.45f);
    }
  return rgb;
}

json axis(const char* field, const char* title, float lo, float hi) {
  return {{"field", field},
          {"type", "quantitative"},
          {"title", title},
          {"scale", {{"domain", {lo, hi}}, {"nice", false}, {"zero", false}}}};
}

// A map as one image filling the plot, with the points and (optionally) the fold lines over it.
json plane_chart(const std::string& description, const PlaneGrid& g, const std::vector<uint8_t>& rgb,
                 const PlanePoints& points, int n_classes, const json& lines) {
  json spec = vega_lite_spec(description, json::array());
  spec.erase("data");
  spec["width"] = kPixels;
  spec["height"] = kPixels;
  const json x = axis("x", "x₁", g.x_min, g.x_max), y = axis("y", "x₂", g.y_min, g.y_max);
  json image = {
      {"data", {{"values", {{{"x", g.x_min}, {"y", g.y_max}, {"url", png_data_url(g.nx, g.ny, rgb)}}}}}},
      {"mark",
       {{"type", "image"},
        {"width", kPixels},
        {"height", kPixels},
        {"align", "left"},
        {"baseline", "top"},
        {"aspect", false},
        {"smooth", false}}},
      {"encoding", {{"x", x}, {"y", y}, {"url", {{"field", "url"}, {"type", "nominal"}}}}}};
  spec["layer"] = {image};
  if (!lines.empty()) {
    json rule = {
        {"data", {{"values", lines}}},
        {"mark", {{"type", "rule"}, {"strokeWidth", 1}, {"opacity", 0.45}, {"strokeDash", {4, 3}}}},
        {"encoding",
         {{"x", x},
          {"y", y},
          {"x2", {{"field", "x2"}}},
          {"y2", {{"field", "y2"}}},
          {"color",
           {{"field", "state"},
            {"type", "nominal"},
            {"title", "layer 0 unit"},
            {"scale", {{"domain", {"live", "dead on the grid"}}, {"range", {"#24292f", "#cf222e"}}}}}},
          {"tooltip", {tooltip("unit", "quantitative", "unit"), tooltip("state", "nominal", "state")}}}}};
    spec["layer"].push_back(rule);
  }
  if (points.size() > 0) {
    json values = json::array();
    for (int64_t i = 0; i < points.size(); ++i)
      values.push_back({{"x", points.xy[2 * i]}, {"y", points.xy[2 * i + 1]}, {"class", points.label[i]}});
    json domain = json::array(), range = json::array();
    for (int k = 0; k < n_classes; ++k) domain.push_back(k), range.push_back(kClassColours[k % 10]);
    spec["layer"].push_back(
        {{"data", {{"values", values}}},
         {"mark",
          {{"type", "circle"}, {"size", 14}, {"opacity", 0.9}, {"stroke", "white"}, {"strokeWidth", 0.5}}},
         {"encoding",
          {{"x", x},
           {"y", y},
           {"color",
            {{"field", "class"},
             {"type", "nominal"},
             {"title", "class"},
             {"scale", {{"domain", domain}, {"range", range}}}}},
           {"tooltip",
            {tooltip("class", "nominal", "class"), tooltip("x", "quantitative", "x₁", ".3f"),
             tooltip("y", "quantitative", "x₂", ".3f")}}}}});
  }
  // Fold lines are coloured by state, points by class: two colour scales, two legends.
  spec["resolve"] = {{"scale", {{"color", "independent"}}}, {"legend", {{"color", "independent"}}}};
  return spec;
}

}  // namespace

bool fold_line_in(const PlaneGrid& g, float wx, float wy, float b, float ends[4]) {
  // Intersections of w·x + b = 0 with the four sides, kept when on the side.
  float found[8];
  int n = 0;
  auto add = [&](float x, float y) {
    const float eps = 1e-6f * std::max(g.x_max - g.x_min, g.y_max - g.y_min);
    if (x < g.x_min - eps || x > g.x_max + eps || y < g.y_min - eps || y > g.y_max + eps || n == 4) return;
    found[2 * n] = x, found[2 * n + 1] = y, ++n;
  };
  if (wy != 0) add(g.x_min, -(b + wx * g.x_min) / wy), add(g.x_max, -(b + wx * g.x_max) / wy);
  if (wx != 0) add(-(b + wy * g.y_min) / wx, g.y_min), add(-(b + wy * g.y_max) / wx, g.y_max);
  // The two points furthest apart (a line through a corner is found twice).
  float best = -1;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      const float d = std::hypot(found[2 * i] - found[2 * j], found[2 * i + 1] - found[2 * j + 1]);
      if (d > best)
        best = d, ends[0] = found[2 * i], ends[1] = found[2 * i + 1], ends[2] = found[2 * j],
        ends[3] = found[2 * j + 1];
    }
  return best > 0;
}

Section folds_section(const Mlp& mlp, const std::string& path, const PlanePoints& points,
                      const std::string& points_source) {
  const PlaneGrid grid = grid_around(points, kCells);
  const FoldMaps maps = fold_maps(mlp, grid);
  const int n_classes = mlp.config().widths.back();

  // Layer 0's fold lines: one per unit, red when the unit is on nowhere in the view.
  json lines = json::array();
  const Linear& first = mlp.layers().front();  // weight [d_out, 2]
  if (!maps.on_fraction.empty()) {
    for (int64_t u = 0; u < first.weight.shape[0]; ++u) {
      float ends[4];
      if (!fold_line_in(grid, first.weight.data[2 * u], first.weight.data[2 * u + 1], first.bias.data[u],
                        ends))
        continue;
      lines.push_back({{"x", ends[0]},
                       {"y", ends[1]},
                       {"x2", ends[2]},
                       {"y2", ends[3]},
                       {"unit", u},
                       {"state", maps.on_fraction[0][u] > 0 ? "live" : "dead on the grid"}});
    }
  }

  Section sec;
  sec.id = "folds";
  sec.title = "Folds of the input plane";
  sec.intro =
      "Each ReLU is on on one side of a line in the first layer, and of a bent line deeper in; the set of "
      "units "
      "that are on, the activation pattern, is constant on regions where the whole network is one affine "
      "map. "
      "Layer l's regions are the patterns of layers 0 to l together, so each layer can only cut regions "
      "further. "
      "Counted on a " +
      std::to_string(kCells) + "×" + std::to_string(kCells) +
      " grid, so regions smaller than a cell are missed.";
  sec.sources = {{"model", path}};
  if (points.size() > 0) sec.sources.emplace_back("points", points_source);

  std::vector<int32_t> predicted(maps.predicted.begin(), maps.predicted.end());
  sec.charts.push_back(
      {"Class regions",
       plane_chart("class regions", grid, map_image(grid, predicted, class_background, false), points,
                   n_classes, lines),
       "The class the model gives each point of the plane (pale), the points in their true class, and the "
       "first "
       "layer's fold lines (dashed; red: a unit on nowhere in this view)."});
  for (size_t l = 0; l < maps.regions.size(); ++l) {
    const int width = mlp.config().widths[l + 1];
    int dead = 0;
    for (float f : maps.on_fraction[l]) dead += f == 0.f;
    char title[160];
    std::snprintf(title, sizeof title, "Layer %zu: %d linear regions", l, maps.region_count[l]);
    char caption[240];
    const std::string layers = l == 0 ? "layer 0" : "layers 0 to " + std::to_string(l);
    std::snprintf(
        caption, sizeof caption,
        "Activation patterns of %s (%d units in layer %zu, %d of them on nowhere in the view). Dark lines "
        "are folds; each region is one affine map.",
        layers.c_str(), width, l, dead);
    sec.charts.push_back({title,
                          plane_chart("regions of layer " + std::to_string(l), grid,
                                      map_image(grid, maps.regions[l], region_colour, true), points,
                                      n_classes, l == 0 ? lines : json::array()),
                          caption});
  }
  return sec;
}

}  // namespace resid
