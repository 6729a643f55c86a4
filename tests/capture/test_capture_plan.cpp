// CapturePlan: a capture's options resolved once against the model's config, with errors in the library's
// terms (the CLI maps them to flags; tests/cli checks that side).
#include <gtest/gtest.h>

#include "capture/capture.h"
#include "core/error.h"
#include "test_support.h"

namespace resid {
namespace {

CaptureOptions options_with(std::vector<std::string> patterns) {
  CaptureOptions o;
  o.hook_patterns = std::move(patterns);
  return o;
}

TEST(CapturePlan, ResolvesNPosHooksAndTheirRows) {
  const Config c = testing::tiny_config();
  CaptureOptions o = options_with({"blocks.*.hook_resid_post", "blocks.0.attn.hook_pattern"});
  const CapturePlan plan = CapturePlan::resolve(c, o);
  EXPECT_EQ(plan.n_pos, c.n_ctx);  // 0 = the model's context
  EXPECT_EQ(plan.batch_size, o.batch_size);
  ASSERT_EQ(plan.points.size(), static_cast<size_t>(c.n_layers) + 1);
  ASSERT_EQ(plan.specs.size(), plan.points.size());
  for (const HookDatasetSpec& spec : plan.specs) {  // in the model's order, whatever the patterns' order
    if (spec.hook == "blocks.0.attn.hook_pattern")
      EXPECT_EQ(spec.row_shape, (std::vector<int64_t>{c.n_heads, c.n_ctx, c.n_ctx}));
    else
      EXPECT_EQ(spec.row_shape, (std::vector<int64_t>{c.n_ctx, c.d_model})) << spec.hook;
  }
  EXPECT_EQ(plan.specs.front().hook, "blocks.0.attn.hook_pattern");
  o.n_pos = 16;
  o.positions = PositionSpec::parse("last");
  o.hook_patterns = {"blocks.1.hook_resid_post"};
  const CapturePlan last = CapturePlan::resolve(c, o);
  EXPECT_EQ(last.n_pos, 16);
  EXPECT_EQ(last.specs[0].row_shape, (std::vector<int64_t>{c.d_model}));
  EXPECT_EQ(last.specs[0].reduction, "last");

  DatasetOptions text, windows;
  windows.kind = "windows";
  last.limit_dataset(text);
  last.limit_dataset(windows);
  EXPECT_EQ(text.max_tokens, 16);
  EXPECT_EQ(text.window, 0);
  EXPECT_EQ(windows.window, 16);
  windows.window = 8;  // an explicit window stays
  last.limit_dataset(windows);
  EXPECT_EQ(windows.window, 8);
}

TEST(CapturePlan, ErrorsNameTheFieldNotAFlag) {
  const Config c = testing::tiny_config();
  CaptureOptions o = options_with({"hook_embed"});
  o.n_pos = c.n_ctx + 1;
  const std::string big = testing::error_of<InputError>([&] { CapturePlan::resolve(c, o); });
  EXPECT_EQ(big, "n_pos " + std::to_string(c.n_ctx + 1) +
                     " exceeds the model's n_ctx = " + std::to_string(c.n_ctx));
  o.n_pos = -1;
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { CapturePlan::resolve(c, o); }), "n_pos -1 is negative");
  o.n_pos = 0;
  o.batch_size = 0;
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { CapturePlan::resolve(c, o); }),
                  "batch_size 0 is below 1");
  o.batch_size = 1;
  o.hook_patterns.clear();
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { CapturePlan::resolve(c, o); }),
                  "hook_patterns: no hooks");
  o.hook_patterns = {"blocks.0.attn.hook_pattern"};
  o.positions = PositionSpec::parse("mean");
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { CapturePlan::resolve(c, o); }), "is an attention map");
  EXPECT_CONTAINS(testing::error_of<InputError>([&] { PositionSpec::parse("1,x"); }), "positions '1,x'");
  for (const std::string& m : {big}) EXPECT_EQ(m.find("--"), std::string::npos) << m;
}

}  // namespace
}  // namespace resid
