// GEMM throughput on the shapes of a stories110M-shape prefill (batch 4 x 256 = 1,024 rows): Eigen's own
// kernels (built for RESID_MARCH) against the build's projection GEMM (core/project.h; RESID_GEMM=openblas:
// OpenBLAS's OpenMP build, on the same OpenMP threads), interleaved rounds, medians, GFLOP/s. Also the 110M
// prefill itself, so its achieved GFLOP/s can be read as a fraction of the GEMM rate on its own shapes
// (docs/performance.md). OPENBLAS_CORETYPE=Haswell times OpenBLAS's AVX2 kernels on an AVX-512 machine.
//   bench_gemm [--threads 2] [--rounds 7]
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
#include "core/project.h"
#include "core/transformer.h"

using namespace resid;

namespace {
struct Shape {
  const char* what;
  int rows, out, in;  // [rows, in] x [out, in]^T
  int per_layer;      // how many such products one layer does (0: once per forward)
};

constexpr int kCalls = 10;

RowMatrix seeded(int rows, int cols, uint64_t seed) {
  Rng rng(seed);
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = float(2.0 * rng.uniform() - 1.0);
  return m;
}
}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);  // as the resid CLI runs (core/openmp_wait.h)
  int threads = 2, rounds = 7;
  bench::Args(
      "bench_gemm [--threads N] [--rounds N]: sgemm GFLOP/s on the 110M prefill's shapes, Eigen vs "
      "the build's projection GEMM")
      .flag("--threads", &threads)
      .flag("--rounds", &rounds)
      .parse(argc, argv);
  tune_allocator_for_large_buffers();
  omp_set_num_threads(threads);
  std::printf("projection GEMM: %s\n", projection_gemm().c_str());
  const std::vector<Shape> shapes = {
      {"q, k, v, o", 1024, 768, 768, 4}, {"gate, up", 1024, 2048, 768, 2}, {"down", 1024, 768, 2048, 1}};
  std::printf("%d threads, median of %d interleaved rounds, GFLOP/s\n", threads, rounds);
  std::printf("%-12s %-18s %10s %10s\n", "product", "[rows,in]x[in,out]", "Eigen", "project()");
  double eigen_seconds_per_layer = 0, project_seconds_per_layer = 0, flops_per_layer = 0;
  for (const Shape& s : shapes) {
    const RowMatrix x = seeded(s.rows, s.in, 1), w = seeded(s.out, s.in, 2);
    RowMatrix out(s.rows, s.out);
    const double flops = 2.0 * s.rows * s.out * s.in;
    std::vector<double> eigen, projected;
    for (int r = 0; r <= rounds; ++r) {  // round 0 warms up
      // Each sample times kCalls products back to back: a single call (~5 ms) would also time waking the
      // workers.
      auto start = std::chrono::steady_clock::now();
      for (int call = 0; call < kCalls; ++call) out.noalias() = x * w.transpose();
      if (r) eigen.push_back(bench::seconds_since(start) / kCalls);
      start = std::chrono::steady_clock::now();
      for (int call = 0; call < kCalls; ++call)
        out = project(x, ConstMatrixMap(w.data(), w.rows(), w.cols()));
      if (r) projected.push_back(bench::seconds_since(start) / kCalls);
    }
    const double e = bench::median(eigen), b = bench::median(projected);
    eigen_seconds_per_layer += s.per_layer * e;
    project_seconds_per_layer += s.per_layer * b;
    flops_per_layer += s.per_layer * flops;
    std::printf("%-12s %-18s %10.1f %10.1f\n", s.what,
                ("[" + std::to_string(s.rows) + "," + std::to_string(s.in) + "]x[" + std::to_string(s.in) +
                 "," + std::to_string(s.out) + "]")
                    .c_str(),
                flops / e / 1e9, b > 0 ? flops / b / 1e9 : 0.0);
  }
  std::printf("%-12s %-18s %10.1f %10.1f\n", "one layer", "(weighted)",
              flops_per_layer / eigen_seconds_per_layer / 1e9,
              project_seconds_per_layer > 0 ? flops_per_layer / project_seconds_per_layer / 1e9 : 0.0);

  // The prefill: batch 4 x 256, last-position logits, the whole forward (attention and norms included).
  const Config c = bench::stories_shape("110M");
  const Transformer model(c, random_weights(c, 1));
  const TokenBatch tokens = bench::random_token_batch(c, 4, 256);
  ForwardOptions o;
  o.logits = LogitsAt::Last;
  std::vector<double> prefill;
  for (int r = 0; r <= std::min(rounds, 5); ++r) {
    const auto start = std::chrono::steady_clock::now();
    const RowMatrix logits = model.forward(tokens, o);
    if (r) prefill.push_back(bench::seconds_since(start));
  }
  const double p = bench::median(prefill), projection_flops = c.n_layers * flops_per_layer;
  std::printf(
      "110M prefill 4x256: %.0f tokens/s; its projections alone at %.1f GFLOP/s = %.0f%% of project()'s "
      "GEMM rate on the same shapes\n",
      1024 / p, projection_flops / p / 1e9,
      100.0 * (projection_flops / p) / (flops_per_layer / project_seconds_per_layer));
  return 0;
}
