// Prefill throughput of seeded random models of stories15M and stories110M shape: batch 4 x 256 tokens,
// logits at every position and at the last position only. Prints tokens/s (median of --repeats runs).
//   bench_prefill [--threads 2] [--repeats 5] [--shape 15M|110M|all]
//   bench_prefill --shape 110M --write-gguf PATH   writes that seeded model as GGUF (F32) and exits, with a
//     32,000-piece SentencePiece vocabulary (control, byte and filler pieces) so that llama.cpp loads it too:
//     the file bench/llama_cpp_compare.sh runs through both programs.
// Target on the 2-core CI machine: >= 1,200 tokens/s for 110M with last-position logits.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_args.h"
#include "bench/bench_shapes.h"
#include "bench/bench_timing.h"
#include "core/allocator.h"
#include "core/formats/gguf.h"
#include "core/init.h"
#include "core/openmp_wait.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "core/transformer.h"

using namespace resid;

namespace {
// <unk> <s> </s>, the 256 byte pieces, then "▁t0", "▁t1", ... up to the model's vocabulary size.
SpmTokenizer filler_vocab(int size) {
  SpmVocab v = byte_fallback_vocab();
  for (int i = 0; static_cast<int>(v.pieces.size()) < size; ++i) {
    v.pieces.push_back("\u2581t" + std::to_string(i));
    v.scores.push_back(-1.0f - 1e-4f * float(i));
    v.types.push_back(PieceType::Normal);
  }
  return SpmTokenizer(std::move(v), "filler vocabulary");
}

double run(const Transformer& model, const TokenBatch& batch, LogitsAt at, int repeats) {
  ForwardOptions options;
  options.logits = at;
  model.forward(batch, options);  // warm-up: page in weights, size the allocator
  std::vector<double> seconds;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    RowMatrix logits = model.forward(batch, options);
    seconds.push_back(bench::seconds_since(start));
  }
  return bench::median(seconds);
}
}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);  // as the resid CLI runs (core/openmp_wait.h)
  int threads = 2, repeats = 5;
  std::string which = "all", gguf;
  bench::Args(
      "bench_prefill [--threads N] [--repeats N] [--shape 15M|110M|all] [--write-gguf PATH]: prefill "
      "tokens/s")
      .flag("--threads", &threads)
      .flag("--repeats", &repeats)
      .flag("--shape", &which)
      .flag("--write-gguf", &gguf)
      .parse(argc, argv);
  if (!gguf.empty()) {
    if (which != "15M" && which != "110M") {
      std::fprintf(stderr, "bench_prefill: --write-gguf needs --shape 15M or 110M\n");
      return 2;
    }
    const Config c = bench::stories_shape(which);
    const SpmTokenizer vocab = filler_vocab(c.d_vocab);
    write_gguf(gguf, c, random_weights(c, 1), &vocab);
    std::printf("wrote %s: seeded %s shape, F32, %d-piece vocabulary\n", gguf.c_str(), which.c_str(),
                c.d_vocab);
    return 0;
  }
  tune_allocator_for_large_buffers();
  omp_set_num_threads(threads);
  const int batch = 4, n_pos = 256;
  std::printf("prefill, batch %d x %d tokens, %d threads, median of %d\n", batch, n_pos, threads, repeats);
  std::printf("%-6s %-14s %10s %12s\n", "shape", "logits", "seconds", "tokens/s");
  for (const std::string name : {"15M", "110M"}) {
    if (which != "all" && which != name) continue;
    const Config c = bench::stories_shape(name);
    Transformer model(c, random_weights(c, 1));
    const TokenBatch tokens = bench::random_token_batch(c, batch, n_pos);
    for (LogitsAt at : {LogitsAt::All, LogitsAt::Last}) {
      const double s = run(model, tokens, at, repeats);
      std::printf("%-6s %-14s %10.3f %12.0f\n", name.c_str(),
                  at == LogitsAt::All ? "every position" : "last only", s, batch * n_pos / s);
    }
  }
  return 0;
}
