#include "reports/build_report.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>

#include "capture/activation_file.h"
#include "capture/activation_reader.h"
#include "capture/fingerprint.h"
#include "census/census_file.h"
#include "core/error.h"
#include "core/formats/model_file.h"
#include "reports/activation_stats.h"
#include "reports/attention_section.h"
#include "reports/census_section.h"
#include "reports/folds_section.h"
#include "reports/logit_lens.h"
#include "reports/probe_section.h"
#include "reports/weight_tiles.h"

namespace resid {

namespace {

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return b;
}

// sha256 of a single-file checkpoint, as a capture records it; "" for a multi-file one (not compared).
std::string single_file_sha256(const LoadedModel& m) {
  const std::vector<std::string> files = model_weight_files(m);
  std::error_code ec;
  if (files.size() == 1 && files[0] == m.path && !std::filesystem::is_directory(m.path, ec))
    return sha256_file(m.path);
  return "";
}

void add_prompt_sections(Report& r, const LoadedModel& m, const std::string& prompt) {
  const char* lens = "Logit lens";
  const char* attn = "Attention patterns";
  if (!m.transformer) {
    r.skipped.push_back({lens, m.path + " is a plain MLP, not a language model"});
    r.skipped.push_back({attn, m.path + " is a plain MLP, not a language model"});
    return;
  }
  if (prompt.empty() || !m.tokenizer) {
    const std::string why = prompt.empty() ? "no prompt given" : m.path + " has no tokenizer (give one)";
    r.skipped.push_back({lens, why});
    r.skipped.push_back({attn, why});
    return;
  }
  const PromptRun run = run_prompt(*m.transformer, *m.tokenizer, prompt);
  Section l = logit_lens_section(*m.transformer, *m.tokenizer, run);
  Section a = attention_section(m.transformer->config(), run);
  const std::vector<std::pair<std::string, std::string>> src = {
      {"model", m.path + "  (" + m.format_detail + ")"},
      {"prompt", prompt},
      {"tokens", std::to_string(run.tokens.size()) + " (BOS first)"}};
  l.sources = a.sources = src;
  r.sections.push_back(std::move(l));
  r.sections.push_back(std::move(a));
}

}  // namespace

Report build_report(const ReportInputs& in) {
  Report r;
  r.title = in.title;
  r.provenance = {{"generated", now_utc()}, {"resid", RESID_VERSION}};
  if (!in.command_line.empty()) r.provenance.emplace_back("command", in.command_line);

  std::unique_ptr<ActivationReader> capture;
  if (!in.capture.empty()) capture = std::make_unique<ActivationReader>(in.capture);
  std::optional<LoadedModel> model, mlp_model;
  if (!in.model.empty()) model = load_model(in.model, LoadOptions{in.tokenizer});
  if (!in.mlp_weights.empty())
    mlp_model = load_model(in.mlp_weights);
  else if (model && model->mlp)
    mlp_model = model;
  std::optional<CensusResult> census;
  if (!in.census.empty()) census = read_census_file(in.census);

  if (capture) {
    r.provenance.emplace_back("capture", in.capture);
    r.sections.push_back(activation_stats_section(*capture));
  } else {
    r.skipped.push_back({"Activation statistics by layer", "no capture given (resid capture writes one)"});
  }
  if (census) {
    r.provenance.emplace_back("census", in.census);
    r.sections.push_back(census_section(*census, in.census));
  } else {
    r.skipped.push_back(
        {"Dead-neuron census", "no census file given (resid census ... -o census.h5 writes one)"});
  }
  if (!in.probe_sweeps.empty()) {
    std::vector<ExpectedModel> expected;
    if (capture) expected.push_back({capture->summary().info.model_sha256, "capture " + in.capture});
    if (model && model->transformer) expected.push_back({single_file_sha256(*model), "model " + in.model});
    for (size_t i = 0; i < in.probe_sweeps.size(); ++i) {
      const std::string& path = in.probe_sweeps[i];
      r.provenance.emplace_back("probe sweep", path);
      const nlohmann::json sweep = read_probe_sweep(path);
      Section s = probe_section(sweep, path, expected);
      // Several sweeps (one per label, say) each get their own section and anchor.
      if (in.probe_sweeps.size() > 1) {
        const nlohmann::json& label = sweep.contains("label") ? sweep["label"] : nlohmann::json("?");
        s.title += ", label " + (label.is_string() ? label.get<std::string>() : label.dump());
        if (i > 0) s.id += "-" + std::to_string(i + 1);
      }
      r.sections.push_back(std::move(s));
    }
  } else {
    r.skipped.push_back(
        {"Linear probes by layer", "no probe sweep given (resid probe sweep ... --json writes one)"});
  }
  if (model) {
    r.provenance.emplace_back("model", in.model);
    add_prompt_sections(r, *model, in.prompt);
  } else {
    r.skipped.push_back({"Logit lens", "no model and prompt given"});
    r.skipped.push_back({"Attention patterns", "no model and prompt given"});
  }
  if (mlp_model) {
    if (!mlp_model->mlp)
      throw InputError(mlp_model->path +
                       ": is a language model, not a plain MLP: weight tiles and folds draw a plain MLP");
    if (mlp_model->path != in.model) r.provenance.emplace_back("MLP weights", mlp_model->path);
    // A model of the plane gets its folds; one of images its weight tiles.
    if (mlp_model->mlp->config().widths.front() == 2) {
      r.sections.push_back(
          folds_section(*mlp_model->mlp, mlp_model->path, in.plane_points, in.plane_points_source));
      r.skipped.push_back({"First-layer weights as images", "the MLP's input is a point of the plane"});
    } else {
      r.sections.push_back(
          weight_tiles_section(*mlp_model->mlp, mlp_model->path, census ? &*census : nullptr));
      r.skipped.push_back({"Folds of the input plane", "the MLP's input is not 2-D"});
    }
  } else {
    r.skipped.push_back({"First-layer weights as images", "no plain MLP checkpoint given"});
    r.skipped.push_back({"Folds of the input plane", "no plain MLP checkpoint given"});
  }
  if (!in.training_runs.empty())
    r.sections.push_back(training_section(in.training_runs));
  else
    r.skipped.push_back(
        {"Training and dying ReLUs", "no training history given (resid train --json writes one)"});
  // A model of the plane is read best from its picture: the folds and its training come first.
  std::stable_partition(r.sections.begin(), r.sections.end(),
                        [](const Section& s) { return s.id == "folds" || s.id == "training"; });
  return r;
}

}  // namespace resid
