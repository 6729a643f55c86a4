// Training throughput of the plain MLP family in examples/s: one step is forward, cross-entropy, backward and
// an Adam update over a mini-batch of random inputs (the per-epoch evaluation of `resid train` is not timed).
// Shapes: 2-64-64-3 (batch 32) and 784-500-10 (batch 64), the sizes issue 11 compares against PyTorch CPU.
// The fastest of R rounds counts, in wall time and in CPU time (steadier on a shared machine). Like `resid`,
// it lets idle OpenMP workers spin only briefly (core/openmp_wait.h) unless the caller set a policy: with
// libgomp's long default spin, 784-500-10 ran at 9k examples/s instead of 37k on the shared 2-core machine.
//   bench_train [--steps N] [--rounds R] [--threads T] [--shapes 2-64-64-3:32,784-500-10:64]
#include <omp.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "bench/bench_args.h"
#include "core/init.h"
#include "core/openmp_wait.h"
#include "train/gemm_threads.h"
#include "train/init_mlp.h"
#include "train/loss.h"
#include "train/mlp_backprop.h"
#include "train/optimizer.h"
#include "train/trainer.h"

using namespace resid;
using namespace resid::train;

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

void bench_shape(const std::vector<int>& widths, int batch, int steps, int rounds) {
  Rng rng(1);
  const int batches = 16;  // distinct random mini-batches, cycled
  std::vector<Matrix<float>> xs;
  std::vector<std::vector<int32_t>> ys;
  for (int b = 0; b < batches; ++b) {
    Matrix<float> x(batch, widths.front());
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = float(rng.normal());
    xs.push_back(std::move(x));
    std::vector<int32_t> y(batch);
    for (int32_t& v : y) v = int32_t(rng.next_u64() % uint64_t(widths.back()));
    ys.push_back(std::move(y));
  }
  const GemmThreads threads(gemm_threads_for(widths, batch));
  double best_wall = 1e30, best_cpu = 1e30;
  for (int r = 0; r < rounds; ++r) {
    MlpParams<float> params = init_mlp(widths, ActFn::ReLU, "he_normal", 0);
    MlpParams<float> grads = params.zeros_like();
    OptimizerOptions o;
    auto opt = make_optimizer(o);
    ForwardCache<float> cache;
    Matrix<float> d_out;
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    for (int s = 0; s < steps; ++s) {
      const Matrix<float> out = mlp_forward(params, xs[s % batches], &cache);
      loss_and_grad(LossKind::CrossEntropy, out, ys[s % batches].data(), &d_out);
      mlp_backward(params, cache, d_out, grads);
      opt->step(params.tensors(), grads.tensors());
    }
    best_wall =
        std::min(best_wall, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    best_cpu = std::min(best_cpu, cpu_seconds() - c0);
  }
  const double examples = double(steps) * batch;
  std::printf("%-12s batch %3d  gemm threads %d  %9.0f examples/s (wall)  %9.0f examples/s (cpu)\n",
              widths_string(widths).c_str(), batch, gemm_threads_for(widths, batch), examples / best_wall,
              examples / best_cpu);
}

}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);  // as the resid CLI runs (core/openmp_wait.h)
  int steps = 2000, rounds = 3, threads = 0;
  std::string shapes = "2-64-64-3:32,784-500-10:64";
  bench::Args("bench_train [--steps N] [--rounds R] [--threads T] [--shapes W-W-W:BATCH,...]")
      .flag("--steps", &steps)
      .flag("--rounds", &rounds)
      .flag("--threads", &threads)
      .flag("--shapes", &shapes)
      .parse(argc, argv);
  if (threads > 0) omp_set_num_threads(threads);
  std::stringstream ss(shapes);
  for (std::string item; std::getline(ss, item, ',');) {
    const size_t colon = item.find(':');
    const int batch = colon == std::string::npos ? 32 : std::stoi(item.substr(colon + 1));
    bench_shape(parse_widths(item.substr(0, colon)), batch, steps, rounds);
  }
  return 0;
}
