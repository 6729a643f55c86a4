// The weight schema: every TransformerWeights member has exactly one row, slots come in the orders the
// formats write, and permute_qk_rows is one permutation with its inverse for weights and activations alike.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "core/rotary.h"
#include "core/weight_schema.h"

namespace resid {
namespace {

Config small_config() {
  Config c;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.d_head = 8;
  c.d_mlp = 48;
  c.d_vocab = 11;
  c.n_ctx = 16;
  return c;
}

TEST(WeightSchema, EveryRoleHasOneRowThatFillsItsOwnMember) {
  std::set<int> roles;
  for (const WeightRow& row : weight_schema()) {
    EXPECT_TRUE(roles.insert(static_cast<int>(row.role)).second) << row.name;
    EXPECT_EQ(&weight_row(row.role), &row);
    EXPECT_FALSE(row.per_layer ? row.layer == nullptr : row.global == nullptr) << row.name;
  }
  EXPECT_EQ(roles.size(), size_t(12));
  // No two rows fill the same member: every slot of a model resolves to a distinct tensor.
  const Config c = small_config();
  TransformerWeights w;
  w.layers.resize(c.n_layers);
  std::set<const Tensor*> seen;
  for (const WeightSlot& s : weight_slots(c)) EXPECT_TRUE(seen.insert(&weight_tensor(w, s)).second);
  EXPECT_EQ(&weight_tensor(w, {&weight_row(WeightRole::Wk), 1}), &w.layers[1].w_k);
  EXPECT_EQ(&weight_tensor(w, {&weight_row(WeightRole::FinalNorm), -1}), &w.final_norm);
}

TEST(WeightSchema, SlotsFollowTheConfig) {
  Config c = small_config();
  EXPECT_EQ(weight_slots(c).size(), size_t(2 + 9 * 2 + 1));  // untied, gated
  c.tied_embeddings = true;
  EXPECT_EQ(weight_slots(c).size(), size_t(1 + 9 * 2 + 1));
  c.gated_mlp = false;
  EXPECT_EQ(weight_slots(c).size(), size_t(1 + 8 * 2 + 1));
  for (const WeightSlot& s : weight_slots(c)) {
    EXPECT_NE(s.row->role, WeightRole::Gate);
    EXPECT_NE(s.row->role, WeightRole::Unembed);
  }
}

TEST(WeightSchema, HuggingFaceAndGgufOrders) {
  const Config c = small_config();
  const std::vector<WeightSlot> hf = weight_slots(c, WeightOrder::Interleaved);
  EXPECT_EQ(weight_name(hf.front()), "model.embed_tokens.weight");
  EXPECT_EQ(weight_name(hf[1]), "model.layers.0.input_layernorm.weight");
  EXPECT_EQ(weight_name(hf[10]), "model.layers.1.input_layernorm.weight");
  EXPECT_EQ(weight_name(hf[hf.size() - 2]), "model.norm.weight");
  EXPECT_EQ(weight_name(hf.back()), "lm_head.weight");
  const std::vector<WeightSlot> gguf = weight_slots(c, WeightOrder::GlobalsFirst);
  ASSERT_EQ(gguf.size(), hf.size());
  EXPECT_EQ(gguf[0].row->role, WeightRole::Embed);
  EXPECT_EQ(gguf[1].row->role, WeightRole::FinalNorm);
  EXPECT_EQ(gguf[2].row->role, WeightRole::Unembed);
  EXPECT_EQ(gguf[3].row->role, WeightRole::AttnNorm);
  EXPECT_EQ(gguf[3].layer, 0);
  EXPECT_EQ(gguf.back().row->role, WeightRole::Down);
  EXPECT_EQ(gguf.back().layer, 1);
}

TEST(WeightSchema, ShapesAndRotaryHeads) {
  const Config c = small_config();
  EXPECT_EQ(weight_row(WeightRole::Wq).shape(c), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(weight_row(WeightRole::Wk).shape(c), (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(weight_row(WeightRole::Wo).shape(c), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(weight_row(WeightRole::Down).shape(c), (std::vector<int64_t>{32, 48}));
  EXPECT_EQ(weight_row(WeightRole::Embed).shape(c), (std::vector<int64_t>{11, 32}));
  for (const WeightSlot& s : weight_slots(c)) {
    const int want = s.row->role == WeightRole::Wq ? 4 : s.row->role == WeightRole::Wk ? 2 : 0;
    EXPECT_EQ(rotary_heads(s, c), want) << weight_name(s);
  }
  const TransformerWeights w = random_weights(c, 5);
  for (const WeightSlot& s : weight_slots(c)) EXPECT_EQ(weight_tensor(w, s).shape, s.row->shape(c));
}

TEST(PermuteQkRows, HalfAndInterleavedAreInversesForWeightsAndActivations) {
  // 2 heads of 4 rows, 3 columns; row r holds r*10 + column.
  std::vector<float> v;
  for (int r = 0; r < 8; ++r)
    for (int col = 0; col < 3; ++col) v.push_back(float(r * 10 + col));
  const Tensor inter = Tensor::owned({8, 3}, v);
  const Tensor half = permute_qk_rows(inter, 2, RotaryStyle::Half);
  // Half row j * 2 + i == interleaved row 2i + j, within each head.
  const int want_rows[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int r = 0; r < 8; ++r) EXPECT_EQ(half.data[r * 3 + 1], float(want_rows[r] * 10 + 1)) << r;
  const Tensor back = permute_qk_rows(half, 2, RotaryStyle::Interleaved);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(back.data[i], v[i]);

  // One activation row (width 1) is permuted like the column of a weight.
  std::vector<float> act = {0, 1, 2, 3, 4, 5, 6, 7}, out(8);
  permute_qk_rows(act.data(), out.data(), 2, 4, 1, RotaryStyle::Half);
  for (int r = 0; r < 8; ++r) EXPECT_EQ(out[r], float(want_rows[r]));

  EXPECT_THROW(permute_qk_rows(inter, 3, RotaryStyle::Half), InputError);  // 8 rows are not 3 heads
  EXPECT_THROW(permute_qk_rows(Tensor::owned({6, 1}, {0, 1, 2, 3, 4, 5}), 2, RotaryStyle::Half), InputError);
}

}  // namespace
}  // namespace resid
