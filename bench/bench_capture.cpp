// Capture overhead and write speed.
//  1. Bare forward (no hooks, no logits) over N batches of 4 x 256 tokens vs `capture_activations` of every
//     blocks.*.hook_resid_post over the same tokens (uncompressed float32). Target: capture adds <= 10%.
//  2. Raw append speed of the HDF5 activation file (no model), against `dd` writing the same number of bytes
//  in the
//     same directory. Target: >= 500 MB/s.
//   bench_capture [--shape 15M|110M] [--batches N] [--rounds R] [--dir DIR] [--threads 2]
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "bench/bench_args.h"
#include "bench/bench_shapes.h"
#include "bench/bench_timing.h"
#include "capture/capture.h"
#include "core/allocator.h"
#include "core/init.h"
#include "core/openmp_wait.h"

using namespace resid;
namespace fs = std::filesystem;

namespace {}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);  // as the resid CLI runs (core/openmp_wait.h)
  std::string which = "15M", dir = fs::temp_directory_path().string();
  int batches = 16, threads = 2, rounds = 3;
  bench::Args(
      "bench_capture [--shape 15M|110M] [--batches N] [--rounds R] [--dir DIR] [--threads N]: capture "
      "overhead over a bare forward, and raw append MB/s vs dd")
      .flag("--shape", &which)
      .flag("--batches", &batches)
      .flag("--dir", &dir)
      .flag("--threads", &threads)
      .flag("--rounds", &rounds)
      .parse(argc, argv);
  tune_allocator_for_large_buffers();
  omp_set_num_threads(threads);
  const int batch = 4, n_pos = 256;
  const fs::path work = fs::path(dir) / ("resid-bench-capture-" + std::to_string(::getpid()));
  fs::create_directories(work);

  const Config c = bench::stories_shape(which);
  const Transformer model(c, random_weights(c, 1));
  // The dataset: random token ids, one sequence of n_pos per line.
  const std::string data = (work / "ids.tokens").string();
  {
    std::ofstream out(data);
    Rng rng(2);
    for (int s = 0; s < batches * batch; ++s) {
      for (int p = 0; p < n_pos; ++p) out << (p ? " " : "") << rng.next_u64() % c.d_vocab;
      out << "\n";
    }
  }
  DatasetOptions dopts;
  dopts.path = data;
  dopts.kind = "tokens";
  dopts.max_tokens = n_pos;

  // 1. Bare forward and capture over the same batches, alternated `rounds` times; the fastest of each counts,
  // so a burst of other load on the machine does not decide the comparison.
  std::vector<std::vector<int32_t>> rows;
  {
    auto ds = open_dataset(dopts, nullptr);
    Example ex;
    while (ds->next(ex)) rows.push_back(ex.tokens);
  }
  ForwardOptions bare;
  bare.logits = LogitsAt::None;
  model.forward(TokenBatch::pad({rows.begin(), rows.begin() + batch}), bare);  // warm-up
  CaptureOptions copts;
  copts.hook_patterns = {"blocks.*.hook_resid_post"};
  copts.n_pos = n_pos;
  copts.batch_size = batch;
  copts.writer.force = true;
  ActivationFileInfo info;
  info.resid_version = RESID_VERSION;
  const std::string out = (work / "capture.h5").string();
  double forward_s = 1e30, capture_s = 1e30;
  CaptureResult r;
  for (int round = 0; round < rounds; ++round) {
    auto t = std::chrono::steady_clock::now();
    for (int b = 0; b < batches; ++b)
      model.forward(TokenBatch::pad({rows.begin() + b * batch, rows.begin() + (b + 1) * batch}), bare);
    forward_s = std::min(forward_s, bench::seconds_since(t));
    auto ds = open_dataset(dopts, nullptr);
    t = std::chrono::steady_clock::now();
    r = capture_activations(model, CapturePlan::resolve(c, copts), *ds, out, info, copts);
    capture_s = std::min(capture_s, bench::seconds_since(t));
  }
  const double captured_mb = double(r.rows) * n_pos * c.d_model * c.n_layers * 4 / 1e6;
  std::printf("shape %s, %d batches of %d x %d tokens, %d threads, best of %d rounds\n", which.c_str(),
              batches, batch, n_pos, threads, rounds);
  std::printf("bare forward            %8.3f s  %8.0f tokens/s\n", forward_s,
              batches * batch * n_pos / forward_s);
  std::printf(
      "capture resid_post x%-3d %8.3f s  %8.0f tokens/s  (%.0f MB)  overhead %+.1f%%  (target <= 10%%)\n",
      c.n_layers, capture_s, r.new_tokens / capture_s, captured_mb, 100 * (capture_s / forward_s - 1));

  // 2. Raw append speed: the same rows written again without the model.
  {
    std::vector<HookDatasetSpec> specs;
    for (int l = 0; l < c.n_layers; ++l)
      specs.push_back({"blocks." + std::to_string(l) + ".hook_resid_post", l, "none", {n_pos, c.d_model}});
    const std::string raw = (work / "raw.h5").string();
    info.n_pos = n_pos;
    info.positions = "all";
    WriterOptions raw_options;
    raw_options.rows = int64_t{batches} * batch;
    auto writer = ActivationFileWriter::create(raw, info, specs, {}, raw_options);
    std::vector<float> acts(size_t(batch) * n_pos * c.d_model, 0.5f);
    std::vector<int32_t> tokens(size_t(batch) * n_pos, 1), lengths(batch, n_pos);
    std::vector<const float*> ptrs(specs.size(), acts.data());
    const auto t = std::chrono::steady_clock::now();
    for (int b = 0; b < batches; ++b) {
      writer->append(batch, tokens.data(), lengths.data(), {}, {}, ptrs);
      writer->commit({});
    }
    writer->finish({});
    writer.reset();
    const double write_s = bench::seconds_since(t);
    std::printf("HDF5 append (no model)  %8.3f s  %8.0f MB/s  (target >= 500 MB/s)\n", write_s,
                captured_mb / write_s);
    const std::string dd = "dd if=/dev/zero of=" + (work / "dd.bin").string() +
                           " bs=1M count=" + std::to_string(static_cast<int>(captured_mb / 1.048576)) +
                           " 2>&1 | tail -n 1";
    std::printf("dd, same bytes, same dir: ");
    std::fflush(stdout);
    if (std::system(dd.c_str()) != 0) std::printf("(dd failed)\n");
  }
  fs::remove_all(work);
  return 0;
}
