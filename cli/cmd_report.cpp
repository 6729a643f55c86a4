// resid report: one self-contained HTML file of charts from whichever inputs are given (docs/reports.md).
#include <omp.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "datasets/open_points.h"
#include "reports/build_report.h"
#include "reports/html_page.h"

namespace resid::cli {

int run_report(const std::vector<std::string>& args) {
  ReportInputs in;
  ModelOptions model_opts;  // --tokenizer, --threads as every command with a model has them
  std::string out;
  PointSource points;
  std::vector<std::string> training;
  po::options_description desc("resid report options");
  desc.add_options()("output,o", po::value(&out)->required(), "the HTML file to write (replaced atomically)")(
      "title", po::value(&in.title)->default_value("resid report"), "the page's title")(
      "capture", po::value(&in.capture), "activation file: activation statistics by layer")(
      "census", po::value(&in.census), "census statistics file (resid census -o): the census section")(
      "probe-sweep", po::value(&in.probe_sweeps)->composing(),
      "JSON of resid probe sweep --json: probe accuracy by layer (repeatable: a section per sweep)")(
      "model", po::value(&model_opts.model), "model for the logit lens and attention (with --prompt)")(
      "prompt", po::value(&in.prompt), "prompt for the logit lens and attention patterns")(
      "mlp-weights", po::value(&in.mlp_weights),
      "plain MLP checkpoint: first-layer weights as image tiles, or the folds of a 2-D-input MLP")(
      "data", po::value(&points.data),
      "points drawn over the folds, as resid train --data: a generator (spirals:3, moons, ...) or a CSV "
      "file")("points", po::value(&points.toy.n)->default_value(1000),
              "generators: number of points (resid train's)")(
      "noise", po::value<double>(), "generators: Gaussian noise std (resid train's)")(
      "data-seed", po::value(&points.toy.seed)->default_value(0), "generators: seed (resid train's)")(
      "training", po::value(&training)->composing(),
      "[NAME=]FILE of resid train --json: loss, accuracy and dead ReLUs by epoch (repeatable, one line per "
      "run)");
  model_opts.add_to(desc);
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse(
          args, desc, pos, vm,
          "resid report -o report.html [--capture ACTS.h5] [--census CENSUS.h5] [--probe-sweep "
          "SWEEP.json...] "
          "[--model M --prompt TEXT] [--mlp-weights MLP [--data SPEC|CSV]] [--training [NAME=]RUN.jsonl...]"))
    return 0;
  if (model_opts.threads < 0) throw InputError("--threads must not be negative");
  if (model_opts.threads > 0) omp_set_num_threads(model_opts.threads);
  in.model = model_opts.model, in.tokenizer = model_opts.tokenizer;
  if (vm.count("noise")) points.toy.noise = vm["noise"].as<double>();  // checked by the generator
  if (!points.data.empty()) {
    const PointSet set = open_points(points);
    if (set.n_features() != 2)
      throw InputError(set.source + ": points have " + std::to_string(set.n_features()) +
                       " features; the folds are drawn over points of the plane (2)");
    in.plane_points.xy.assign(set.x.data(), set.x.data() + set.x.size());
    in.plane_points.label.assign(set.y.begin(), set.y.end());
    in.plane_points_source = set.source;
  }
  for (const std::string& spec : training) {
    const size_t eq = spec.find('=');
    const std::string file = eq == std::string::npos ? spec : spec.substr(eq + 1);
    const std::string name =
        eq == std::string::npos ? std::filesystem::path(file).stem().string() : spec.substr(0, eq);
    in.training_runs.push_back(read_training_history(file, name));
  }
  in.command_line = command_line("report", args);
  const Report report = build_report(in);
  write_report(out, report);
  std::cout << "wrote " << out << ": " << report.sections.size() << " sections, " << report.chart_count()
            << " charts";
  if (!report.skipped.empty()) {
    std::cout << "; skipped:";
    for (size_t i = 0; i < report.skipped.size(); ++i)
      std::cout << (i ? ";" : "") << " " << report.skipped[i].title << " (" << report.skipped[i].reason
                << ")";
  }
  std::cout << "\n";
  return 0;
}

}  // namespace resid::cli
