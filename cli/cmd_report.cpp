// resid report: one self-contained HTML file of charts from whichever inputs are given (docs/reports.md).
#include <omp.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "reports/build_report.h"
#include "reports/html_page.h"

namespace resid::cli {

int run_report(const std::vector<std::string>& args) {
  ReportInputs in;
  ModelOptions model_opts;  // --tokenizer, --threads as every command with a model has them
  std::string out;
  po::options_description desc("resid report options");
  desc.add_options()("output,o", po::value(&out)->required(), "the HTML file to write (replaced atomically)")(
      "title", po::value(&in.title)->default_value("resid report"), "the page's title")(
      "capture", po::value(&in.capture), "activation file: activation statistics by layer")(
      "census", po::value(&in.census), "census statistics file (resid census -o): the census section")(
      "probe-sweep", po::value(&in.probe_sweep), "JSON of resid probe sweep --json: probe accuracy by layer")(
      "model", po::value(&model_opts.model), "model for the logit lens and attention (with --prompt)")(
      "prompt", po::value(&in.prompt), "prompt for the logit lens and attention patterns")(
      "mlp-weights", po::value(&in.mlp_weights), "plain MLP checkpoint: first-layer weights as image tiles");
  model_opts.add_to(desc);
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse(
          args, desc, pos, vm,
          "resid report -o report.html [--capture ACTS.h5] [--census CENSUS.h5] [--probe-sweep SWEEP.json] "
          "[--model M --prompt TEXT] [--mlp-weights MLP]"))
    return 0;
  if (model_opts.threads < 0) throw InputError("--threads must not be negative");
  if (model_opts.threads > 0) omp_set_num_threads(model_opts.threads);
  in.model = model_opts.model, in.tokenizer = model_opts.tokenizer;
  in.command_line = "resid report";
  for (const std::string& a : args) in.command_line += " " + a;
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
