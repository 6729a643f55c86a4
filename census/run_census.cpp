#include "census/run_census.h"

#include <nlohmann/json.hpp>

#include "capture/activation_file.h"
#include "capture/activation_reader.h"
#include "core/error.h"
#include "core/hook_site.h"
#include "hooks/hook_set.h"

namespace resid {

namespace {

void check_run_options(const CensusRunOptions& o) {
  o.census.validate();
  if (o.batch_size < 1) throw InputError("batch_size " + std::to_string(o.batch_size) + " is below 1");
  if (o.max_rows < 0) throw InputError("max_rows " + std::to_string(o.max_rows) + " is negative");
}

bool stopped(const CensusRunOptions& o) {
  return o.stop && o.stop->load();
}

// A stored row that kept every position has the site's shape (the hook-site table's axes) for one sequence of
// the row's length, without the batch axis: [n_pos, d_mlp] for the mlp hooks.
bool keeps_every_position(const Config& c, HookSite site, const HookDatasetSpec& s) {
  const int pos = axis_index(site, Axis::Pos) - 1;  // in a row, which has no batch axis
  if (s.reduction != "none" || pos < 0 || pos >= static_cast<int>(s.row_shape.size())) return false;
  std::vector<int64_t> full = hook_shape(c, site, 1, s.row_shape[pos]);
  full.erase(full.begin());
  return s.row_shape == full;
}

// One read-only function per counted hook: the forward hands over each layer's activation, nothing is kept.
HookSet counting_hooks(CensusResult& result, const std::vector<HookPointId>& points) {
  HookSet hooks;
  for (size_t i = 0; i < points.size(); ++i) {
    LayerCensus* layer = &result.layers[i];
    const double threshold = result.options.threshold;
    hooks.add(points[i], [layer, threshold](ActivationView& act) { layer->add(act, threshold); });
  }
  return hooks;
}

}  // namespace

CensusResult census_of_transformer(const Transformer& model, Dataset& dataset,
                                   const CensusRunOptions& options) {
  check_run_options(options);
  const Config& c = model.config();
  const int n_pos = options.n_pos > 0 ? options.n_pos : c.n_ctx;
  if (n_pos > c.n_ctx)
    throw InputError("n_pos " + std::to_string(n_pos) +
                     " exceeds the model's n_ctx = " + std::to_string(c.n_ctx));
  CensusResult result;
  result.rule = firing_rule_for(c);
  result.ffn = c.ffn_name();
  result.options = options.census;
  result.data = dataset.describe();
  std::vector<HookPointId> points;
  for (int l = 0; l < c.n_layers; ++l) {
    points.push_back({firing_hook_site(result.rule), l});
    result.layers.emplace_back(l, hook_name(points.back().site, l), c.d_mlp);
  }
  HookSet hooks = counting_hooks(result, points);
  ForwardOptions fwd;
  fwd.logits = LogitsAt::None;  // the last layer's FFN is the deepest thing counted
  fwd.hooks = &hooks;

  std::vector<std::vector<int32_t>> batch;
  Example ex;
  int64_t tokens = 0;
  bool more = true;
  while (more && !stopped(options)) {
    batch.clear();
    while (static_cast<int>(batch.size()) < options.batch_size &&
           (options.max_rows == 0 ||
            result.n_examples + static_cast<int64_t>(batch.size()) < options.max_rows)) {
      if (!dataset.next(ex)) {
        more = false;
        break;
      }
      if (ex.tokens.empty()) continue;
      if (static_cast<int>(ex.tokens.size()) > n_pos)
        throw InputError(dataset.describe() + ": example at line " + std::to_string(ex.source_line) +
                         " has " + std::to_string(ex.tokens.size()) +
                         " tokens, more than n_pos = " + std::to_string(n_pos));
      batch.push_back(ex.tokens);
    }
    if (batch.empty()) break;
    model.forward(TokenBatch::pad(batch), fwd);  // pads are masked by the hooks' lengths
    result.n_examples += static_cast<int64_t>(batch.size());
    for (const auto& ids : batch) tokens += static_cast<int64_t>(ids.size());
    if (options.on_progress) options.on_progress(result.n_examples, tokens);
    if (options.max_rows > 0 && result.n_examples >= options.max_rows) break;
  }
  return result;
}

namespace {

// An empty result for the plain MLP family: post-activation firing (no gated MLPs in this family) and the FFN
// naming of a non-gated block with this activation ("ReLU", "GELU", ...).
CensusResult plain_mlp_census(ActFn act_fn, const CensusRunOptions& options) {
  Config plain;
  plain.gated_mlp = false;
  plain.act_fn = act_fn;
  CensusResult result;
  result.rule = FiringRule::PostActivation;
  result.ffn = plain.ffn_name();
  result.options = options.census;
  return result;
}

}  // namespace

CensusResult census_of_mlp(const Mlp& model, const ImageSet& images, const CensusRunOptions& options) {
  check_run_options(options);
  const MlpConfig& c = model.config();
  if (images.pixels.cols() != c.widths.front())
    throw InputError(images.images_path + ": images have " + std::to_string(images.pixels.cols()) +
                     " pixels but the MLP takes " + std::to_string(c.widths.front()) + " inputs");
  CensusResult result = plain_mlp_census(c.act_fn, options);
  result.data = images.images_path + (images.labels_path.empty() ? "" : " with labels " + images.labels_path);
  std::vector<HookPointId> points;
  for (size_t i = 0; i + 2 < c.widths.size(); ++i) {
    const int l = static_cast<int>(i);
    points.push_back({HookSite::MlpPost, l});
    result.layers.emplace_back(l, hook_name(HookSite::MlpPost, l), c.widths[i + 1]);
  }
  HookSet hooks = counting_hooks(result, points);
  int64_t n = images.size();
  if (options.max_rows > 0) n = std::min(n, options.max_rows);
  const bool labelled = !images.labels.empty();
  for (int64_t first = 0; first < n && !stopped(options); first += options.batch_size) {
    const int64_t rows = std::min<int64_t>(options.batch_size, n - first);
    const RowMatrix logits = model.forward(images.pixels.middleRows(first, rows), &hooks);  // [rows, d_out]
    if (labelled) {
      for (int64_t r = 0; r < rows; ++r) {
        Eigen::Index predicted;
        logits.row(r).maxCoeff(&predicted);
        result.n_correct += predicted == images.labels[first + r];
      }
      result.n_labelled += rows;
    }
    result.n_examples += rows;
    if (options.on_progress) options.on_progress(result.n_examples, result.n_examples);
  }
  return result;
}

namespace {

// A capture of a plain MLP (capture/capture_mlp.h): rows of blocks.{i}.mlp.hook_post are [width] vectors.
CensusResult census_of_mlp_capture(const ActivationReader& reader, const nlohmann::json& config,
                                   const CensusRunOptions& options) {
  const std::string& path = reader.path();
  const ActivationFileSummary& summary = reader.summary();
  const std::vector<int> widths = config.at("widths").get<std::vector<int>>();
  CensusResult result = plain_mlp_census(act_fn_from_name(config.at("act_fn").get<std::string>()), options);
  result.source = path;
  result.data = summary.info.dataset_path.empty() ? path : summary.info.dataset_path;
  result.partial = !summary.complete;
  std::vector<const HookDatasetSpec*> specs;
  for (size_t i = 0; i + 2 < widths.size(); ++i) {
    const int l = static_cast<int>(i);
    const std::string name = hook_name(HookSite::MlpPost, l);
    for (const HookDatasetSpec& s : summary.hook_specs) {
      if (s.hook != name) continue;
      if (s.row_shape != std::vector<int64_t>{widths[i + 1]})
        throw FormatError(path, name + " has rows of shape " + shape_string(s.row_shape) + ", expected [" +
                                    std::to_string(widths[i + 1]) + "]");
      specs.push_back(&s);
      result.layers.emplace_back(l, name, widths[i + 1]);
    }
  }
  if (specs.empty())
    throw InputError(path +
                     ": holds no blocks.*.mlp.hook_post hooks; the census of this MLP needs them "
                     "(capture them with hook_patterns 'blocks.*.mlp.hook_post')");
  int64_t rows = summary.committed_rows;
  if (options.max_rows > 0) rows = std::min(rows, options.max_rows);
  const int64_t chunk =
      std::max<int64_t>(1, (int64_t(1) << 21) / std::max<int64_t>(1, specs.front()->row_shape[0]));
  std::vector<float> acts;  // [chunk, width]
  for (int64_t first = 0; first < rows && !stopped(options); first += chunk) {
    const int64_t n = std::min(chunk, rows - first);
    for (size_t i = 0; i < specs.size(); ++i) {
      reader.read_rows(specs[i]->hook, first, n, &acts);
      ActivationView view{
          {HookSite::MlpPost, result.layers[i].layer}, acts.data(), {n, specs[i]->row_shape[0]}, nullptr, 0};
      result.layers[i].add(view, options.census.threshold);
    }
    result.n_examples += n;
    if (options.on_progress) options.on_progress(result.n_examples, result.n_examples);
  }
  return result;
}

}  // namespace

CensusResult census_of_capture(const std::string& path, const CensusRunOptions& options) {
  check_run_options(options);
  const ActivationReader reader(path);  // one open file and one committed_rows for the whole pass
  const ActivationFileSummary& summary = reader.summary();
  if (summary.info.model_config_json.empty())
    throw FormatError(path, "has no model config attribute; cannot tell which mlp hook the census needs");
  nlohmann::json config_json;
  Config c;
  try {
    config_json = nlohmann::json::parse(summary.info.model_config_json);
    if (config_json.value("family", "") == "mlp") return census_of_mlp_capture(reader, config_json, options);
    c = Config::from_json(config_json);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("model config attribute is not valid JSON (") + e.what() + ")");
  }
  CensusResult result;
  result.rule = firing_rule_for(c);
  result.ffn = c.ffn_name();
  result.options = options.census;
  result.source = path;
  result.data = summary.info.dataset_path.empty() ? path : summary.info.dataset_path;
  result.partial = !summary.complete;
  const HookSite site = firing_hook_site(result.rule);
  std::vector<const HookDatasetSpec*> specs;
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string name = hook_name(site, l);
    for (const HookDatasetSpec& s : summary.hook_specs) {
      if (s.hook != name) continue;
      if (!keeps_every_position(c, site, s))
        throw InputError(path + ": " + name + " is stored reduced (" + s.reduction +
                         "); the census needs every token (capture it with positions all)");
      specs.push_back(&s);
      result.layers.emplace_back(l, name, c.d_mlp);
    }
  }
  if (specs.empty()) {
    const std::string suffix = hook_site_info(site).suffix;
    throw InputError(path + ": holds no blocks.*." + suffix + " hooks; the census of this " + c.ffn_name() +
                     " model needs them (capture them with hook_patterns 'blocks.*." + suffix +
                     "' and positions all)");
  }
  const int64_t n_pos = specs.front()->row_shape[axis_index(site, Axis::Pos) - 1];
  int64_t row_floats = 1;
  for (int64_t d : specs.front()->row_shape) row_floats *= d;
  int64_t rows = summary.committed_rows;
  if (options.max_rows > 0) rows = std::min(rows, options.max_rows);
  // Chunks of about 8 MiB of float32 per hook, so memory stays bounded whatever the capture's size.
  const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 21) / std::max<int64_t>(1, row_floats));
  int64_t tokens = 0;
  std::vector<int32_t> tokens32, lengths32;  // [chunk, n_pos], [chunk]
  std::vector<float> acts;                   // [chunk, n_pos, d_mlp]
  std::vector<int> lengths;
  for (int64_t first = 0; first < rows && !stopped(options); first += chunk) {
    const int64_t n = std::min(chunk, rows - first);
    reader.read_tokens(first, n, &tokens32, &lengths32);
    lengths.assign(lengths32.begin(), lengths32.end());
    for (size_t i = 0; i < specs.size(); ++i) {
      reader.read_rows(specs[i]->hook, first, n, &acts);  // [n, n_pos, d_mlp]
      ActivationView view{
          {site, result.layers[i].layer}, acts.data(), hook_shape(c, site, n, n_pos), &lengths, 0};
      result.layers[i].add(view, options.census.threshold);
    }
    result.n_examples += n;
    for (int len : lengths) tokens += len;
    if (options.on_progress) options.on_progress(result.n_examples, tokens);
  }
  return result;
}

}  // namespace resid
