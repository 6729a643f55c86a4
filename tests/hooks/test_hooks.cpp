#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "core/error.h"
#include "core/mlp.h"
#include "core/transformer.h"
#include "hooks/activation_cache.h"
#include "hooks/hook_point.h"
#include "hooks/hook_selector.h"
#include "hooks/interventions.h"
#include "hooks/run_with_cache.h"
#include "test_support.h"

namespace resid {
namespace {

std::vector<int32_t> tokens(std::initializer_list<int32_t> ids) {
  return ids;
}

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
    if (p.site == HookSite::Embed || p.site == HookSite::UnembedOut)
      EXPECT_EQ(patched, logits_a) << hook_name(p.site, p.layer);
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
  w.layers[1].w_down =
      Tensor::owned(w.layers[1].w_down.shape, std::vector<float>(w.layers[1].w_down.numel(), 0.0f));
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
  steer.add({HookSite::ResidPost, 0},
            steering(std::vector<float>(c.d_model, 0.5f), 2.0f, {.positions = {3}}));
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
        if (h == 2)
          EXPECT_EQ(v, 0.0f);
        else
          EXPECT_NE(v, 0.0f);
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

// The strings `resid hooks` printed before the shapes came from the table's axes.
TEST_F(Fixture, DescribedShapesEqualTheOldStrings) {
  const std::string model = "[batch, pos, d_model=64]", scale = "[batch, pos, 1]",
                    mlp = "[batch, pos, d_mlp=96]";
  const std::string q = "[batch, pos, n_heads=4, d_head=16]", kv = "[batch, pos, n_kv_heads=2, d_head=16]";
  const std::string map = "[batch, n_heads=4, q_pos, k_pos]";
  const std::map<HookSite, std::string> expected = {
      {HookSite::Embed, model},
      {HookSite::ResidPre, model},
      {HookSite::Ln1Scale, scale},
      {HookSite::Ln1Normalized, model},
      {HookSite::AttnQ, q},
      {HookSite::AttnK, kv},
      {HookSite::AttnV, kv},
      {HookSite::AttnRotQ, q},
      {HookSite::AttnRotK, kv},
      {HookSite::AttnScores, map},
      {HookSite::AttnPattern, map},
      {HookSite::AttnZ, q},
      {HookSite::AttnOut, model},
      {HookSite::ResidMid, model},
      {HookSite::Ln2Scale, scale},
      {HookSite::Ln2Normalized, model},
      {HookSite::MlpPre, mlp},
      {HookSite::MlpPreLinear, mlp},
      {HookSite::MlpPost, mlp},
      {HookSite::MlpOut, model},
      {HookSite::ResidPost, model},
      {HookSite::LnFinalScale, scale},
      {HookSite::LnFinalNormalized, model},
      {HookSite::UnembedOut, "[batch, pos, d_vocab=128]"},
  };
  ASSERT_EQ(expected.size(), static_cast<size_t>(HookSite::Count));
  for (const auto& [site, text] : expected)
    EXPECT_EQ(describe_hook_shape(c, site), text) << hook_name(site, 0);
}

// Positions select q_pos and heads select the head axis of an attention map (axes from the table).
TEST_F(Fixture, SelectingPositionsAndHeadsOfAnAttentionMap) {
  const CachedRun clean = run_with_cache(model, a, {"blocks.0.attn.hook_pattern"});
  HookSet hooks;
  hooks.add({HookSite::AttnPattern, 0}, zero_ablation({.positions = {3}, .heads = {1}, .neurons = {}}));
  ActivationCache after;
  after.attach(hooks, {{HookSite::AttnPattern, 0}});
  run(a, &hooks);
  const StoredActivation& before = clean.cache.at("blocks.0.attn.hook_pattern");  // [1, 4, 7, 7]
  const StoredActivation& ablated = after.at({HookSite::AttnPattern, 0});
  ASSERT_EQ(ablated.shape, (std::vector<int64_t>{1, 4, 7, 7}));
  for (int h = 0; h < 4; ++h)
    for (int q = 0; q < 7; ++q)
      for (int k = 0; k < 7; ++k) {
        const size_t i = ((h * 7) + q) * 7 + k;
        if (h == 1 && q == 3)
          EXPECT_EQ(ablated.values[i], 0.0f);
        else
          EXPECT_EQ(ablated.values[i], before.values[i]);
      }
  EXPECT_GT(before.values[((1 * 7) + 3) * 7 + 0], 0.0f);  // the ablation did change something
  // hook_k has n_kv_heads = 2 heads: head 3 is outside it.
  HookSet bad;
  bad.add({HookSite::AttnK, 0}, zero_ablation({.positions = {}, .heads = {3}, .neurons = {}}));
  try {
    run(a, &bad);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "head 3 is outside blocks.0.attn.hook_k's 2 heads");
  }
}

// run_with_cache is the manual setup (cache, hook set, attach, forward) in one call: same values, bit for
// bit.
TEST_F(Fixture, RunWithCacheEqualsAManualHookSetCapture) {
  const TokenBatch padded = TokenBatch::pad({tokens({1, 2, 3}), tokens({1, 4, 5, 6, 7})});
  const std::vector<std::string> patterns = {"hook_embed", "blocks.*.attn.hook_attn_scores", "blocks.1.mlp.*",
                                             "ln_final.hook_scale"};
  const auto points = HookSelector::select(c, patterns);
  ActivationCache manual;
  HookSet hooks;
  manual.attach(hooks, points);
  ForwardOptions o;
  o.hooks = &hooks;
  const RowMatrix logits = model.forward(padded, o);

  const CachedRun run = run_with_cache(model, padded, patterns);
  EXPECT_EQ(run.logits, logits);
  EXPECT_EQ(run.points, points);
  EXPECT_EQ(run.cache.size(), points.size());
  for (const HookPointId& p : points) {
    const std::string name = hook_name(p.site, p.layer);
    const StoredActivation& want = manual.at(p);
    const StoredActivation& got = run.cache.at(name);
    EXPECT_EQ(&got, &run.cache.at(p)) << name;
    EXPECT_EQ(got.shape, want.shape) << name;
    EXPECT_EQ(got.lengths, want.lengths) << name;
    ASSERT_EQ(got.values.size(), want.values.size()) << name;
    // Same code path, so the same bytes (masked scores are -inf in both).
    EXPECT_EQ(std::memcmp(got.values.data(), want.values.data(), got.values.size() * sizeof(float)), 0)
        << name;
  }
  // The predicate form selects the same way HookSelector does.
  const CachedRun by_predicate =
      run_with_cache(model, padded, [](const HookPointId& p, const std::string&) { return p.layer == 1; });
  EXPECT_EQ(by_predicate.points,
            HookSelector::select(c, [](const HookPointId& p, const std::string&) { return p.layer == 1; }));
  EXPECT_EQ(by_predicate.cache.size(), 20u);

  try {
    (void)run.cache.at("blocks.0.hook_resid_post");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "activation cache has no value for blocks.0.hook_resid_post");
  }
  EXPECT_THROW((void)run.cache.at("blocks.0.hook_nothing"), InputError);
  ForwardOptions with_hooks;
  with_hooks.hooks = &hooks;
  EXPECT_THROW(run_with_cache(model, padded, points, with_hooks), InputError);
}

// The MLP family's activations are [batch, features]: no position or head axis, neurons on the last axis.
TEST(MlpFamilyHooks, NeuronSelectionOnBatchByFeatureActivations) {
  auto filled = [](std::vector<int64_t> shape, float step) {
    std::vector<float> v(static_cast<size_t>(shape[0] * (shape.size() > 1 ? shape[1] : 1)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = step * static_cast<float>((i * 7) % 11) - 0.2f;
    return Tensor::owned(shape, v);
  };
  const Mlp mlp({{filled({5, 3}, 0.1f), filled({5}, 0.05f)}, {filled({2, 5}, 0.2f), filled({2}, 0.0f)}},
                ActFn::ReLU);
  RowMatrix x(2, 3);
  x << 1, 2, 3, -1, 0.5f, 2;
  HookSet hooks;
  hooks.add({HookSite::MlpPre, 0}, zero_ablation({.positions = {-1}, .heads = {}, .neurons = {1, 4}}));
  ActivationCache cache;
  cache.attach(hooks, {{HookSite::MlpPre, 0}});
  ActivationCache clean;
  HookSet record;
  clean.attach(record, {{HookSite::MlpPre, 0}});
  mlp.forward(x, &record);
  mlp.forward(x, &hooks);
  const StoredActivation& got = cache.at("blocks.0.mlp.hook_pre");
  const StoredActivation& want = clean.at("blocks.0.mlp.hook_pre");
  ASSERT_EQ(got.shape, (std::vector<int64_t>{2, 5}));
  for (int b = 0; b < 2; ++b)
    for (int j = 0; j < 5; ++j) {
      if (j == 1 || j == 4)
        EXPECT_EQ(got.values[b * 5 + j], 0.0f);
      else
        EXPECT_EQ(got.values[b * 5 + j], want.values[b * 5 + j]);
    }
  HookSet bad;
  bad.add({HookSite::MlpPre, 0}, zero_ablation({.positions = {}, .heads = {0}, .neurons = {}}));
  try {
    mlp.forward(x, &bad);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "blocks.0.mlp.hook_pre has no head axis to select heads from");
  }
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
