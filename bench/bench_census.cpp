// Census overhead: the census only counts, so it should run within 10% of a bare forward over the same data.
//  1. A seeded transformer (15M or 110M shape), N batches of 4 x 256 random tokens: bare forward (no hooks,
//  no
//     logits, every block) vs census_of_transformer over the same token rows.
//  2. With ../shared present: stories260K over the TinyStories sample (one example per line, BOS, <= 256
//  tokens),
//     and the MNIST MLP over the 10,000 test images, each against its bare forward.
// Both sides get pre-tokenised rows, so tokenising is in neither; the fastest of R alternated rounds counts.
//   bench_census [--shape 15M|110M] [--batches N] [--rounds R] [--threads 2] [--shared DIR]
//                [--parts seeded,stories,mnist]
#include <omp.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>

#include "bench/bench_args.h"
#include "bench/bench_shapes.h"
#include "bench/bench_timing.h"
#include "census/run_census.h"
#include "core/allocator.h"
#include "core/formats/model_file.h"
#include "core/init.h"
#include "core/openmp_wait.h"

using namespace resid;
namespace fs = std::filesystem;

namespace {

// CPU time of the whole process (all threads): on a machine shared with other jobs it varies far less than
// wall time, which counts the time other processes held the cores.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Pre-tokenised rows as a Dataset.
class RowsDataset : public Dataset {
 public:
  explicit RowsDataset(const std::vector<std::vector<int32_t>>& rows) : rows_(rows) {}
  bool next(Example& out) override {
    if (i_ >= rows_.size()) return false;
    out.tokens = rows_[i_++];
    return true;
  }
  void rewind() override { i_ = 0; }
  const std::vector<LabelColumn>& labels() const override { return labels_; }
  std::string describe() const override { return "rows"; }

 private:
  const std::vector<std::vector<int32_t>>& rows_;
  std::vector<LabelColumn> labels_;
  size_t i_ = 0;
};

// Best-of-rounds seconds of `bare` and `census`, alternated so a burst of other load hits both alike.
void compare(const char* label, int rounds, int64_t tokens, const std::function<void()>& bare,
             const std::function<void()>& census) {
  bare();  // warm-up
  double bare_s = 1e30, census_s = 1e30, bare_cpu = 1e30, census_cpu = 1e30;
  const auto time = [](const std::function<void()>& f, double& wall, double& cpu) {
    const auto t = std::chrono::steady_clock::now();
    const double c = cpu_seconds();
    f();
    wall = std::min(wall, bench::seconds_since(t));
    cpu = std::min(cpu, cpu_seconds() - c);
  };
  for (int r = 0; r < rounds; ++r) {
    // Alternate which goes first, so neither always runs right after the other's allocations.
    if (r % 2 == 0)
      time(bare, bare_s, bare_cpu), time(census, census_s, census_cpu);
    else
      time(census, census_s, census_cpu), time(bare, bare_s, bare_cpu);
  }
  std::printf(
      "%-34s wall: bare forward %7.3f s %9.0f tok/s, census %7.3f s %9.0f tok/s, overhead %+5.1f%% | "
      "CPU: bare %7.3f s, census %7.3f s, overhead %+5.1f%%  (target <= 10%%)\n",
      label, bare_s, tokens / bare_s, census_s, tokens / census_s, 100 * (census_s / bare_s - 1), bare_cpu,
      census_cpu, 100 * (census_cpu / bare_cpu - 1));
  std::fflush(stdout);
}

void bench_transformer(const char* label, const Transformer& model,
                       const std::vector<std::vector<int32_t>>& rows, int batch, int rounds) {
  int64_t tokens = 0;
  for (const auto& r : rows) tokens += static_cast<int64_t>(r.size());
  ForwardOptions bare;
  bare.logits = LogitsAt::None;
  CensusRunOptions o;
  o.batch_size = batch;
  o.n_pos = model.config().n_ctx;
  compare(
      label, rounds, tokens,
      [&] {
        for (size_t b = 0; b < rows.size(); b += batch)
          model.forward(TokenBatch::pad({rows.begin() + b, rows.begin() + std::min(rows.size(), b + batch)}),
                        bare);
      },
      [&] {
        RowsDataset ds(rows);
        census_of_transformer(model, ds, o);
      });
}

}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);  // as the resid CLI runs (core/openmp_wait.h)
  std::string which = "15M", shared = RESID_SHARED_DIR, parts = "seeded,stories,mnist";
  int batches = 16, threads = 2, rounds = 3;
  bench::Args(
      "bench_census [--shape S] [--batches N] [--threads N] [--rounds R] [--shared DIR] [--parts P]: census "
      "overhead over a bare forward, and the MNIST census")
      .flag("--shape", &which)
      .flag("--batches", &batches)
      .flag("--threads", &threads)
      .flag("--rounds", &rounds)
      .flag("--shared", &shared)
      .flag("--parts", &parts)
      .parse(argc, argv);
  tune_allocator_for_large_buffers();
  omp_set_num_threads(threads);
  std::printf("%d threads, best of %d rounds\n", threads, rounds);

  const auto wanted = [&](const char* part) { return parts.find(part) != std::string::npos; };
  if (wanted("seeded")) {
    const Config c = bench::stories_shape(which);
    const Transformer model(c, random_weights(c, 1));
    const int batch = 4, n_pos = 256;
    std::vector<std::vector<int32_t>> rows(batches * batch);
    Rng rng(2);
    for (auto& r : rows)
      for (int p = 0; p < n_pos; ++p) r.push_back(static_cast<int32_t>(rng.next_u64() % c.d_vocab));
    const std::string label = "seeded " + which + " (" + std::to_string(batches) + " x 4 x 256)";
    bench_transformer(label.c_str(), model, rows, batch, rounds);
  }

  const fs::path dir(shared);
  if (!wanted("stories")) {
  } else if (fs::exists(dir / "models/stories260K/stories260K.bin") &&
             fs::exists(dir / "data/tinystories/tinystories_sample.txt")) {
    const LoadedModel m = load_model((dir / "models/stories260K/stories260K.bin").string());
    DatasetOptions d;
    d.path = (dir / "data/tinystories/tinystories_sample.txt").string();
    d.max_tokens = 256;
    d.truncate = true;
    auto ds = open_dataset(d, m.tokenizer.get());
    std::vector<std::vector<int32_t>> rows;
    for (Example ex; ds->next(ex);)
      if (!ex.tokens.empty()) rows.push_back(ex.tokens);
    const std::string label = "stories260K, TinyStories (" + std::to_string(rows.size()) + " lines)";
    bench_transformer(label.c_str(), *m.transformer, rows, 8, rounds);
  } else {
    std::printf("stories260K / TinyStories not in %s: skipped\n", shared.c_str());
  }

  if (!wanted("mnist")) {
  } else if (fs::exists(dir / "models/mnist-mlp/mnist_mlp.safetensors") &&
             fs::exists(dir / "data/mnist/t10k-images-idx3-ubyte.gz")) {
    const LoadedModel m = load_model((dir / "models/mnist-mlp/mnist_mlp.safetensors").string());
    const ImageSet images = read_idx_images((dir / "data/mnist/t10k-images-idx3-ubyte.gz").string());
    const int batch = 500;
    CensusRunOptions o;
    o.batch_size = batch;
    compare(
        "MNIST MLP, 10,000 test images", rounds, images.size(),
        [&] {
          for (int64_t first = 0; first < images.size(); first += batch)
            m.mlp->forward(images.pixels.middleRows(first, std::min<int64_t>(batch, images.size() - first)));
        },
        [&] { census_of_mlp(*m.mlp, images, o); });
  } else {
    std::printf("MNIST MLP / images not in %s: skipped\n", shared.c_str());
  }
  return 0;
}
