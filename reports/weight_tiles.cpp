#include "reports/weight_tiles.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "reports/png_image.h"
#include "reports/vega_spec.h"

namespace resid {

using nlohmann::json;

namespace {
constexpr int kTilePixels = 40;  // drawn size of one tile (its pixels are scaled up, unsmoothed)
constexpr int kColumns = 25;
}  // namespace

int square_tile_side(int64_t d_in) {
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(double(d_in))));
  return side * side == d_in ? static_cast<int>(side) : 0;
}

Section weight_tiles_section(const Mlp& mlp, const std::string& path, const CensusResult* census) {
  const Linear& first = mlp.layers().front();
  const int64_t d_out = first.weight.shape[0], d_in = first.weight.shape[1];  // [d_out, d_in]
  const int side = square_tile_side(d_in);
  if (side == 0)
    throw InputError(path + ": the first layer's " + std::to_string(d_in) +
                     " inputs are not a square image, so its weight vectors cannot be drawn as tiles");
  const LayerCensus* dead_from = nullptr;
  if (census && !census->layers.empty() && census->layers.front().layer == 0 &&
      census->layers.front().width() == d_out)
    dead_from = &census->layers.front();
  json values = json::array();
  std::vector<uint8_t> rgb(size_t(d_in) * 3);  // [side, side, 3]
  for (int64_t j = 0; j < d_out; ++j) {
    const float* w = first.weight.data + j * d_in;  // [d_in]
    float max_abs = 0;
    double sq = 0;
    for (int64_t i = 0; i < d_in; ++i)
      max_abs = std::max(max_abs, std::fabs(w[i])), sq += double(w[i]) * w[i];
    for (int64_t i = 0; i < d_in; ++i) diverging_rgb(max_abs > 0 ? w[i] / max_abs : 0.f, &rgb[size_t(i) * 3]);
    json v = {{"neuron", j},
              {"col", j % kColumns},
              {"row", j / kColumns},
              {"url", png_data_url(side, side, rgb)},
              {"max_abs", max_abs},
              {"norm", std::sqrt(sq)},
              {"bias", first.bias.empty() ? 0.f : first.bias.data[j]}};
    if (dead_from) {
      v["dead"] = dead_from->fires[j] == 0;
      v["density"] = dead_from->density(static_cast<int>(j));
    }
    values.push_back(v);
  }
  const int rows = static_cast<int>((d_out + kColumns - 1) / kColumns);
  json spec = vega_lite_spec("first-layer weight tiles", values);
  spec["width"] = kColumns * kTilePixels;
  spec["height"] = rows * kTilePixels;
  spec["view"] = {{"stroke", nullptr}};
  auto axis_free = [](const char* field, int n, bool reverse) {
    return json{{"field", field},
                {"type", "quantitative"},
                {"scale", {{"domain", {0, n}}, {"nice", false}, {"zero", true}, {"reverse", reverse}}},
                {"axis", nullptr}};
  };
  json tips = {tooltip("neuron", "quantitative", "neuron"), tooltip("norm", "quantitative", "‖w‖", ".3f"),
               tooltip("max_abs", "quantitative", "max |w| (tile colour scale)", ".3f"),
               tooltip("bias", "quantitative", "bias", ".3f")};
  if (dead_from) {
    tips.push_back(tooltip("dead", "nominal", "dead"));
    tips.push_back(tooltip("density", "quantitative", "firing density", ".3~g"));
  }
  json image = {{"mark",
                 {{"type", "image"},
                  {"width", kTilePixels - 4},
                  {"height", kTilePixels - 4},
                  {"align", "left"},
                  {"baseline", "top"},
                  {"aspect", false},
                  {"smooth", false},
                  {"tooltip", true}}},
                {"encoding",
                 {{"x", axis_free("col", kColumns, false)},
                  {"y", axis_free("row", rows, true)},
                  {"url", {{"field", "url"}, {"type", "nominal"}}},
                  {"tooltip", tips}}}};
  spec["layer"] = {image};
  if (dead_from) {
    json outline = {
        {"mark", {{"type", "rect"}, {"fill", nullptr}, {"stroke", "#cf222e"}, {"strokeWidth", 2}}},
        {"transform",
         {{{"filter", "datum.dead"}},
          {{"calculate", "datum.col + 0.95"}, {"as", "col2"}},
          {{"calculate", "datum.row + 0.95"}, {"as", "row2"}}}},
        {"encoding",
         {{"x", axis_free("col", kColumns, false)},
          {"x2", {{"field", "col2"}}},
          {"y", axis_free("row", rows, true)},
          {"y2", {{"field", "row2"}}},
          {"tooltip", tips}}}};
    spec["layer"].push_back(outline);
  }
  Section sec;
  sec.id = "weights";
  sec.title = "First-layer weights as images";
  char shape[96];
  std::snprintf(shape, sizeof shape, "%lld weight vectors of %lld inputs, drawn as %dx%d tiles",
                (long long)d_out, (long long)d_in, side, side);
  sec.intro =
      std::string("What each hidden neuron of the first layer looks for in the input image: ") + shape +
      ", in neuron order (left to right, then down). Red is a positive weight, blue a negative one; each "
      "tile is scaled to its own largest |w|." +
      (dead_from ? " Tiles outlined in red are neurons the census found dead." : "");
  sec.sources = {{"model", path}};
  sec.charts.push_back(
      {"Layer 0 weight vectors", spec, "Hover a tile for the neuron id, its norm and bias."});
  return sec;
}

}  // namespace resid
