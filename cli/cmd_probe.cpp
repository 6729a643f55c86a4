// resid probe fit|sweep|apply|direction: linear probes on captured activations (probes/ library).
#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flag_names.h"
#include "core/error.h"
#include "probes/apply.h"
#include "probes/capture_probe.h"
#include "probes/metrics.h"
#include "probes/npy.h"

namespace resid::cli {

namespace {

using nlohmann::json;
using namespace resid::probes;

// "1G", "512M", "64k", "1000000" -> bytes.
int64_t parse_memory(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = text.substr(used);
  for (char& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  if (!unit.empty() && unit.back() == 'I') unit.pop_back();  // GiB = G
  const std::map<std::string, double> units = {
      {"", 1}, {"K", 1024.0}, {"M", 1024.0 * 1024}, {"G", 1024.0 * 1024 * 1024}};
  if (used == 0 || !units.count(unit) || !(v > 0))
    throw InputError("--memory '" + text + "': expected a size like 512M or 2G");
  return static_cast<int64_t>(v * units.at(unit));
}

std::vector<double> parse_grid(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stod(item, &used));
      if (used != item.size() || !(out.back() > 0)) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw InputError("--lambdas: '" + item + "' is not a positive number");
    }
  }
  if (out.empty()) throw InputError("--lambdas: no values");
  return out;
}

// Options shared by fit and sweep.
struct FitFlags {
  std::string label, kind = "auto", lambdas, split = "0.7,0.15,0.15", reduce = "last", memory = "1G";
  double lambda = 0;
  int folds = 3, max_iter = 1000, threads = 0;
  double tol = 1e-4;
  uint64_t seed = 0;
  bool no_control = false, keep_none = false, json = false;

  void add_to(po::options_description& d) {
    d.add_options()("label", po::value(&label)->required(), "label column of the capture")(
        "kind", po::value(&kind)->default_value("auto"),
        "logistic, ridge, ridge-classifier, mass-mean (auto: logistic for classes, ridge for numbers)")(
        "lambda", po::value(&lambda),
        "fixed L2 strength (mean-loss units; sklearn C = 1/(n lambda)); default: cv")(
        "lambdas", po::value(&lambdas), "comma-separated grid for the cross-validation")(
        "folds", po::value(&folds)->default_value(3),
        "cross-validation folds (< 2: choose on the validation split)")(
        "split", po::value(&split)->default_value("0.7,0.15,0.15"),
        "train,validation,test fractions of sequences")("seed", po::value(&seed)->default_value(0),
                                                        "seed of the split, folds and control task")(
        "reduce", po::value(&reduce)->default_value("last"), "sequence labels: last, mean or index:P")(
        "keep-none", po::bool_switch(&keep_none), "token labels: keep class 0 'none' as a class")(
        "no-control", po::bool_switch(&no_control), "skip the control task")(
        "max-iter", po::value(&max_iter)->default_value(1000), "logistic: L-BFGS iterations")(
        "tol", po::value(&tol)->default_value(1e-4),
        "logistic: stop within about tol (relative) of the optimum (docs/probes.md)")(
        "memory", po::value(&memory)->default_value("1G"), "memory budget; larger captures are streamed")(
        "threads", po::value(&threads)->default_value(0), "threads (0 = all cores)")(
        "json", po::bool_switch(&json), "print JSON instead of tables");
  }

  CaptureFitOptions options(const std::string& path, const po::variables_map& vm,
                            const std::string& cmd) const {
    if (threads < 0) throw InputError("--threads must not be negative");
    if (threads > 0) omp_set_num_threads(threads);
    CaptureFitOptions o;
    o.examples.label = label;
    o.examples.reduce = reduce;
    o.examples.keep_none = keep_none;
    if (kind == "auto") {
      const ActivationFileSummary s = read_activation_summary(path);
      bool number = false;
      for (const LabelColumn& c : s.labels)
        if (c.name == label) number = c.kind == LabelColumn::Kind::SequenceNumber;
      o.fit.kind = number ? ProbeKind::Ridge : ProbeKind::Logistic;
    } else {
      o.fit.kind = parse_probe_kind(kind);
    }
    if (vm.count("lambda")) {
      if (!(lambda > 0)) throw InputError("--lambda must be positive");
      o.fit.lambda = lambda;
    }
    if (!lambdas.empty()) o.fit.grid = parse_grid(lambdas);
    o.fit.folds = folds;
    o.fit.split = SplitFractions::parse(split);
    o.fit.seed = seed;
    o.fit.control = !no_control;
    if (max_iter < 1) throw InputError("--max-iter must be at least 1");
    if (!(tol > 0)) throw InputError("--tol must be positive");
    o.fit.max_iter = max_iter;
    o.fit.tol = tol;
    o.memory_bytes = parse_memory(memory);
    o.command_line = cmd;
    return o;
  }
};

// Redraws one status line on a terminal; silent otherwise.
struct Status {
  bool tty = ::isatty(STDERR_FILENO) == 1;
  void show(const std::string& text) {
    if (tty) std::fprintf(stderr, "\r\033[K%s", text.c_str()), std::fflush(stderr);
  }
  void clear() {
    if (tty) std::fprintf(stderr, "\r\033[K"), std::fflush(stderr);
  }
};

// Member `key` of `j`, or null when `j` is not an object holding it. (operator[] on a const json with a
// missing key is undefined behaviour: found by ASan on a per-position sweep whose rows lack some baselines.)
const json& field(const json& j, const char* key) {
  static const json missing;
  if (!j.is_object()) return missing;
  const auto it = j.find(key);
  return it == j.end() ? missing : *it;
}

std::string num(const json& v, const char* fmt = "%.4f") {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v.get<double>());
  return buf;
}

// A capture still running or killed: only its committed rows are used, and the tables say so.
std::string partial_capture_note(const json& r) {
  const json& p = field(r, "provenance");
  if (!field(p, "capture_complete").is_boolean() || field(p, "capture_complete").get<bool>()) return "";
  return "capture incomplete (still running or killed): only its " +
         std::to_string(field(p, "committed_rows").get<long long>()) + " committed rows of " +
         std::to_string(field(p, "capture_rows").get<long long>()) + " are used\n";
}

void print_fit(const json& r) {
  std::printf("%s probe on %s, label %s (%s", field(r, "kind").get<std::string>().c_str(),
              field(r, "hook").get<std::string>().c_str(), field(r, "label").get<std::string>().c_str(),
              field(r, "label_kind").get<std::string>().c_str());
  if (!field(r, "classes").empty()) {
    std::string c;
    for (const auto& n : field(r, "classes")) c += (c.empty() ? "" : ", ") + n.get<std::string>();
    std::printf("; classes %s", c.c_str());
  }
  std::printf(")\n");
  std::printf("examples %lld: train %lld, validation %lld, test %lld; d %lld; %s\n",
              field(r, "n_examples").get<long long>(), field(r, "n_train").get<long long>(),
              field(r, "n_validation").get<long long>(), field(r, "n_test").get<long long>(),
              field(r, "d").get<long long>(),
              field(r, "streamed").get<bool>() ? "streamed from disk" : "in memory");
  std::printf("%s", partial_capture_note(r).c_str());
  if (field(r, "lambda").is_number())
    std::printf("lambda %s (%s)", num(field(r, "lambda"), "%.3g").c_str(),
                field(r, "lambda_selection").get<std::string>().c_str());
  else
    std::printf("no regularisation");
  if (r.contains("convergence")) {
    const json& c = field(r, "convergence");
    std::printf("; L-BFGS %s after %d iterations (%s, |grad| %.2e)",
                c["converged"].get<bool>() ? "converged" : "DID NOT CONVERGE", c["iterations"].get<int>(),
                c["stop_reason"].get<std::string>().c_str(), c["grad_norm"].get<double>());
  }
  std::printf("; %.2f s\n\n", field(r, "seconds").get<double>());
  const bool cls = field(r, "label_kind") != "sequence_number";
  if (cls) {
    std::printf("%-12s %9s %9s %9s %9s %8s\n", "", "accuracy", "bal.acc", "macro-F1", "log-loss", "n");
    auto row = [&](const char* name, const json& m) {
      if (m.is_null() || !m.contains("accuracy")) return;
      std::printf("%-12s %9s %9s %9s %9s %8lld\n", name, num(field(m, "accuracy")).c_str(),
                  num(field(m, "balanced_accuracy")).c_str(), num(field(m, "macro_f1")).c_str(),
                  num(field(m, "log_loss")).c_str(), field(m, "n").get<long long>());
    };
    row("train", field(field(r, "metrics"), "train"));
    if (field(r, "metrics").contains("validation"))
      row("validation", field(field(r, "metrics"), "validation"));
    row("test", field(field(r, "metrics"), "test"));
    row("majority", field(field(r, "baselines"), "majority"));
    if (field(r, "baselines").contains("control")) row("control", field(field(r, "baselines"), "control"));
    std::printf("\nselectivity (test accuracy - control accuracy): %s\n",
                num(field(r, "selectivity")).c_str());
    std::printf("confusion on test (rows: true, columns: predicted):\n");
    const auto& names = field(r, "classes");
    std::printf("%14s", "");
    for (const auto& n : names) std::printf(" %10.10s", n.get<std::string>().c_str());
    std::printf("\n");
    for (size_t i = 0; i < names.size(); ++i) {
      std::printf("%14.14s", names[i].get<std::string>().c_str());
      for (const auto& v : field(field(field(r, "metrics"), "test"), "confusion")[i])
        std::printf(" %10lld", v.get<long long>());
      std::printf("\n");
    }
  } else {
    std::printf("%-12s %10s %12s %8s\n", "", "R2", "MSE", "n");
    auto row = [&](const char* name, const json& m) {
      if (m.is_null()) return;
      std::printf("%-12s %10s %12s %8lld\n", name, num(field(m, "r2")).c_str(),
                  num(field(m, "mse"), "%.4g").c_str(), field(m, "n").get<long long>());
    };
    row("train", field(field(r, "metrics"), "train"));
    if (field(r, "metrics").contains("validation"))
      row("validation", field(field(r, "metrics"), "validation"));
    row("test", field(field(r, "metrics"), "test"));
    row("mean", field(field(r, "baselines"), "mean"));
  }
}

int probe_fit(const std::vector<std::string>& args) {
  std::string acts, hook, out;
  FitFlags flags;
  po::options_description desc("resid probe fit options");
  desc.add_options()("acts", po::value(&acts)->required(), "capture (HDF5 from resid capture)")(
      "hook", po::value(&hook)->required(), "hook to probe")("output,o", po::value(&out),
                                                             "save the probe (.safetensors)");
  flags.add_to(desc);
  po::positional_options_description pos;
  pos.add("acts", 1);
  po::variables_map vm;
  if (!parse(args, desc, pos, vm, "resid probe fit ACTS.h5 --hook HOOK --label NAME [-o PROBE.safetensors]"))
    return 0;
  CaptureFitOptions o = flags.options(acts, vm, command_line("probe fit", args));
  o.examples.hook = hook;
  Status status;
  o.fit.on_progress = [&](const std::string& stage, int it) {
    status.show(hook + ": " + stage + (it ? " iteration " + std::to_string(it) : ""));
  };
  const FitResult r = with_flag_names([&] { return fit_capture_probe(acts, o); });
  status.clear();
  if (!out.empty()) save_probe(out, r.probe);
  if (flags.json)
    std::cout << r.report.dump() << "\n";
  else
    print_fit(r.report);
  if (!out.empty() && !flags.json) std::printf("\nsaved %s\n", out.c_str());
  return 0;
}

std::string safe_file_name(std::string s) {
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != '_') ch = '_';
  return s;
}

int probe_sweep(const std::vector<std::string>& args) {
  std::string acts, out_dir;
  std::vector<std::string> patterns;
  int jobs = 0;
  bool per_position = false;
  FitFlags flags;
  po::options_description desc("resid probe sweep options");
  desc.add_options()("acts", po::value(&acts)->required(), "capture (HDF5 from resid capture)")(
      "hooks", po::value(&patterns)->multitoken()->required(), "hook globs, e.g. 'blocks.*.hook_resid_post'")(
      "jobs", po::value(&jobs)->default_value(0),
      "hooks fitted at once, each on one thread (0 = one per core: measured faster than threads inside each "
      "fit)")("per-position", po::bool_switch(&per_position),
              "one probe per hook and position: each token position (token labels) or each --positions "
              "indices entry")("output-dir,o", po::value(&out_dir),
                               "save one probe per hook here (HOOK.safetensors; HOOK.posP.safetensors)");
  flags.add_to(desc);
  po::positional_options_description pos;
  pos.add("acts", 1);
  po::variables_map vm;
  if (!parse(args, desc, pos, vm, "resid probe sweep ACTS.h5 --hooks PATTERN... --label NAME [--json]"))
    return 0;
  if (jobs < 0) throw InputError("--jobs must not be negative");
  CaptureFitOptions o = flags.options(acts, vm, command_line("probe sweep", args));
  if (jobs == 0) jobs = omp_get_max_threads();
  const std::vector<std::string> hooks = match_capture_hooks(acts, patterns);
  Status status;
  if (jobs == 1)
    o.fit.on_progress = [&](const std::string& stage, int it) {
      status.show("sweep: " + stage + (it ? " iteration " + std::to_string(it) : ""));
    };
  const std::vector<FitResult> results = with_flag_names([&] {
    return per_position ? sweep_capture_positions(acts, hooks, o, jobs) : sweep_capture(acts, hooks, o, jobs);
  });
  status.clear();
  if (!out_dir.empty()) {
    std::filesystem::create_directories(out_dir);
    for (const FitResult& r : results) {
      if (r.report.contains("skipped")) continue;
      const std::string pos = per_position ? ".pos" + std::to_string(r.report["position"].get<int>()) : "";
      save_probe(
          (std::filesystem::path(out_dir) / (safe_file_name(r.probe.hook) + pos + ".safetensors")).string(),
          r.probe);
    }
  }
  json all = json::array();
  for (const FitResult& r : results) all.push_back(r.report);
  if (flags.json) {
    std::cout << json{{"capture", acts}, {"label", flags.label}, {"probes", all}}.dump() << "\n";
    return 0;
  }
  const auto first =
      std::find_if(all.begin(), all.end(), [](const json& r) { return !r.contains("skipped"); });
  if (first == all.end())
    throw InputError(acts + ": no position could make a probe (" + all[0]["skipped"].get<std::string>() +
                     ")");
  const bool cls = (*first)["label_kind"] != "sequence_number";
  std::printf("%s probes, label %s, %s\n%s\n", (*first)["kind"].get<std::string>().c_str(),
              flags.label.c_str(), acts.c_str(), partial_capture_note(*first).c_str());
  // Per position, the hook column carries "@P".
  auto name = [&](const json& r) {
    return field(r, "hook").get<std::string>() +
           (per_position ? "@" + std::to_string(field(r, "position").get<int>()) : "");
  };
  if (cls)
    std::printf("%-32s %5s %8s %9s %9s %9s %11s %9s %8s %6s\n", "hook", "layer", "n_test", "accuracy",
                "bal.acc", "control", "selectivity", "majority", "lambda", "conv");
  else
    std::printf("%-32s %5s %8s %9s %12s %9s %8s\n", "hook", "layer", "n_test", "R2", "MSE", "mean R2",
                "lambda");
  for (const json& r : all) {
    if (r.contains("skipped")) {
      std::printf("%-32s skipped: %s\n", name(r).c_str(), field(r, "skipped").get<std::string>().c_str());
      continue;
    }
    const json& t = field(field(r, "metrics"), "test");
    const std::string conv = r.contains("convergence")
                                 ? (field(field(r, "convergence"), "converged").get<bool>() ? "yes" : "NO")
                                 : "-";
    if (cls)
      std::printf("%-32s %5d %8lld %9s %9s %9s %11s %9s %8s %6s\n", name(r).c_str(),
                  field(r, "layer").get<int>(), field(t, "n").get<long long>(),
                  num(field(t, "accuracy")).c_str(), num(field(t, "balanced_accuracy")).c_str(),
                  field(r, "baselines").contains("control")
                      ? num(field(field(field(r, "baselines"), "control"), "accuracy")).c_str()
                      : "-",
                  num(field(r, "selectivity"), "%+.4f").c_str(),
                  num(field(field(field(r, "baselines"), "majority"), "accuracy")).c_str(),
                  num(field(r, "lambda"), "%.0e").c_str(), conv.c_str());
    else
      std::printf("%-32s %5d %8lld %9s %12s %9s %8s\n", name(r).c_str(), field(r, "layer").get<int>(),
                  field(t, "n").get<long long>(), num(field(t, "r2")).c_str(),
                  num(field(t, "mse"), "%.4g").c_str(),
                  num(field(field(field(r, "baselines"), "mean"), "r2")).c_str(),
                  num(field(r, "lambda"), "%.0e").c_str());
  }
  return 0;
}

int probe_apply(const std::vector<std::string>& args) {
  std::string probe_path, acts, hook, label, scores_out, memory;
  bool as_json = false, other_hook = false;
  po::options_description desc("resid probe apply options");
  desc.add_options()("probe", po::value(&probe_path)->required(),
                     "probe file (.safetensors from resid probe fit)")(
      "acts", po::value(&acts)->required(), "capture to score")("hook", po::value(&hook),
                                                                "hook to read (default: the probe's)")(
      "other-hook", po::bool_switch(&other_hook), "allow a hook other than the one the probe was fitted on")(
      "label", po::value(&label),
      "label column to score against (default: the probe's, when the capture has it)")(
      "scores", po::value(&scores_out), "write the scores [n, k] as float32 .npy")(
      "memory", po::value(&memory)->default_value("1G"),
      "memory budget: the capture is read in chunks that fit it")("json", po::bool_switch(&as_json),
                                                                  "print JSON");
  po::positional_options_description pos;
  pos.add("probe", 1).add("acts", 1);
  po::variables_map vm;
  if (!parse(args, desc, pos, vm, "resid probe apply PROBE.safetensors ACTS.h5 [--scores OUT.npy] [--json]"))
    return 0;
  const Probe probe = load_probe(probe_path);
  if (hook.empty()) hook = probe.hook;
  if (hook != probe.hook && !other_hook)
    throw InputError(probe_path + ": the probe was fitted on hook " + probe.hook + ", not " + hook +
                     " (--other-hook to apply it anyway)");
  const ActivationFileSummary s = read_activation_summary(acts);
  bool has_label = false;
  for (const LabelColumn& c : s.labels) has_label |= c.name == (label.empty() ? probe.label : label);
  if (!label.empty() && !has_label) throw InputError(acts + ": no label '" + label + "' in the capture");
  ExampleOptions eo;
  eo.hook = hook;
  eo.label = has_label ? (label.empty() ? probe.label : label) : "";
  eo.reduce = probe.reduce == "none" ? "last" : probe.reduce;
  eo.unlabelled_kind = probe.label_kind == "token_class"       ? LabelColumn::Kind::TokenClass
                       : probe.label_kind == "sequence_number" ? LabelColumn::Kind::SequenceNumber
                                                               : LabelColumn::Kind::SequenceClass;
  if (std::find(s.hooks.begin(), s.hooks.end(), hook) == s.hooks.end())
    throw InputError(acts + ": no hook '" + hook + "' in the capture (probe " + probe_path + " reads " +
                     probe.hook + ")");
  const CaptureExamples ex = with_flag_names([&] { return index_capture_examples(acts, eo); });
  if (ex.d != probe.d())
    throw InputError(probe_path + ": the probe has d = " + std::to_string(probe.d()) + " features but " +
                     acts + " /acts/" + hook + " has " + std::to_string(ex.d) +
                     " (a different model or hook?)");
  if ((ex.kind == LabelColumn::Kind::TokenClass) != (probe.label_kind == "token_class"))
    throw InputError(probe_path + ": the probe reads " + probe.label_kind + " examples but label '" +
                     eo.label + "' of " + acts + " is not of that kind");
  const int64_t memory_bytes = parse_memory(memory);
  const CaptureScores scored = with_flag_names([&] { return score_capture(probe, ex, memory_bytes); });
  const Eigen::MatrixXd& scores = scored.scores;
  json out = {{"probe", probe_path},
              {"capture", acts},
              {"hook", hook},
              {"n", ex.size()},
              {"chunks", scored.chunks},
              {"chunk_bytes", scored.chunk_bytes},
              {"provenance",
               {{"committed_rows", ex.summary.committed_rows},
                {"capture_rows", ex.summary.rows},
                {"capture_complete", ex.summary.complete}}}};
  if (!scores_out.empty()) {
    const RowMatrix f = scores.cast<float>();
    write_npy_f32(scores_out, f.data(), {f.rows(), f.cols()});
  }
  if (is_classifier(probe.kind)) {
    const std::vector<int32_t> pred = predict_classes(scores);
    std::vector<int64_t> counts(probe.classes.size(), 0);
    for (int32_t p : pred) ++counts[p];
    for (size_t c = 0; c < probe.classes.size(); ++c) out["predicted"][probe.classes[c]] = counts[c];
    if (has_label) {
      std::vector<int32_t> truth(ex.size());
      for (int64_t i = 0; i < ex.size(); ++i) {
        const std::string& name = ex.classes[ex.label[i]];
        const auto it = std::find(probe.classes.begin(), probe.classes.end(), name);
        if (it == probe.classes.end())
          throw InputError(acts + ": label '" + eo.label + "' has class '" + name + "' that probe " +
                           probe_path + " does not know");
        truth[i] = static_cast<int32_t>(it - probe.classes.begin());
      }
      const Eigen::MatrixXd p =
          probe.kind == ProbeKind::Logistic ? class_probabilities(scores) : Eigen::MatrixXd();
      out["metrics"] =
          classification_metrics(truth, pred, static_cast<int>(probe.classes.size()), p).to_json();
    }
  } else if (has_label) {
    out["metrics"] =
        regression_metrics(ex.value, std::vector<double>(scores.data(), scores.data() + scores.rows()))
            .to_json();
  }
  if (as_json) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("%s on %s (%s): %lld examples, read in %lld chunks\n", probe_path.c_str(), acts.c_str(),
              hook.c_str(), (long long)ex.size(), (long long)scored.chunks);
  std::printf("%s", partial_capture_note(out).c_str());
  if (out.contains("predicted"))
    for (const auto& [name, count] : out["predicted"].items())
      std::printf("  predicted %-16s %lld\n", name.c_str(), count.get<long long>());
  if (out.contains("metrics")) {
    const json& m = out["metrics"];
    if (m.contains("accuracy"))
      std::printf("accuracy %s  balanced accuracy %s  macro-F1 %s  log-loss %s\n",
                  num(field(m, "accuracy")).c_str(), num(field(m, "balanced_accuracy")).c_str(),
                  num(field(m, "macro_f1")).c_str(), num(field(m, "log_loss")).c_str());
    else
      std::printf("R2 %s  MSE %s\n", num(field(m, "r2")).c_str(), num(field(m, "mse"), "%.4g").c_str());
  }
  if (!scores_out.empty()) std::printf("scores written to %s\n", scores_out.c_str());
  return 0;
}

int probe_direction(const std::vector<std::string>& args) {
  std::string probe_path, cls, out;
  po::options_description desc("resid probe direction options");
  desc.add_options()("probe", po::value(&probe_path)->required(), "probe file")(
      "class", po::value(&cls), "class whose direction to write (classifiers)")(
      "output,o", po::value(&out)->required(), "output .npy (float32 [d_model], unit length)");
  po::positional_options_description pos;
  pos.add("probe", 1);
  po::variables_map vm;
  if (!parse(args, desc, pos, vm, "resid probe direction PROBE.safetensors --class C -o dir.npy")) return 0;
  const Probe probe = load_probe(probe_path);
  if (is_classifier(probe.kind) && cls.empty()) {
    std::string names;
    for (const std::string& n : probe.classes) names += (names.empty() ? "" : ", ") + n;
    throw InputError(probe_path + ": give --class (classes: " + names + ")");
  }
  Eigen::VectorXf dir;
  try {
    dir = with_flag_names([&] { return probe.direction(cls); });
  } catch (const InputError& e) {
    throw InputError(probe_path + ": " + e.what());
  }
  write_npy_f32(out, dir.data(), {dir.size()});
  std::fprintf(stderr,
               "%s: unit direction (d = %lld) of %s probe on %s%s; steer with --steer '%s=%s*ALPHA'\n",
               out.c_str(), (long long)dir.size(), probe_kind_name(probe.kind).c_str(), probe.hook.c_str(),
               cls.empty() ? "" : (", class " + cls).c_str(), probe.hook.c_str(), out.c_str());
  return 0;
}

}  // namespace

int run_probe(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: resid probe <fit|sweep|apply|direction> [options]   (resid probe <sub> --help)\n"
      "  fit        fit one probe on a hook of a capture, with baselines (majority, control task)\n"
      "  sweep      one probe per hook matching patterns: the accuracy-by-layer table\n"
      "  apply      score a capture with a saved probe\n"
      "  direction  write a probe's unit direction as .npy for resid run --steer\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "fit") return probe_fit(rest);
  if (args[0] == "sweep") return probe_sweep(rest);
  if (args[0] == "apply") return probe_apply(rest);
  if (args[0] == "direction") return probe_direction(rest);
  throw InputError("unknown probe subcommand '" + args[0] + "' (expected fit, sweep, apply or direction)");
}

}  // namespace resid::cli
