#include "capture/capture_mlp.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "hooks/hook_selector.h"
#include "hooks/hook_set.h"

namespace resid {

std::vector<HookPointId> mlp_hook_points(const MlpConfig& c) {
  std::vector<HookPointId> points = {{HookSite::Embed, -1}};
  for (size_t i = 0; i + 2 < c.widths.size(); ++i) {
    points.push_back({HookSite::MlpPre, static_cast<int>(i)});
    points.push_back({HookSite::MlpPost, static_cast<int>(i)});
  }
  points.push_back({HookSite::UnembedOut, -1});
  return points;
}

int64_t mlp_hook_width(const MlpConfig& c, const HookPointId& p) {
  if (p.site == HookSite::Embed) return c.widths.front();
  if (p.site == HookSite::UnembedOut) return c.widths.back();
  return c.widths[p.layer + 1];
}

std::vector<HookPointId> select_mlp_hooks(const MlpConfig& c, const std::vector<std::string>& patterns) {
  if (patterns.empty()) throw InputError("hook_patterns: no hooks selected");
  const std::vector<HookPointId> all = mlp_hook_points(c);
  std::string names;
  for (const HookPointId& p : all) names += (names.empty() ? "" : ", ") + hook_name(p.site, p.layer);
  return HookSelector::select(all, static_cast<int>(c.widths.size()) - 2, patterns,
                              "; this MLP's hooks are " + names);
}

CaptureResult capture_mlp(const Mlp& model, const ImageSet& data,
                          const std::vector<VectorLabel>& extra_labels, const std::string& out_path,
                          ActivationFileInfo info, const CaptureOptions& options) {
  const MlpConfig& c = model.config();
  const std::string& where = info.dataset_path.empty() ? data.images_path : info.dataset_path;
  if (data.pixels.cols() != c.widths.front())
    throw InputError(where + ": examples have " + std::to_string(data.pixels.cols()) +
                     " features but the MLP takes " + std::to_string(c.widths.front()) + " inputs");
  if (options.positions.mode != PositionSpec::Mode::All || options.n_pos > 1)
    throw InputError("positions: an MLP reads one vector per example; positions and n_pos do not apply");
  if (options.batch_size < 1)
    throw InputError("batch_size " + std::to_string(options.batch_size) + " is below 1");
  const std::vector<HookPointId> points = select_mlp_hooks(c, options.hook_patterns);
  int64_t n = data.size();
  if (options.max_rows > 0) n = std::min(n, options.max_rows);

  // Label columns: the data's class, then the extra ones, each checked against the row count.
  std::vector<LabelColumn> labels;
  std::vector<std::vector<double>> label_values;
  if (!data.labels.empty()) {
    LabelColumn cls{"class", LabelColumn::Kind::SequenceClass, {}};
    const int32_t top = *std::max_element(data.labels.begin(), data.labels.end());
    for (int32_t k = 0; k <= top; ++k) cls.classes.push_back(std::to_string(k));
    labels.push_back(cls);
    label_values.emplace_back(data.labels.begin(), data.labels.end());
  }
  for (const VectorLabel& l : extra_labels) {
    if (l.column.kind == LabelColumn::Kind::TokenClass)
      throw InputError("label " + l.column.name +
                       ": an MLP's examples have one label each, not one per token");
    if (static_cast<int64_t>(l.values.size()) != data.size())
      throw InputError("label " + l.column.name + " has " + std::to_string(l.values.size()) + " values for " +
                       std::to_string(data.size()) + " examples of " + where);
    labels.push_back(l.column);
    label_values.push_back(l.values);
  }

  std::vector<HookDatasetSpec> specs;
  for (const HookPointId& p : points)
    specs.push_back({hook_name(p.site, p.layer), p.layer, "none", {mlp_hook_width(c, p)}});
  info.n_pos = 1;
  info.positions = "all";
  info.model_config_json =
      nlohmann::json{{"family", "mlp"}, {"widths", c.widths}, {"act_fn", act_fn_name(c.act_fn)}}.dump();
  WriterOptions writer_options = options.writer;
  writer_options.rows = n;
  auto writer = options.resume ? ActivationFileWriter::resume(out_path, info, specs, labels, writer_options)
                               : ActivationFileWriter::create(out_path, info, specs, labels, writer_options);
  CaptureResult result;
  result.rows = writer->committed_rows();
  if (options.on_start) options.on_start();
  const auto start = std::chrono::steady_clock::now();
  try {
    while (result.rows < n && !(options.stop && options.stop->load())) {
      const int64_t first = result.rows, rows = std::min<int64_t>(options.batch_size, n - first);
      std::vector<std::vector<float>> acts(points.size());  // per hook: [rows, width]
      HookSet hooks;
      for (size_t h = 0; h < points.size(); ++h)
        hooks.add(points[h],
                  [&acts, h](ActivationView& act) { acts[h].assign(act.data, act.data + act.numel()); });
      model.forward(data.pixels.middleRows(first, rows), &hooks);  // [rows, d_out]
      std::vector<int32_t> index(rows), lengths(rows, 1);  // the example's index stands in for its token
      for (int64_t r = 0; r < rows; ++r) index[r] = static_cast<int32_t>(first + r);
      std::vector<std::vector<double>> sequence_labels;
      for (const auto& v : label_values)
        sequence_labels.emplace_back(v.begin() + first, v.begin() + first + rows);
      std::vector<const float*> act_ptrs;
      for (const auto& a : acts) act_ptrs.push_back(a.data());
      writer->append(rows, index.data(), lengths.data(), sequence_labels, {}, act_ptrs);
      writer->commit(labels);
      result.rows += rows;
      result.new_rows += rows;
      result.new_tokens += rows;
      if (options.on_progress) options.on_progress(result.rows, result.new_tokens);
    }
    if (result.rows == n) {
      writer->finish(labels);
      result.complete = true;
    }
  } catch (...) {
    if (!options.resume && options.remove_failed_output && writer->committed_rows() == 0) {
      try {
        writer->discard();
      } catch (const std::exception&) {
      }
    }
    throw;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace resid
