#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/error.h"
#include "core/hook_site.h"
#include "core/hook_visitor.h"
#include "test_support.h"

namespace resid {
namespace {

TEST(HookSites, EveryNameIsUniqueAndParsesBack) {
  Config c = testing::tiny_config();
  c.n_layers = 12;
  std::set<std::string> names;
  for (const HookPointId& p : all_hook_points(c)) {
    const std::string name = hook_name(p.site, p.layer);
    EXPECT_TRUE(names.insert(name).second) << "duplicate hook name " << name;
    const auto parsed = parse_hook_name(name, c.n_layers);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(*parsed, p) << name;
  }
  // hook_embed, ln_final.hook_scale, ln_final.hook_normalized, unembed.hook_out + 20 per block
  EXPECT_EQ(names.size(), 4u + 12u * 20u);
}

TEST(HookSites, TransformerLensNames) {
  EXPECT_EQ(hook_name(HookSite::Embed, -1), "hook_embed");
  EXPECT_EQ(hook_name(HookSite::ResidPost, 3), "blocks.3.hook_resid_post");
  EXPECT_EQ(hook_name(HookSite::MlpPre, 0), "blocks.0.mlp.hook_pre");
  EXPECT_EQ(hook_name(HookSite::AttnPattern, 2), "blocks.2.attn.hook_pattern");
  EXPECT_EQ(hook_name(HookSite::Ln1Scale, 1), "blocks.1.ln1.hook_scale");
  EXPECT_EQ(hook_name(HookSite::UnembedOut, -1), "unembed.hook_out");
  EXPECT_FALSE(parse_hook_name("blocks.12.hook_resid_post", 12).has_value());
  EXPECT_FALSE(parse_hook_name("blocks.x.hook_resid_post", 12).has_value());
  EXPECT_FALSE(parse_hook_name("hook_resid_post", 12).has_value());
  EXPECT_FALSE(parse_hook_name("blocks.1.hook_embed", 12).has_value());
}

// Every site's shape from its row of axes equals the shape the old per-site switch returned, written out here
// for a config whose sizes are all different (batch 2, pos 5).
TEST(HookSites, DerivedShapesEqualTheOldHardCodedShapes) {
  const Config c =
      testing::tiny_config();  // d_model 64, n_heads 4, n_kv_heads 2, d_head 16, d_mlp 96, d_vocab 128
  using S = std::vector<int64_t>;
  const std::map<HookSite, S> expected = {
      {HookSite::Embed, S{2, 5, 64}},
      {HookSite::ResidPre, S{2, 5, 64}},
      {HookSite::Ln1Scale, S{2, 5, 1}},
      {HookSite::Ln1Normalized, S{2, 5, 64}},
      {HookSite::AttnQ, S{2, 5, 4, 16}},
      {HookSite::AttnK, S{2, 5, 2, 16}},
      {HookSite::AttnV, S{2, 5, 2, 16}},
      {HookSite::AttnRotQ, S{2, 5, 4, 16}},
      {HookSite::AttnRotK, S{2, 5, 2, 16}},
      {HookSite::AttnScores, S{2, 4, 5, 5}},
      {HookSite::AttnPattern, S{2, 4, 5, 5}},
      {HookSite::AttnZ, S{2, 5, 4, 16}},
      {HookSite::AttnOut, S{2, 5, 64}},
      {HookSite::ResidMid, S{2, 5, 64}},
      {HookSite::Ln2Scale, S{2, 5, 1}},
      {HookSite::Ln2Normalized, S{2, 5, 64}},
      {HookSite::MlpPre, S{2, 5, 96}},
      {HookSite::MlpPreLinear, S{2, 5, 96}},
      {HookSite::MlpPost, S{2, 5, 96}},
      {HookSite::MlpOut, S{2, 5, 64}},
      {HookSite::ResidPost, S{2, 5, 64}},
      {HookSite::LnFinalScale, S{2, 5, 1}},
      {HookSite::LnFinalNormalized, S{2, 5, 64}},
      {HookSite::UnembedOut, S{2, 5, 128}},
  };
  ASSERT_EQ(expected.size(), static_cast<size_t>(HookSite::Count));
  for (const auto& [site, shape] : expected)
    EXPECT_EQ(hook_shape(c, site, 2, 5), shape) << hook_name(site, 0);
}

TEST(HookSites, TableRowsAreInEnumOrder) {
  ASSERT_EQ(all_hook_sites().size(), static_cast<size_t>(HookSite::Count));
  for (int i = 0; i < static_cast<int>(HookSite::Count); ++i)
    EXPECT_EQ(hook_site_info(static_cast<HookSite>(i)).site, static_cast<HookSite>(i)) << i;
}

TEST(HookSites, AxisQueries) {
  EXPECT_EQ(axis_index(HookSite::ResidPost, Axis::Pos), 1);
  EXPECT_EQ(axis_index(HookSite::ResidPost, Axis::Heads), -1);
  EXPECT_EQ(axis_index(HookSite::AttnK, Axis::KvHeads), 2);
  EXPECT_EQ(axis_index(HookSite::AttnK, Axis::Heads), -1);
  EXPECT_EQ(axis_index(HookSite::AttnPattern, Axis::Heads), 1);
  EXPECT_EQ(axis_index(HookSite::AttnPattern, Axis::QPos), 2);
  EXPECT_EQ(axis_index(HookSite::AttnScores, Axis::KPos), 3);
  EXPECT_EQ(axis_index(HookSite::AttnPattern, Axis::Pos), -1);
  // Attention maps are exactly the sites with a k_pos axis (what capture asks).
  for (const HookSiteInfo& info : all_hook_sites())
    EXPECT_EQ(axis_index(info.site, Axis::KPos) >= 0,
              info.site == HookSite::AttnScores || info.site == HookSite::AttnPattern)
        << info.suffix;
  const Config c = testing::tiny_config();
  EXPECT_EQ(axis_size(c, Axis::KvHeads, 3, 7), 2);
  EXPECT_EQ(axis_size(c, Axis::KPos, 3, 7), 7);
  EXPECT_EQ(axis_size(c, Axis::Batch, 3, 7), 3);
  EXPECT_EQ(std::string(axis_name(Axis::DMlp)), "d_mlp");
}

TEST(ActivationViewAxes, NamedAccessOnEveryKindOfActivation) {
  std::vector<float> data(2 * 4 * 5 * 5);
  const std::vector<int> lengths = {5, 3};
  const ActivationView pattern{{HookSite::AttnPattern, 0}, data.data(), {2, 4, 5, 5}, &lengths, 0};
  EXPECT_EQ(pattern.numel(), 200);
  EXPECT_EQ(pattern.position_axis(), 2);  // q_pos
  EXPECT_EQ(pattern.head_axis(), 1);
  EXPECT_EQ(pattern.axis_size(Axis::Heads), 4);
  EXPECT_EQ(pattern.axis_size(Axis::KPos), 5);
  EXPECT_THROW(pattern.axis_size(Axis::DModel), InputError);

  const ActivationView k{{HookSite::AttnK, 1}, data.data(), {2, 5, 2, 16}, &lengths, 0};
  EXPECT_EQ(k.numel(), 320);
  EXPECT_EQ(k.position_axis(), 1);
  EXPECT_EQ(k.head_axis(), 2);  // kv_heads
  EXPECT_EQ(k.axis_size(Axis::DHead), 16);
  EXPECT_EQ(k.axis_index(Axis::Heads), -1);

  const ActivationView resid{{HookSite::ResidPost, 0}, data.data(), {2, 5, 64}, &lengths, 0};
  EXPECT_EQ(resid.head_axis(), -1);
  try {
    (void)resid.axis_size(Axis::Heads);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "blocks.0.hook_resid_post has no n_heads axis");
  }

  // The MLP family offers [batch, features]: no position axis.
  const ActivationView mlp{{HookSite::MlpPost, 0}, data.data(), {3, 96}, nullptr, 0};
  EXPECT_EQ(mlp.numel(), 288);
  EXPECT_EQ(mlp.position_axis(), -1);
  EXPECT_EQ(mlp.head_axis(), -1);
  EXPECT_EQ(mlp.axis_size(Axis::Batch), 3);
  EXPECT_EQ(mlp.axis_index(Axis::DMlp), 1);
}

}  // namespace
}  // namespace resid
