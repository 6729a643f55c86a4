#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "core/transformer.h"
#include "hooks/activation_cache.h"
#include "hooks/hook_selector.h"
#include "hooks/interventions.h"
#include "test_support.h"

namespace resid {
namespace {

std::vector<int32_t> tokens(std::initializer_list<int32_t> ids) { return ids; }

struct Fixture : ::testing::Test {
  Config c = testing::tiny_config();
  Transformer model{c, random_weights(c, 21)};
  TokenBatch a = TokenBatch::single(tokens({1, 5, 9, 33, 2, 77, 100}));
  TokenBatch b = TokenBatch::single(tokens({1, 6, 12, 40, 3, 70, 101}));

  RowMatrix run(const TokenBatch& batch, HookSet* hooks = nullptr) const {
    ForwardOptions o;
    o.hooks = hooks;
    return model.forward(batch, o);
  }
};

TEST(GlobMatch, Patterns) {
  EXPECT_TRUE(glob_match("blocks.*.hook_resid_post", "blocks.3.hook_resid_post"));
  EXPECT_FALSE(glob_match("blocks.*.hook_resid_post", "blocks.3.hook_resid_pre"));
  EXPECT_TRUE(glob_match("*", "hook_embed"));
  EXPECT_TRUE(glob_match("blocks.1?.attn.*", "blocks.12.attn.hook_z"));
  EXPECT_FALSE(glob_match("blocks.1?.attn.*", "blocks.1.attn.hook_z"));
  EXPECT_TRUE(glob_match("*mlp*", "blocks.0.mlp.hook_post"));
}

TEST_F(Fixture, SelectionByNamesGlobsRangesAndPredicates) {
  EXPECT_EQ(HookSelector::select(c, {"blocks.*.hook_resid_post"}).size(), 2u);
  EXPECT_EQ(HookSelector::select(c, {"blocks.0-1.mlp.hook_post", "hook_embed"}).size(), 3u);
  const auto exact = HookSelector::select(c, {"blocks.1.attn.hook_pattern"});
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact[0], (HookPointId{HookSite::AttnPattern, 1}));
  const auto by_predicate =
      HookSelector::select(c, [](const HookPointId& p, const std::string&) { return p.layer == 1; });
  EXPECT_EQ(by_predicate.size(), 20u);
  try {
    HookSelector::select(c, {"blocks.*.hook_resid"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no hook matches 'blocks.*.hook_resid'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("blocks.{0..1}.hook_resid_post"), std::string::npos) << e.what();
  }
  EXPECT_THROW(HookSelector::select(c, {"blocks.5.hook_resid_post"}), InputError);
}

TEST_F(Fixture, ShapesMatchTheTable) {
  HookSet hooks;
  int seen = 0;
  for (const HookPointId& p : all_hook_points(c)) {
    hooks.add(p, [&, p](ActivationView& act) {
      ++seen;
      EXPECT_EQ(act.shape, hook_shape(c, p.site, 1, 7)) << hook_name(p.site, p.layer);
    });
  }
  run(a, &hooks);
  EXPECT_EQ(seen, static_cast<int>(all_hook_points(c).size()));
}

TEST_F(Fixture, PatchingEveryHookFromAIntoBReproducesA) {
  const RowMatrix logits_a = run(a);
  const auto points = all_hook_points(c);
  ActivationCache cache;
  HookSet record;
  cache.attach(record, points);
  run(a, &record);
  // Each hook alone: patching hook_embed (or any full residual write) carries all of A forward.
  for (const HookPointId& p : points) {
    HookSet patch;
    patch.add(p, patch_from(cache.at(p)));
    const RowMatrix patched = run(b, &patch);
    if (p.site == HookSite::Embed || p.site == HookSite::UnembedOut) EXPECT_EQ(patched, logits_a) << hook_name(p.site, p.layer);
  }
  HookSet all;
  for (const HookPointId& p : points) all.add(p, patch_from(cache.at(p)));
  EXPECT_EQ(run(b, &all), logits_a);  // bit-identical
}

TEST_F(Fixture, ZeroAblatingMlpPostEqualsZeroedDownProjection) {
  HookSet ablate;
  ablate.add({HookSite::MlpPost, 1}, zero_ablation());
  const RowMatrix ablated = run(a, &ablate);
  TransformerWeights w = model.weights();
  w.layers[1].w_down = Tensor::owned(w.layers[1].w_down.shape, std::vector<float>(w.layers[1].w_down.numel(), 0.0f));
  const Transformer zeroed(c, w);
  EXPECT_LT((ablated - zeroed.forward(a)).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_GT((ablated - run(a)).cwiseAbs().maxCoeff(), 1e-3);  // and it did change something
}

TEST_F(Fixture, ZeroSteeringChangesNothingAndNonZeroDoes) {
  const RowMatrix clean = run(a);
  HookSet zero;
  zero.add({HookSite::ResidPost, 0}, steering(std::vector<float>(c.d_model, 0.0f), 5.0f));
  EXPECT_EQ(run(a, &zero), clean);
  HookSet steer;
  steer.add({HookSite::ResidPost, 0}, steering(std::vector<float>(c.d_model, 0.5f), 2.0f, {.positions = {3}}));
  const RowMatrix steered = run(a, &steer);
  // Positions before 3 are untouched (causal), 3 and later change.
  EXPECT_EQ(steered.topRows(3), clean.topRows(3));
  EXPECT_GT((steered.row(3) - clean.row(3)).cwiseAbs().maxCoeff(), 1e-4);
}

TEST_F(Fixture, HeadAndNeuronSelection) {
  ActivationCache cache;
  HookSet hooks;
  hooks.add({HookSite::AttnZ, 0}, zero_ablation({.heads = {2}}));
  hooks.add({HookSite::MlpPost, 0}, zero_ablation({.positions = {-1}, .neurons = {0, 5}}));
  cache.attach(hooks, {{HookSite::AttnZ, 0}, {HookSite::MlpPost, 0}});
  run(a, &hooks);
  const StoredActivation& z = cache.at({HookSite::AttnZ, 0});  // [1, 7, 4, 16]
  for (int pos = 0; pos < 7; ++pos)
    for (int h = 0; h < 4; ++h)
      for (int d = 0; d < 16; ++d) {
        const float v = z.values[((pos * 4) + h) * 16 + d];
        if (h == 2) EXPECT_EQ(v, 0.0f);
        else EXPECT_NE(v, 0.0f);
      }
  const StoredActivation& post = cache.at({HookSite::MlpPost, 0});  // [1, 7, 96]
  EXPECT_EQ(post.values[6 * 96 + 0], 0.0f);
  EXPECT_EQ(post.values[6 * 96 + 5], 0.0f);
  EXPECT_NE(post.values[5 * 96 + 0], 0.0f);
  HookSet bad;
  bad.add({HookSite::MlpPost, 0}, zero_ablation({.heads = {1}}));
  EXPECT_THROW(run(a, &bad), InputError);
}

TEST_F(Fixture, MeanAblationUsesTheCapturedMean) {
  ActivationCache cache;
  HookSet rec;
  cache.attach(rec, {{HookSite::ResidMid, 0}});
  run(TokenBatch::pad({tokens({1, 2, 3}), tokens({1, 4, 5, 6, 7})}), &rec);
  const std::vector<float> mean = feature_mean(cache.at({HookSite::ResidMid, 0}));
  ASSERT_EQ(mean.size(), static_cast<size_t>(c.d_model));
  HookSet hooks;
  hooks.add({HookSite::ResidMid, 0}, mean_ablation(mean));
  ActivationCache after;
  after.attach(hooks, {{HookSite::ResidMid, 0}});
  run(a, &hooks);
  const StoredActivation& v = after.at({HookSite::ResidMid, 0});
  for (int pos = 0; pos < 7; ++pos)
    for (int d = 0; d < c.d_model; ++d) ASSERT_EQ(v.values[pos * c.d_model + d], mean[d]);
}

// Wants only blocks.0.hook_resid_post and remembers every layer the forward asked about.
class LayerSpy : public HookSet {
 public:
  bool wants(HookPointId p) const override {
    asked_layers.insert(p.layer);
    return HookSet::wants(p);
  }
  mutable std::set<int> asked_layers;
};

TEST_F(Fixture, UnneededLayersAreSkipped) {
  LayerSpy spy;
  spy.add({HookSite::ResidPost, 0}, [](ActivationView&) {});
  EXPECT_EQ(spy.blocks_needed(c.n_layers), 1);
  ForwardOptions o;
  o.logits = LogitsAt::None;
  o.hooks = &spy;
  EXPECT_EQ(model.forward(a, o).size(), 0);
  EXPECT_EQ(spy.asked_layers.count(1), 0u) << "block 1 ran although nothing reads it";
  // Hooking ln_final needs every block.
  spy.add({HookSite::LnFinalScale, -1}, [](ActivationView&) {});
  EXPECT_EQ(spy.blocks_needed(c.n_layers), 2);
  model.forward(a, o);
  EXPECT_EQ(spy.asked_layers.count(1), 1u);
}

}  // namespace
}  // namespace resid
