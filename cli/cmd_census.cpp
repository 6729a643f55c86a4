// resid census: how much of a model's MLP never fires, and where. Over a language model and a dataset, a
// plain MLP and IDX images (--images, with --labels also its accuracy), or the mlp hooks of a capture
// (--capture).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "capture/activation_file.h"
#include "census/census_file.h"
#include "census/census_json.h"
#include "census/run_census.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flag_names.h"
#include "cli/progress.h"
#include "core/error.h"

namespace resid::cli {

namespace {

// The whole text as one finite number, or an InputError naming the flag.
double parse_number(const std::string& flag, const std::string& text) {
  const double v = parse_double(flag, text);
  if (!std::isfinite(v)) throw InputError(flag + " '" + text + "' is not a number");
  return v;
}

std::vector<double> parse_numbers(const std::string& flag, const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(parse_number(flag, item));
  if (out.empty()) throw InputError(flag + ": no numbers given");
  return out;
}

std::string ids_line(const std::vector<int32_t>& ids, size_t limit) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < limit; ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
  if (ids.size() > limit) s += ", ... (" + std::to_string(ids.size() - limit) + " more)";
  return s.empty() ? "none" : s;
}

void print_table(const CensusResult& r, size_t show_ids) {
  const int64_t positions = r.layers.empty() ? 0 : r.layers.front().n_tokens;
  std::printf("census of %s\nover %s: %lld examples, %lld positions counted (pads excluded)%s\n",
              r.source.c_str(), r.data.c_str(), (long long)r.n_examples, (long long)positions,
              r.partial ? " (an incomplete capture: its committed rows only)" : "");
  std::printf("firing rule: %s\n", r.rule_description().c_str());
  if (r.n_labelled > 0)
    std::printf("accuracy: %.4f (%lld of %lld correct)\n", r.accuracy(), (long long)r.n_correct,
                (long long)r.n_labelled);
  std::printf("\n%5s  %-24s %8s %7s %8s", "layer", "hook", "neurons", "dead", "dead %");
  for (double d : r.options.rare_densities) {
    char h[32];
    std::snprintf(h, sizeof h, "rare<%g", d);
    std::printf(" %10s", h);
  }
  std::printf("\n");
  for (const LayerCensus& l : r.layers) {
    const size_t dead = l.dead_ids().size();
    std::printf("%5d  %-24s %8d %7zu %7.2f%%", l.layer, l.hook.c_str(), l.width(), dead,
                l.width() ? 100.0 * double(dead) / l.width() : 0.0);
    for (double d : r.options.rare_densities) std::printf(" %10lld", (long long)l.rare_count(d));
    std::printf("\n");
  }
  std::printf("(rare: fired, but on fewer than that fraction of the tokens; dead: never fired)\n");
  const std::vector<double> edges = r.options.histogram_edges_log10();
  std::printf(
      "\nlog10 firing density of the neurons that fired, %zu bins from %g to 0 (first bin also takes "
      "lower densities):\n",
      edges.size() - 1, edges.front());
  for (const LayerCensus& l : r.layers) {
    std::printf("  layer %d:", l.layer);
    for (int64_t c : l.histogram(r.options)) std::printf(" %lld", (long long)c);
    std::printf("\n");
  }
  std::printf("\ndead neuron ids:\n");
  for (const LayerCensus& l : r.layers)
    std::printf("  layer %d: %s\n", l.layer, ids_line(l.dead_ids(), show_ids).c_str());
}

}  // namespace

int run_census(const std::vector<std::string>& args) {
  ModelOptions model_opts;
  DatasetOptions data;
  CensusRunOptions run;
  std::string capture, images, labels, threshold = "0", rare = "1e-5,1e-3", out;
  int batch_size = 0;
  size_t show_ids = 20;
  po::options_description desc("resid census options");
  desc.add_options()("model", po::value(&model_opts.model), "model path (not with --capture)")(
      "dataset", po::value(&data.path), "language models: the dataset file")(
      "capture", po::value(&capture),
      "count the mlp hooks stored in this activation file instead of running a model")(
      "images", po::value(&images), "plain MLPs: IDX images (gzip or plain), pixels scaled to [0, 1]")(
      "labels", po::value(&labels), "plain MLPs: IDX labels, to report the model's accuracy too")(
      "threshold", po::value(&threshold)->default_value("0"), "a neuron fires when its value is > this")(
      "rare", po::value(&rare)->default_value("1e-5,1e-3"),
      "report neurons firing on fewer than these fractions")("json", po::bool_switch(),
                                                             "print JSON instead of the table")(
      "output,o", po::value(&out), "write per-neuron statistics to this HDF5 file (docs/census.md)")(
      "show-ids", po::value(&show_ids)->default_value(20), "dead ids printed per layer in the table")(
      "kind", po::value(&data.kind)->default_value("auto"),
      "dataset kind: auto, text, windows, jsonl, tokens, tagged")(
      "text-field", po::value(&data.text_field)->default_value("text"), "JSONL: the text field")(
      "window", po::value(&data.window)->default_value(0), "windows: tokens per window (0 = --max-tokens)")(
      "no-bos", po::bool_switch(), "do not prepend BOS")(
      "truncate", po::bool_switch(&data.truncate),
      "cut examples longer than --max-tokens instead of failing")(
      "max-tokens", po::value(&run.n_pos)->default_value(0), "longest example (0 = the model's n_ctx)")(
      "batch-size", po::value(&batch_size)->default_value(0),
      "sequences or images per forward (0 = 8 / 500)")("max-rows", po::value(&run.max_rows)->default_value(0),
                                                       "stop after this many sequences or images (0 = all)");
  model_opts.add_to(desc);
  po::positional_options_description pos;
  pos.add("model", 1).add("dataset", 1);
  po::variables_map vm;
  const std::string usage =
      "resid census MODEL DATASET | MLP --images IDX [--labels IDX] | --capture ACTS.h5  [--json] [-o "
      "census.h5]";
  if (!parse(args, desc, pos, vm, usage)) return 0;
  run.census.threshold = parse_number("--threshold", threshold);
  run.census.rare_densities = parse_numbers("--rare", rare);
  with_flag_names([&] { run.census.validate(); });
  if (batch_size < 0)
    throw InputError("--batch-size " + std::to_string(batch_size) + " must not be negative");
  if (run.max_rows < 0)
    throw InputError("--max-rows " + std::to_string(run.max_rows) + " must not be negative");
  const bool json = vm["json"].as<bool>();
  data.add_bos = !vm["no-bos"].as<bool>();

  CensusResult result;
  if (!capture.empty()) {
    if (!model_opts.model.empty() || !images.empty() || !labels.empty())
      throw InputError(
          "--capture reads the activations from the file; give no MODEL, DATASET, --images or --labels "
          "with it");
    run.batch_size = batch_size > 0 ? batch_size : 8;
    Progress p("census", read_activation_summary(capture).committed_rows);
    run.on_progress = [&](int64_t rows, int64_t tokens) { p.update(rows, tokens); };
    result = with_flag_names([&] { return census_of_capture(capture, run); });
    p.finish();
  } else {
    if (model_opts.model.empty()) throw InputError("no model given (usage: " + usage + ")");
    const LoadedModel m = model_opts.load();
    if (m.mlp) {
      if (images.empty())
        throw InputError(m.path + ": is a plain MLP; give its input images with --images IDX");
      if (!data.path.empty()) throw InputError(m.path + ": is a plain MLP; it reads --images, not a DATASET");
      const ImageSet set = read_idx_images(images, labels);
      run.batch_size = batch_size > 0 ? batch_size : 500;
      Progress p("census", run.max_rows > 0 ? std::min(run.max_rows, set.size()) : set.size());
      run.on_progress = [&](int64_t rows, int64_t tokens) { p.update(rows, tokens); };
      result = with_flag_names([&] { return census_of_mlp(*m.mlp, set, run); });
      p.finish();
    } else {
      if (!images.empty() || !labels.empty())
        throw InputError("--images/--labels are for plain MLPs; " + m.path +
                         " is a language model: give a DATASET");
      if (data.path.empty()) throw InputError("no DATASET given (usage: " + usage + ")");
      const Transformer& model = require_transformer(m);
      const int n_pos = run.n_pos > 0 ? run.n_pos : model.config().n_ctx;
      if (n_pos > model.config().n_ctx)
        throw InputError("--max-tokens " + std::to_string(n_pos) +
                         " exceeds the model's n_ctx = " + std::to_string(model.config().n_ctx));
      data.max_tokens = n_pos;
      if (data.kind == "windows" && data.window == 0) data.window = n_pos;
      auto dataset = with_flag_names([&] { return open_dataset(data, m.tokenizer.get()); });
      const std::optional<size_t> total = with_flag_names([&] { return dataset->count_examples(); });
      run.batch_size = batch_size > 0 ? batch_size : 8;
      Progress p("census", total ? static_cast<int64_t>(*total) : 0);
      run.on_progress = [&](int64_t rows, int64_t tokens) { p.update(rows, tokens); };
      result = with_flag_names([&] { return census_of_transformer(model, *dataset, run); });
      p.finish();
      result.data = data.path + " (" + result.data + ")";
    }
    result.source = m.path;
  }
  if (!out.empty()) write_census_file(out, result);
  if (json) {
    std::cout << census_to_json(result).dump(2) << "\n";
  } else {
    print_table(result, show_ids);
    if (!out.empty()) std::printf("\nper-neuron statistics: %s\n", out.c_str());
  }
  return 0;
}

}  // namespace resid::cli
