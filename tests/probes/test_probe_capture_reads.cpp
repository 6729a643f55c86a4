// What a probe reads from a capture: only the committed rows of a capture that was killed or is still
// running, and scoring (`resid probe apply`) streamed chunk by chunk under the memory budget.
#include <gtest/gtest.h>

#include "core/error.h"
#include "probes/apply.h"
#include "probes/capture_probe.h"
#include "synthetic_capture.h"
#include "test_support.h"

namespace resid {
namespace {

using namespace probes;
using testing::error_of;

CaptureFitOptions quote_probe(const std::string& hook) {
  CaptureFitOptions o;
  o.examples = {hook, "quote"};
  o.fit.lambda = 1e-2;
  o.fit.tol = 1e-7;
  return o;
}

TEST(ProbeCaptureReads, KilledOrRunningCaptureUsesOnlyItsCommittedRowsAndSaysSo) {
  testing::TempDir dir;
  // Killed after 40 of 60 rows: rows 40..59 were written in place but never committed.
  testing::SyntheticCapture killed;
  killed.committed_rows = 40;
  const std::string partial = dir.file("partial.h5");
  testing::write_synthetic_capture(partial, killed);
  // The same first 40 rows (same seed), finished.
  testing::SyntheticCapture forty;
  forty.rows = 40;
  const std::string complete = dir.file("forty.h5");
  testing::write_synthetic_capture(complete, forty);

  const CaptureFitOptions o = quote_probe("blocks.1.hook_resid_post");
  const FitResult a = fit_capture_probe(partial, o), b = fit_capture_probe(complete, o);
  EXPECT_EQ(a.report["n_examples"], b.report["n_examples"]);
  EXPECT_EQ(a.report["provenance"]["committed_rows"], 40);
  EXPECT_EQ(a.report["provenance"]["capture_rows"], 60);
  EXPECT_FALSE(a.report["provenance"]["capture_complete"].get<bool>());
  EXPECT_TRUE(b.report["provenance"]["capture_complete"].get<bool>());
  // Same rows, same split (by committed row), same code path: the same probe.
  EXPECT_LT((a.probe.model.w - b.probe.model.w).cwiseAbs().maxCoeff(), 1e-9);
  EXPECT_EQ(a.report["metrics"]["test"]["confusion"], b.report["metrics"]["test"]["confusion"]);

  // Still running: the writer holds the file open with rows appended past the committed ones.
  testing::SyntheticCapture running_spec = killed;
  const std::string running_path = dir.file("running.h5");
  const auto running = testing::write_synthetic_capture(running_path, running_spec);
  ASSERT_TRUE(running);
  EXPECT_EQ(running->appended_rows(), 60);
  const FitResult c = fit_capture_probe(running_path, o);
  EXPECT_EQ(c.report["provenance"]["committed_rows"], 40);
  EXPECT_LT((c.probe.model.w - b.probe.model.w).cwiseAbs().maxCoeff(), 1e-9);

  // Streamed from the partial file: the uncommitted rows are never read either.
  CaptureFitOptions s = o;
  const CaptureExamples ex = index_capture_examples(partial, o.examples);
  EXPECT_EQ(ex.row.back(), 39);
  s.memory_bytes = ex.size() * ex.index_bytes_per_example() + (6 << 10);
  const FitResult streamed = fit_capture_probe(partial, s);
  ASSERT_TRUE(streamed.report["streamed"].get<bool>());
  EXPECT_LT((streamed.probe.model.w - b.probe.model.w).cwiseAbs().maxCoeff(),
            1e-4 * std::max(1.0, b.probe.model.w.cwiseAbs().maxCoeff()));
}

TEST(ProbeCaptureReads, ScoringStreamsChunksWithinTheBudgetAndMatchesInMemoryScores) {
  testing::TempDir dir;
  const std::string path = dir.file("acts.h5");
  testing::write_synthetic_capture(path, {});
  const FitResult fit = fit_capture_probe(path, quote_probe("blocks.2.hook_resid_post"));
  const CaptureExamples ex = index_capture_examples(path, {"blocks.2.hook_resid_post", "quote"});
  const int64_t index = ex.size() * ex.index_bytes_per_example();

  // Reference: every example in memory, scored at once.
  std::vector<int64_t> all(ex.size());
  for (int64_t i = 0; i < ex.size(); ++i) all[i] = i;
  const Eigen::MatrixXd reference = fit.probe.scores(load_examples(ex, all));

  const CaptureScores whole = score_capture(fit.probe, ex, kDefaultMemoryBytes);
  EXPECT_EQ(whole.chunks, 1);
  // 3 KiB for activations: chunks of 768 bytes = one capture row (12 positions x 16 x 4 bytes) each.
  const CaptureScores chunked = score_capture(fit.probe, ex, index + 4 * ex.row_bytes());
  EXPECT_EQ(chunked.chunk_bytes, ex.row_bytes());
  EXPECT_EQ(chunked.chunks, ex.summary.committed_rows);
  // Rows are scored alike whatever the chunking; only the 4-row grouping of the kernel may round differently.
  const double scale = reference.cwiseAbs().maxCoeff();
  EXPECT_LT((whole.scores - reference).cwiseAbs().maxCoeff(), 1e-5 * scale);
  EXPECT_LT((chunked.scores - reference).cwiseAbs().maxCoeff(), 1e-5 * scale);

  const std::string m = error_of<InputError>([&] { score_capture(fit.probe, ex, index / 2); });
  EXPECT_CONTAINS(m, "memory_bytes");
  EXPECT_CONTAINS(m, "below the example index");

  testing::SyntheticCapture wide;
  wide.d = 24;
  const std::string wide_path = dir.file("wide.h5");
  testing::write_synthetic_capture(wide_path, wide);
  const CaptureExamples wide_ex = index_capture_examples(wide_path, {"blocks.2.hook_resid_post", "quote"});
  EXPECT_CONTAINS(
      error_of<InputError>([&] { score_capture(fit.probe, wide_ex, kDefaultMemoryBytes); }),
      "the probe has d = 16 features but " + wide_path + " /acts/blocks.2.hook_resid_post has 24");
}

}  // namespace
}  // namespace resid
