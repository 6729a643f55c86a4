#include "probes/capture_probe.h"

#include <fnmatch.h>
#include <omp.h>

#include <algorithm>
#include <exception>

#include "core/error.h"

namespace resid::probes {

namespace {
std::string label_kind_name(LabelColumn::Kind k) {
  switch (k) {
    case LabelColumn::Kind::TokenClass: return "token_class";
    case LabelColumn::Kind::SequenceClass: return "sequence_class";
    case LabelColumn::Kind::SequenceNumber: return "sequence_number";
  }
  return "?";
}
}  // namespace

FitResult fit_capture_probe(const std::string& path, const CaptureFitOptions& o) {
  CaptureSource source(index_capture_examples(path, o.examples), o.memory_bytes);
  const CaptureExamples& ex = source.examples();
  FitResult r = fit_probe(source, o.fit);
  Probe& p = r.probe;
  p.hook = ex.hook, p.label = ex.label_name, p.label_kind = label_kind_name(ex.kind), p.reduce = ex.reduce;
  p.class_ids = ex.class_ids;
  r.report["hook"] = ex.hook;
  r.report["label"] = ex.label_name;
  r.report["label_kind"] = p.label_kind;
  r.report["reduce"] = ex.reduce;
  r.report["classes"] = ex.classes;
  int layer = -1;
  for (const HookDatasetSpec& s : ex.summary.hook_specs)
    if (s.hook == ex.hook) layer = s.layer;
  r.report["layer"] = layer;
  const ActivationFileInfo& info = ex.summary.info;
  r.report["provenance"] = {{"capture", path},
                            {"committed_rows", ex.summary.committed_rows},
                            {"capture_rows", ex.summary.rows},
                            {"capture_complete", ex.summary.complete},
                            {"model_path", info.model_path},
                            {"model_sha256", info.model_sha256},
                            {"dataset_path", info.dataset_path},
                            {"dataset_sha256", info.dataset_sha256},
                            {"capture_command_line", info.command_line},
                            {"command_line", o.command_line},
                            {"resid_version", RESID_VERSION}};
  p.info = r.report;
  return r;
}

std::vector<std::string> match_capture_hooks(const std::string& path,
                                             const std::vector<std::string>& patterns) {
  const ActivationFileSummary s = read_activation_summary(path);
  std::vector<std::string> out;
  for (const std::string& h : s.hooks)
    for (const std::string& p : patterns)
      if (fnmatch(p.c_str(), h.c_str(), 0) == 0) {
        out.push_back(h);
        break;
      }
  if (out.empty()) {
    std::string pats, hooks;
    for (const std::string& p : patterns) pats += (pats.empty() ? "" : " ") + p;
    for (const std::string& h : s.hooks) hooks += (hooks.empty() ? "" : ", ") + h;
    throw InputError(path + ": no hook matches '" + pats + "' (hooks: " + hooks + ")");
  }
  return out;
}

namespace {

// Runs the fits `fits`, `jobs` at once sharing the memory budget. With skip_input_errors an InputError turns
// into a report {"hook", "position", "skipped"} instead of failing the whole sweep.
std::vector<FitResult> run_fits(const std::string& path, const std::vector<CaptureFitOptions>& fits, int jobs,
                                const std::vector<int>& positions, bool skip_input_errors) {
  std::vector<FitResult> out(fits.size());
  std::vector<std::exception_ptr> errors(fits.size());
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>(fits.size())));
  // With jobs > 1 the fits' own parallel regions are nested and run on one thread each.
#pragma omp parallel for schedule(dynamic) num_threads(jobs) if (jobs > 1)
  for (size_t i = 0; i < fits.size(); ++i) {
    try {
      CaptureFitOptions o = fits[i];
      o.memory_bytes = fits[i].memory_bytes / jobs;  // the fits running at once share the budget
      out[i] = fit_capture_probe(path, o);
      if (!positions.empty())
        out[i].report["position"] = positions[i], out[i].probe.info["position"] = positions[i];
    } catch (const InputError& e) {
      if (!skip_input_errors)
        errors[i] = std::current_exception();
      else
        out[i].report = {{"hook", fits[i].examples.hook}, {"position", positions[i]}, {"skipped", e.what()}};
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

}  // namespace

std::vector<FitResult> sweep_capture(const std::string& path, const std::vector<std::string>& hooks,
                                     const CaptureFitOptions& options, int jobs) {
  std::vector<CaptureFitOptions> fits(hooks.size(), options);
  for (size_t i = 0; i < hooks.size(); ++i) fits[i].examples.hook = hooks[i];
  return run_fits(path, fits, jobs, {}, false);
}

std::vector<FitResult> sweep_capture_positions(const std::string& path, const std::vector<std::string>& hooks,
                                               const CaptureFitOptions& options, int jobs) {
  const ActivationFileSummary s = read_activation_summary(path);
  const LabelColumn* column = nullptr;
  for (const LabelColumn& c : s.labels)
    if (c.name == options.examples.label) column = &c;
  if (!column) throw InputError(path + ": no label '" + options.examples.label + "' in the capture");
  std::vector<CaptureFitOptions> fits;
  std::vector<int> positions;
  for (const std::string& h : hooks) {
    const auto it = std::find(s.hooks.begin(), s.hooks.end(), h);
    if (it == s.hooks.end()) throw InputError(path + ": no hook '" + h + "' in the capture");
    const HookDatasetSpec& spec = s.hook_specs[it - s.hooks.begin()];
    CaptureFitOptions o = options;
    o.examples.hook = h;
    if (column->kind == LabelColumn::Kind::TokenClass) {
      for (int p = 0; p < s.info.n_pos; ++p)
        o.examples.position = p, fits.push_back(o), positions.push_back(p);
    } else if (spec.row_shape.size() == 2 && spec.reduction != "none") {
      for (int j = 0; j < spec.row_shape[0]; ++j)
        o.examples.reduce = "index:" + std::to_string(j), fits.push_back(o), positions.push_back(j);
    } else {
      throw InputError(
          path + ": per-position probes need a token label or a hook captured with positions indices; '" +
          options.examples.label + "' is a sequence label and hook '" + h + "' keeps " +
          (spec.reduction == "none" ? "every position (set reduce to index:P)" : "one vector per row"));
    }
  }
  return run_fits(path, fits, jobs, positions, true);
}

}  // namespace resid::probes
