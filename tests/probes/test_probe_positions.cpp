// Per-position sweeps (resid probe sweep --per-position): one probe per hook and token position, each on the
// examples at that position only; positions that cannot make a probe are reported as skipped.
#include <gtest/gtest.h>

#include "core/error.h"
#include "probes/capture_probe.h"
#include "synthetic_capture.h"
#include "test_support.h"

using namespace resid;
using namespace resid::probes;

TEST(ProbePositions, OneProbePerTokenPositionOnItsOwnExamples) {
  resid::testing::TempDir dir;
  resid::testing::SyntheticCapture cap;
  const std::string path = dir.file("acts.h5");
  resid::testing::write_synthetic_capture(path, cap);
  CaptureFitOptions o;
  o.examples.label = "quote";
  o.fit.lambda = 1e-2;
  o.fit.control = false;
  const std::vector<FitResult> r = sweep_capture_positions(path, {"blocks.2.hook_resid_post"}, o, 2);
  ASSERT_EQ(static_cast<int64_t>(r.size()), cap.n_pos);
  o.examples.hook = "blocks.2.hook_resid_post";
  const CaptureExamples all = index_capture_examples(path, o.examples);
  int fitted = 0;
  for (int p = 0; p < cap.n_pos; ++p) {
    EXPECT_EQ(r[p].report["position"].get<int>(), p);
    EXPECT_EQ(r[p].report["hook"], "blocks.2.hook_resid_post");
    int64_t at_p = 0;
    for (int32_t off : all.offset) at_p += off == p;
    if (r[p].report.contains("skipped")) {
      // Position 0 is the BOS token, labelled "none" and dropped: no examples there.
      if (p == 0) {
        EXPECT_NE(r[p].report["skipped"].get<std::string>().find("no labelled examples"), std::string::npos);
      }
      continue;
    }
    ++fitted;
    EXPECT_EQ(r[p].report["n_examples"].get<int64_t>(), at_p) << "position " << p;
    EXPECT_EQ(r[p].probe.info["position"].get<int>(), p);
  }
  EXPECT_TRUE(r[0].report.contains("skipped"));
  // Every row has at least n_pos / 2 = 6 tokens, so positions 1..5 have an example in every sequence.
  EXPECT_GE(fitted, 5);
}

TEST(ProbePositions, SequenceLabelOnAnAllPositionsHookIsRefused) {
  resid::testing::TempDir dir;
  const std::string path = dir.file("acts.h5");
  resid::testing::write_synthetic_capture(path, resid::testing::SyntheticCapture());
  CaptureFitOptions o;
  o.examples.label = "topic";
  const std::string m = resid::testing::error_of<InputError>(
      [&] { sweep_capture_positions(path, {"blocks.0.hook_resid_post"}, o, 1); });
  EXPECT_NE(m.find(path), std::string::npos);
  EXPECT_NE(m.find("per-position probes need a token label"), std::string::npos);
}
