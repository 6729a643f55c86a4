// resid capture MODEL DATASET --hooks PATTERN... -o OUT.h5: stream hook activations over a dataset into HDF5.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "capture/capture.h"
#include "capture/capture_mlp.h"
#include "capture/fingerprint.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flag_names.h"
#include "cli/progress.h"
#include "core/error.h"
#include "datasets/image_set.h"

namespace resid::cli {

namespace {

std::atomic<bool> g_stop{false};
extern "C" void request_stop(int) {
  g_stop.store(true);
}

// The first SIGINT/SIGTERM asks the capture to stop after the current batch; the handler is then reset, so a
// second one ends the process at once (the file keeps its last commit either way). Installed only once the
// output is open and checked: before that a signal ends the process right away, even inside a slow HDF5 call.
void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = request_stop;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Peak resident set size of this process so far (VmHWM), in MiB; -1 if /proc is unavailable.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

// The summary line on stderr; exit code 130 when the run stopped early (its committed rows kept for
// --resume).
int report_result(const std::string& out, const CaptureResult& r, bool tokens) {
  char speed[96] = "";
  if (tokens)
    std::snprintf(speed, sizeof speed, ", %lld tokens) in %.2f s, %.0f tokens/s", (long long)r.new_tokens,
                  r.seconds, r.new_tokens / std::max(r.seconds, 1e-9));
  else
    std::snprintf(speed, sizeof speed, ") in %.2f s", r.seconds);
  std::fprintf(stderr, "%s: %lld rows (%lld new%s, peak RSS %.0f MiB%s\n", out.c_str(), (long long)r.rows,
               (long long)r.new_rows, speed, peak_rss_mib(), r.complete ? "" : " (stopped early)");
  if (!r.complete) {
    std::fprintf(stderr, "resid capture: interrupted; %lld committed rows are kept, continue with --resume\n",
                 (long long)r.rows);
    return 130;
  }
  return 0;
}

// A plain MLP over IDX examples: one row per example (capture/capture_mlp.h).
int capture_mlp_cli(const LoadedModel& m, const std::string& examples, const std::string& labels,
                    const std::string& out, CaptureOptions cap, const std::vector<std::string>& args) {
  const ImageSet set = read_idx_images(examples, labels);
  ActivationFileInfo info = capture_file_info(m, examples, command_line("capture", args));
  info.tokenizer = "none";
  info.dataset_description = std::to_string(set.size()) + " IDX examples of " +
                             std::to_string(set.pixels.cols()) + " features" +
                             (labels.empty() ? "" : ", classes from " + labels);
  fingerprint_vector_inputs(m, examples, labels, &info, &cap.writer.inputs);
  cap.stop = &g_stop;
  cap.on_start = install_stop_handlers;
  Progress progress("capture", cap.max_rows > 0 ? std::min(cap.max_rows, set.size()) : set.size());
  cap.on_progress = [&](int64_t rows, int64_t) { progress.update(rows, rows); };
  const CaptureResult r = with_flag_names([&] { return capture_mlp(*m.mlp, set, {}, out, info, cap); });
  progress.finish();
  return report_result(out, r, false);
}

}  // namespace

int run_capture(const std::vector<std::string>& args) {
  ModelOptions model_opts;
  DatasetOptions data;
  CaptureOptions cap;
  std::string out, positions = "all", dtype = "float32", idx_labels;
  int64_t max_line_bytes = 0;
  po::options_description desc("resid capture options");
  desc.add_options()("model", po::value(&model_opts.model)->required(), "model path")(
      "dataset", po::value(&data.path)->required(), "dataset file")(
      "hooks", po::value(&cap.hook_patterns)->multitoken()->required(),
      "hook names, globs or layer ranges (blocks.*.hook_resid_post, blocks.2-4.mlp.hook_post)")(
      "output,o", po::value(&out)->required(), "output HDF5 file")(
      "kind", po::value(&data.kind)->default_value("auto"),
      "dataset kind: auto, text, windows, jsonl, tokens, tagged")(
      "text-field", po::value(&data.text_field)->default_value("text"), "JSONL: the text field")(
      "label-field", po::value(&data.label_fields)->composing(), "JSONL: a label field (repeatable)")(
      "labels", po::value(&data.label_files)->composing(),
      "extra per-sequence labels NAME=FILE, one per line")(
      "idx-labels", po::value(&idx_labels),
      "plain MLPs: IDX class labels of the IDX examples (column 'class')")(
      "rule", po::value(&data.rules)->composing(),
      "per-token rule label: in_quotes, end_of_sentence, starts_word, is_digit, is_capitalised (repeatable)")(
      "window", po::value(&data.window)->default_value(0), "windows: tokens per window (0 = --max-tokens)")(
      "no-bos", po::bool_switch(), "do not prepend BOS")(
      "truncate", po::bool_switch(&data.truncate),
      "cut examples longer than --max-tokens instead of failing")(
      "max-tokens", po::value(&cap.n_pos)->default_value(0), "positions per row (0 = the model's n_ctx)")(
      "positions", po::value(&positions)->default_value("all"), "all, last, mean, or indices like 0,5,-1")(
      "dtype", po::value(&dtype)->default_value("float32"), "stored dtype: float32, float16, bfloat16")(
      "compress", po::bool_switch(&cap.writer.compress),
      "store the finished file with shuffle + deflate(1) (compressed once complete)")(
      "batch-size", po::value(&cap.batch_size)->default_value(8), "sequences per forward pass")(
      "max-rows", po::value(&cap.max_rows)->default_value(0),
      "capture only the first N rows (0 = all; fixed when the file is created)")(
      "max-line-bytes", po::value(&max_line_bytes)->default_value(16 << 20),
      "longest dataset line accepted, in bytes")("resume", po::bool_switch(&cap.resume),
                                                 "continue an interrupted capture into OUT")(
      "force", po::bool_switch(&cap.writer.force), "replace OUT if it is a resid activation file")(
      "force-overwrite-any", po::bool_switch(&cap.writer.force_any),
      "replace OUT if it is any regular file (never an input of this run, a device, FIFO or symlink)");
  model_opts.add_to(desc);
  po::positional_options_description pos;
  pos.add("model", 1).add("dataset", 1);
  po::variables_map vm;
  if (!parse(args, desc, pos, vm, "resid capture MODEL DATASET --hooks PATTERN... -o OUT.h5")) return 0;
  if (cap.resume && (cap.writer.force || cap.writer.force_any))
    throw InputError("--resume and --force contradict each other");
  if (cap.max_rows < 0)
    throw InputError("--max-rows " + std::to_string(cap.max_rows) + " is negative (0 = all)");
  if (max_line_bytes < 1)
    throw InputError("--max-line-bytes " + std::to_string(max_line_bytes) + " is below 1");
  data.max_line_bytes = static_cast<size_t>(max_line_bytes);
  with_flag_names([&] {
    cap.positions = PositionSpec::parse(positions);
    cap.writer.dtype = store_dtype_from_name(dtype);
    return 0;
  });
  data.add_bos = !vm["no-bos"].as<bool>();

  const LoadedModel m = model_opts.load();
  if (m.mlp) {
    if (vm["max-tokens"].as<int>() != 0 || positions != "all" || !data.label_files.empty() ||
        !data.rules.empty() || !data.label_fields.empty() || vm["kind"].as<std::string>() != "auto")
      throw InputError(
          m.path +
          " is a plain MLP: its dataset is an IDX file of examples (--idx-labels for their classes); "
          "--kind, --max-tokens, --positions, --labels, --label-field and --rule are for language "
          "models");
    return capture_mlp_cli(m, data.path, idx_labels, out, cap, args);
  }
  if (!idx_labels.empty())
    throw InputError("--idx-labels is for plain MLPs; " + m.path + " is a language model");
  const Transformer& model = require_transformer(m);
  const CapturePlan plan = with_flag_names([&] { return CapturePlan::resolve(model.config(), cap); });
  plan.limit_dataset(data);
  auto dataset = with_flag_names([&] { return open_dataset(data, m.tokenizer.get()); });

  ActivationFileInfo info = capture_file_info(m, data.path, command_line("capture", args));
  info.tokenizer = m.tokenizer ? m.tokenizer->describe() : "";
  info.dataset_description = dataset->describe();
  fingerprint_inputs(m, data, *dataset, &info, &cap.writer.inputs);

  cap.stop = &g_stop;
  cap.on_start = install_stop_handlers;
  const std::optional<size_t> total = with_flag_names([&] { return dataset->count_examples(); });
  int64_t expected_rows = total ? static_cast<int64_t>(*total) : 0;
  if (cap.max_rows > 0) expected_rows = expected_rows ? std::min(expected_rows, cap.max_rows) : cap.max_rows;
  Progress progress("capture", expected_rows);
  cap.on_progress = [&](int64_t rows, int64_t tokens) { progress.update(rows, tokens); };
  const CaptureResult r =
      with_flag_names([&] { return capture_activations(model, plan, *dataset, out, info, cap); });
  progress.finish();
  return report_result(out, r, true);
}

}  // namespace resid::cli
