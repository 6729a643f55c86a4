// The thread-count curve: seeded models of the stories260K, stories15M and stories110M shapes, each timed on
// one thread, on every count up to --threads, and at the default (ForwardOptions::threads = 0: the count
// core/thread_plan.h picks from the forward's FLOPs and weight bytes). Two kinds of forward:
//   prefill  batch 4 x 256 tokens, last-position logits;
//   decode   64 KV-cached single-token steps after a 1-token prompt, logits of each step (resid generate's
//   loop).
// Rounds are interleaved (every setting once per round), and each cell is the median over rounds, so a burst
// of load from elsewhere hits all settings alike. Prints tokens/s, and for the default, the count it picked
// and how far it is from the best count. Then the crossover curve: prefills of 1 sequence of n positions (n =
// 4 .. 1024) on the 260K and 15M shapes, one thread against --threads, beside the count the default picks and
// its one-core time estimate.
//   bench_threads [--threads 2] [--rounds 5] [--shape 260K|15M|110M|all]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "bench/bench_shapes.h"
#include "bench/bench_timing.h"
#include "core/allocator.h"
#include "core/init.h"
#include "core/openmp_wait.h"
#include "core/thread_plan.h"
#include "core/transformer.h"

using namespace resid;

namespace {
constexpr int kBatch = 4, kPrefillPos = 256, kDecodeSteps = 64;

// Tokens per second of one prefill.
double prefill(const Transformer& model, const TokenBatch& tokens, int threads) {
  ForwardOptions o;
  o.logits = LogitsAt::Last;
  o.threads = threads;
  const auto start = std::chrono::steady_clock::now();
  const RowMatrix logits = model.forward(tokens, o);
  return tokens.batch * tokens.n_pos / bench::seconds_since(start);
}

// Tokens per second of kDecodeSteps cached steps (the prompt's own forward not counted), repeated `runs`
// times so that a tiny model's sample is long enough to time.
double decode(const Transformer& model, int threads, int runs) {
  double seconds = 0;
  for (int run = 0; run < runs; ++run) {
    KvCache cache = model.make_cache(1);
    ForwardOptions o;
    o.logits = LogitsAt::Last;
    o.cache = &cache;
    o.threads = threads;
    model.forward(TokenBatch::single({1}), o);
    const auto start = std::chrono::steady_clock::now();
    for (int step = 0; step < kDecodeSteps; ++step) {
      const RowMatrix logits = model.forward(TokenBatch::single({int32_t(2 + step)}), o);
    }
    seconds += bench::seconds_since(start);
  }
  return kDecodeSteps * runs / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);  // as the resid CLI runs (core/openmp_wait.h)
  int max_threads = 2, rounds = 5;
  std::string which = "all";
  bench::Args(
      "bench_threads [--threads N] [--rounds N] [--shape 260K|15M|110M|all]: tokens/s by thread "
      "count, prefill and decode")
      .flag("--threads", &max_threads)
      .flag("--rounds", &rounds)
      .flag("--shape", &which)
      .parse(argc, argv);
  if (max_threads < 1 || rounds < 1) {
    std::fprintf(stderr, "bench_threads: --threads and --rounds must be at least 1\n");
    return 2;
  }
  tune_allocator_for_large_buffers();
  omp_set_num_threads(max_threads);  // the default's cap, as --threads sets it in the CLI
  std::printf(
      "tokens/s by thread count: prefill %d x %d (last-position logits), decode %d cached steps; "
      "median of %d interleaved rounds\n",
      kBatch, kPrefillPos, kDecodeSteps, rounds);
  std::printf("%-6s %-8s", "shape", "work");
  for (int t = 1; t <= max_threads; ++t) std::printf(" %9s", (std::to_string(t) + " thr").c_str());
  std::printf(" %9s %7s %12s\n", "default", "picks", "vs best");
  for (const std::string name : {"260K", "15M", "110M"}) {
    if (which != "all" && which != name) continue;
    const Config c = bench::stories_shape(name);
    const Transformer model(c, random_weights(c, 1));
    const TokenBatch tokens = bench::random_token_batch(c, kBatch, kPrefillPos);
    const int picks[2] = {
        threads_for(forward_work(c, int64_t(kBatch) * kPrefillPos, 0, kPrefillPos, kBatch), max_threads),
        threads_for(forward_work(c, 1, kDecodeSteps / 2, 1, 1), max_threads)};
    for (int work = 0; work < 2; ++work) {
      // settings: 1..max_threads, then 0 (the default)
      std::vector<std::vector<double>> rates(max_threads + 1);
      // ~0.1 s of decode per sample by the one-core estimate
      const int runs = std::max(
          1, int(0.1 / (kDecodeSteps * forward_work(c, 1, kDecodeSteps / 2, 1, 1).one_core_seconds())));
      auto run = [&](int threads) {
        return work == 0 ? prefill(model, tokens, threads) : decode(model, threads, runs);
      };
      run(max_threads);  // warm-up: page the weights in, size the allocator
      for (int r = 0; r < rounds; ++r)
        for (int t = 0; t <= max_threads; ++t) rates[t].push_back(run(t == max_threads ? 0 : t + 1));
      std::printf("%-6s %-8s", name.c_str(), work == 0 ? "prefill" : "decode");
      double best = 0;
      for (int t = 0; t < max_threads; ++t) {
        const double m = bench::median(rates[t]);
        best = std::max(best, m);
        std::printf(" %9.0f", m);
      }
      const double d = bench::median(rates[max_threads]);
      std::printf(" %9.0f %7d %+11.1f%%\n", d, picks[work], 100.0 * (d / best - 1.0));
      std::fflush(stdout);
    }
  }

  // The crossover: where more threads start to pay, against where the plan switches.
  if (max_threads > 1 && (which == "all" || which == "260K" || which == "15M")) {
    std::printf("\ncrossover: prefill of 1 x n positions, last-position logits, tokens/s\n");
    std::printf("%-6s %6s %12s %9s %9s %7s %7s\n", "shape", "n", "1-core est", "1 thr",
                (std::to_string(max_threads) + " thr").c_str(), "faster", "picks");
    for (const std::string name : {"260K", "15M"}) {
      if (which != "all" && which != name) continue;
      const Config c = bench::stories_shape(name);
      const Transformer model(c, random_weights(c, 1));
      for (int n : {4, 16, 32, 64, 128, 256, 512}) {
        std::vector<int32_t> ids(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) ids[i] = (7 * i + 3) % c.d_vocab;
        const TokenBatch tokens = TokenBatch::single(ids);
        // Short forwards: each sample is enough repeats for ~20 ms, so the clock's resolution does not
        // matter.
        const int reps = std::max(1, int(0.02 / forward_work(c, n, 0, n, 1).one_core_seconds()));
        std::vector<double> rates[2];
        for (int r = 0; r <= rounds; ++r)
          for (int k = 0; k < 2; ++k) {
            const int threads = k == 0 ? 1 : max_threads;
            ForwardOptions o;
            o.logits = LogitsAt::Last;
            o.threads = threads;
            const auto start = std::chrono::steady_clock::now();
            for (int i = 0; i < reps; ++i) model.forward(tokens, o);
            if (r) rates[k].push_back(double(n) * reps / bench::seconds_since(start));
          }
        const ForwardWork work = forward_work(c, n, 0, n, 1);
        const double one = bench::median(rates[0]), many = bench::median(rates[1]);
        std::printf("%-6s %6d %9.2f ms %9.0f %9.0f %6.2fx %7d\n", name.c_str(), n,
                    1e3 * work.one_core_seconds(), one, many, many / one, threads_for(work, max_threads));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
