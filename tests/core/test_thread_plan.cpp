// The projection's thread split (core/project.h) and the forward's thread count from its size
// (core/thread_plan.h).
#include <gtest/gtest.h>
#include <omp.h>

#include "core/init.h"
#include "core/project.h"
#include "core/thread_plan.h"
#include "core/transformer.h"

namespace resid {
namespace {

Config shape(int d_model, int n_layers, int n_heads, int d_mlp, int d_vocab) {
  Config c;
  c.d_model = d_model, c.n_layers = n_layers, c.n_heads = n_heads, c.n_kv_heads = n_heads, c.d_mlp = d_mlp;
  c.d_head = d_model / n_heads;
  c.d_vocab = d_vocab;
  c.n_ctx = 1024;
  return c;
}

RowMatrix seeded(Eigen::Index rows, Eigen::Index cols, uint64_t seed) {
  Rng rng(seed);
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = float(2.0 * rng.uniform() - 1.0);
  return m;
}

// Split across threads, each output is the same dot product of one row of W with x; only the kernel's
// blocking of that sum may differ (a remainder slice runs another SIMD path). Each output sums 1,000 products
// of terms in [-1, 1]: float rounding differs by well under 1e-4 of the row's absolute sum.
TEST(Project, SplitAcrossThreadsMatchesOneProduct) {
  const RowMatrix w =
      seeded(1003, 1000, 1);  // 1M weights: above the split threshold; 1003 leaves a remainder
  const ConstMatrixMap wm(w.data(), w.rows(), w.cols());
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    for (Eigen::Index rows :
         {Eigen::Index{1}, Eigen::Index{2}, kSplitProjectionRows, kSplitProjectionRows + 1}) {
      const RowMatrix x = seeded(rows, 1000, 2 + rows);
      const RowMatrix got = project(x, wm);
      const RowMatrix want = x * w.transpose();
      ASSERT_EQ(got.rows(), rows);
      ASSERT_EQ(got.cols(), 1003);
      const RowMatrix scale = x.cwiseAbs() * w.cwiseAbs().transpose();
      for (Eigen::Index i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got.data()[i], want.data()[i], 1e-5 * scale.data()[i])
            << "threads " << threads << ", rows " << rows << ", element " << i;
    }
  }
  omp_set_num_threads(saved);
}

TEST(ThreadPlan, TinyForwardsStayOnOneThread) {
  const Config c260k = [] {
    Config c = shape(64, 5, 8, 172, 512);
    c.n_kv_heads = 4;
    return c;
  }();
  EXPECT_EQ(threads_for(forward_work(c260k, 1, 10, 1, 1), 8), 1);   // a decode step: ~0.1 ms
  EXPECT_EQ(threads_for(forward_work(c260k, 16, 0, 16, 1), 8), 1);  // a 16-token prompt
  // A 4 x 256 prefill is worth two (bench_threads: 40k tokens/s on two threads against 23k on one).
  EXPECT_EQ(threads_for(forward_work(c260k, 4 * 256, 0, 256, 4), 2), 2);
}

TEST(ThreadPlan, LargeForwardsUseEveryCore) {
  const Config c110m = shape(768, 12, 12, 2048, 32000);
  EXPECT_EQ(threads_for(forward_work(c110m, 4 * 256, 0, 256, 4), 2), 2);
  EXPECT_EQ(threads_for(forward_work(c110m, 4 * 256, 0, 256, 4), 16), 16);
  // A decode step does few FLOPs but streams 340 MB of weights: bandwidth-bound, worth all cores.
  const ForwardWork step = forward_work(c110m, 1, 100, 1, 1);
  EXPECT_GT(step.weight_bytes, 3.4e8);
  EXPECT_LT(step.flops, 3e8);
  EXPECT_EQ(threads_for(step, 2), 2);
  EXPECT_EQ(threads_for(step, 1), 1);  // never more than the cap
}

TEST(ThreadPlan, CountsGrowWithTheWork) {
  const Config c = shape(288, 6, 6, 768, 32000);
  int previous = 1;
  for (int64_t rows : {1, 4, 16, 64, 256, 1024, 4096}) {
    const int t = threads_for(forward_work(c, rows, 0, int(std::min<int64_t>(rows, 1024)), 1), 64);
    EXPECT_GE(t, previous) << rows << " rows";
    previous = t;
  }
  EXPECT_GT(previous, 1);
}

// Whatever count the forward picks (or is given), its logits agree with one thread's within float rounding of
// differently blocked products (the tolerance docs/numerics.md states for GEMM blockings).
TEST(ThreadPlan, ForwardThreadsOptionGivesTheSameLogits) {
  const Config c = shape(256, 2, 4, 1024, 2000);  // a decode step's projections are split (>= 2^18 weights)
  const Transformer model(c, random_weights(c, 3));
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  std::vector<RowMatrix> steps[2];
  for (int threads : {1, 2}) {
    KvCache cache = model.make_cache(1);
    ForwardOptions o;
    o.logits = LogitsAt::Last;
    o.cache = &cache;
    o.threads = threads;
    steps[threads - 1].push_back(model.forward(TokenBatch::single({5, 6, 7}), o));
    for (int32_t id : {8, 9, 10}) steps[threads - 1].push_back(model.forward(TokenBatch::single({id}), o));
  }
  omp_set_num_threads(saved);
  for (size_t s = 0; s < steps[0].size(); ++s)
    for (Eigen::Index i = 0; i < steps[0][s].size(); ++i)
      ASSERT_NEAR(steps[0][s].data()[i], steps[1][s].data()[i],
                  1e-4f + 1e-4f * std::abs(steps[0][s].data()[i]))
          << "step " << s << ", logit " << i;
}

}  // namespace
}  // namespace resid
