#include <gtest/gtest.h>

#include <set>

#include "core/hook_site.h"
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

}  // namespace
}  // namespace resid
