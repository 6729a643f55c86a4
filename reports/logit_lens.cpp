#include "reports/logit_lens.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/hook_site.h"
#include "core/rms_norm.h"
#include "reports/vega_spec.h"

namespace resid {

using nlohmann::json;

namespace {

// One residual stream [n_pos, d_model] through ln_final and the unembedding, one cell per position.
void lens_row(const Transformer& model, const StoredActivation& resid, int layer,
              const std::vector<int32_t>& tokens, std::vector<LensCell>* out) {
  const Config& c = model.config();
  const int n = static_cast<int>(tokens.size());
  const RowMatrix x = ConstMatrixMap(resid.values.data(), n, c.d_model);  // [n_pos, d_model]
  Eigen::VectorXf scale;                                                  // [n_pos]
  RowMatrix normed;                                                       // [n_pos, d_model]
  rms_scale(x, c.eps, scale);
  rms_normalize(x, scale, normed);
  apply_norm_weight(normed, model.weights().final_norm);
  const RowMatrix logits = normed * model.weights().unembed.matrix().transpose();  // [n_pos, d_vocab]
  for (int p = 0; p < n; ++p) {
    const auto row = logits.row(p);
    Eigen::Index top = 0;
    const float max = row.maxCoeff(&top);
    const double z = (row.array() - max).exp().cast<double>().sum();
    LensCell cell{
        layer, p, static_cast<int>(top), static_cast<float>(1.0 / z), std::numeric_limits<float>::quiet_NaN(),
        -1};
    if (p + 1 < n) {
      const float next = row(tokens[p + 1]);
      cell.next_prob = static_cast<float>(std::exp(double(next - max)) / z);
      cell.next_rank = 1 + static_cast<int>((row.array() > next).count());
    }
    out->push_back(cell);
  }
}

}  // namespace

std::vector<LensCell> logit_lens(const Transformer& model, const PromptRun& run) {
  std::vector<LensCell> cells;
  lens_row(model, run.run.cache.at(hook_name(HookSite::ResidPre, 0)), -1, run.tokens, &cells);
  for (int l = 0; l < model.config().n_layers; ++l)
    lens_row(model, run.run.cache.at(hook_name(HookSite::ResidPost, l)), l, run.tokens, &cells);
  return cells;
}

Section logit_lens_section(const Transformer& model, const Tokenizer& tokenizer, const PromptRun& run) {
  json values = json::array();
  for (const LensCell& c : logit_lens(model, run)) {
    json v = {{"layer", c.layer},
              {"layer_label", c.layer < 0 ? "embed" : "after block " + std::to_string(c.layer)},
              {"pos", c.position},
              {"input", run.labels[c.position]},
              {"top", tokenizer.piece(c.top_id)},
              {"top_id", c.top_id},
              {"prob", c.top_prob}};
    if (c.next_rank > 0) {
      v["next"] = tokenizer.piece(run.tokens[c.position + 1]);
      v["next_prob"] = c.next_prob;
      v["next_rank"] = c.next_rank;
    }
    values.push_back(v);
  }
  const int n = static_cast<int>(run.tokens.size());
  json spec = vega_lite_spec("logit lens", values);
  spec["width"] = std::min(64 * n, 880);  // leaves room for the axis and legend in the page
  spec["height"] = 30 * (model.config().n_layers + 1);
  json x = channel("input", "ordinal", "input token (position and piece)");
  x["sort"] = {{"field", "pos"}, {"op", "min"}};
  x["axis"] = {{"orient", "top"}, {"labelAngle", -40}, {"labelFontSize", 12}};
  json y = channel("layer_label", "ordinal", "residual stream");
  y["sort"] = {{"field", "layer"}, {"op", "min"}};
  json color = channel("prob", "quantitative", "top-token probability");
  color["scale"] = {{"domain", {0, 1}}, {"scheme", "yellowgreenblue"}};
  spec["encoding"] = {{"x", x}, {"y", y}};
  json rect = {{"mark", {{"type", "rect"}, {"tooltip", true}}},
               {"encoding",
                {{"color", color},
                 {"tooltip",
                  {tooltip("layer_label", "nominal", "layer"), tooltip("input", "nominal", "input token"),
                   tooltip("top", "nominal", "top next token"), tooltip("top_id", "quantitative", "top id"),
                   tooltip("prob", "quantitative", "its probability", ".3f"),
                   tooltip("next", "nominal", "actual next token"),
                   tooltip("next_prob", "quantitative", "its probability", ".3~g"),
                   tooltip("next_rank", "quantitative", "its rank")}}}}};
  json text = {
      {"mark", {{"type", "text"}, {"fontSize", 11}, {"limit", 60}}},
      {"encoding",
       {{"text", channel("top", "nominal", "")},
        {"color",
         {{"condition", {{"test", "datum.prob > 0.55"}, {"value", "white"}}}, {"value", "black"}}}}}};
  spec["layer"] = {rect, text};
  Section sec;
  sec.id = "logit-lens";
  sec.title = "Logit lens";
  sec.intro =
      "The final norm and the unembedding applied to the residual stream after every block (and to the "
      "embedding): each cell is that layer's most likely next token at that position, coloured by its "
      "probability. The last row is the model's own prediction.";
  sec.charts.push_back({"Top next token by layer and position", spec,
                        "Hover a cell for the probability and rank of the token that actually comes next."});
  return sec;
}

}  // namespace resid
