#include "probes/capture_probe.h"

#include <fnmatch.h>
#include <omp.h>

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

std::vector<std::string> match_capture_hooks(const std::string& path, const std::vector<std::string>& patterns) {
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

std::vector<FitResult> sweep_capture(const std::string& path, const std::vector<std::string>& hooks,
                                     const CaptureFitOptions& options, int jobs) {
  std::vector<FitResult> out(hooks.size());
  std::vector<std::exception_ptr> errors(hooks.size());
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>(hooks.size())));
  // With jobs > 1 the fits' own parallel regions are nested and run on one thread each.
#pragma omp parallel for schedule(dynamic) num_threads(jobs) if (jobs > 1)
  for (size_t i = 0; i < hooks.size(); ++i) {
    try {
      CaptureFitOptions o = options;
      o.examples.hook = hooks[i];
      o.memory_bytes = options.memory_bytes / jobs;  // the fits running at once share the budget
      out[i] = fit_capture_probe(path, o);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

}  // namespace resid::probes
