// The batched forward against a deliberately naive one written here (per token, per head, double precision,
// llama2.c's loop structure), on seeded random models of every FFN kind and both rotary conventions.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/activations.h"
#include "core/error.h"
#include "core/init.h"
#include "core/transformer.h"
#include "test_support.h"

namespace resid {
namespace {

using Vec = std::vector<double>;

Vec matvec(const Tensor& w, const Vec& x) {  // w: [out, in]
  const int64_t out = w.shape[0], in = w.shape[1];
  Vec y(out, 0.0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) y[o] += double(w.data[o * in + i]) * x[i];
  return y;
}

Vec rmsnorm(const Vec& x, const Tensor& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / x.size() + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w.data[i];
  return y;
}

double act(ActFn fn, double x) {
  switch (fn) {
    case ActFn::ReLU: return x > 0 ? x : 0;
    case ActFn::SiLU: return x / (1 + std::exp(-x));
    case ActFn::GeLU: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case ActFn::GeLUTanh: return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  return x;
}

void rope(Vec& v, int n_heads, int d_head, int pos, double base, RotaryStyle style) {
  for (int h = 0; h < n_heads; ++h)
    for (int i = 0; i < d_head / 2; ++i) {
      const double angle = pos * std::pow(base, -2.0 * i / d_head);
      const int a = h * d_head + (style == RotaryStyle::Interleaved ? 2 * i : i);
      const int b = a + (style == RotaryStyle::Interleaved ? 1 : d_head / 2);
      const double x0 = v[a], x1 = v[b];
      v[a] = x0 * std::cos(angle) - x1 * std::sin(angle);
      v[b] = x0 * std::sin(angle) + x1 * std::cos(angle);
    }
}

// Logits [n_tokens][d_vocab] for one sequence, one token at a time with a growing KV list.
std::vector<Vec> naive_forward(const Config& c, const TransformerWeights& w,
                               const std::vector<int32_t>& tokens) {
  std::vector<std::vector<Vec>> keys(c.n_layers), values(c.n_layers);
  std::vector<Vec> all_logits;
  const int group = c.n_heads / c.n_kv_heads;
  for (int pos = 0; pos < static_cast<int>(tokens.size()); ++pos) {
    Vec x(w.embed.data + int64_t(tokens[pos]) * c.d_model,
          w.embed.data + int64_t(tokens[pos] + 1) * c.d_model);
    for (int l = 0; l < c.n_layers; ++l) {
      const LayerWeights& lw = w.layers[l];
      Vec xn = rmsnorm(x, lw.attn_norm, c.eps);
      Vec q = matvec(lw.w_q, xn), k = matvec(lw.w_k, xn), v = matvec(lw.w_v, xn);
      rope(q, c.n_heads, c.d_head, pos, c.rotary_base, c.rotary_style);
      rope(k, c.n_kv_heads, c.d_head, pos, c.rotary_base, c.rotary_style);
      keys[l].push_back(k);
      values[l].push_back(v);
      Vec z(size_t(c.n_heads) * c.d_head, 0.0);
      for (int h = 0; h < c.n_heads; ++h) {
        const int kvh = h / group;
        Vec att(pos + 1);
        double max = -1e300;
        for (int t = 0; t <= pos; ++t) {
          double s = 0;
          for (int i = 0; i < c.d_head; ++i) s += q[h * c.d_head + i] * keys[l][t][kvh * c.d_head + i];
          att[t] = s / std::sqrt(double(c.d_head));
          max = std::max(max, att[t]);
        }
        double sum = 0;
        for (double& a : att) sum += (a = std::exp(a - max));
        for (int t = 0; t <= pos; ++t)
          for (int i = 0; i < c.d_head; ++i)
            z[h * c.d_head + i] += att[t] / sum * values[l][t][kvh * c.d_head + i];
      }
      Vec attn_out = matvec(lw.w_o, z);
      for (int i = 0; i < c.d_model; ++i) x[i] += attn_out[i];
      xn = rmsnorm(x, lw.ffn_norm, c.eps);
      Vec hidden = matvec(lw.w_up, xn);
      if (c.gated_mlp) {
        Vec gate = matvec(lw.w_gate, xn);
        for (size_t i = 0; i < hidden.size(); ++i) hidden[i] *= act(c.act_fn, gate[i]);
      } else {
        for (double& h : hidden) h = act(c.act_fn, h);
      }
      Vec ffn_out = matvec(lw.w_down, hidden);
      for (int i = 0; i < c.d_model; ++i) x[i] += ffn_out[i];
    }
    all_logits.push_back(matvec(w.unembed, rmsnorm(x, w.final_norm, c.eps)));
  }
  return all_logits;
}

std::vector<int32_t> random_tokens(int n, int vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> t(n);
  for (auto& id : t) id = static_cast<int32_t>(rng.next_u64() % vocab);
  return t;
}

struct Variant {
  const char* name;
  ActFn act;
  bool gated;
  RotaryStyle style;
  bool tied;
};

class AgainstNaive : public ::testing::TestWithParam<Variant> {};

TEST_P(AgainstNaive, LogitsMatchWithin1e4) {
  Config c = testing::tiny_config();
  c.act_fn = GetParam().act;
  c.gated_mlp = GetParam().gated;
  c.rotary_style = GetParam().style;
  c.tied_embeddings = GetParam().tied;
  // Larger weights than the default init so attention patterns are far from uniform.
  TransformerWeights w = random_weights(c, 11);
  Transformer model(c, w);
  const auto tokens = random_tokens(20, c.d_vocab, 3);
  const RowMatrix logits = model.forward(TokenBatch::single(tokens));
  const auto want = naive_forward(c, model.weights(), tokens);
  double max_diff = 0;
  for (size_t p = 0; p < tokens.size(); ++p)
    for (int v = 0; v < c.d_vocab; ++v) max_diff = std::max(max_diff, std::abs(logits(p, v) - want[p][v]));
  EXPECT_LT(max_diff, 1e-4) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    FfnKinds, AgainstNaive,
    ::testing::Values(Variant{"SwiGLU", ActFn::SiLU, true, RotaryStyle::Interleaved, false},
                      Variant{"SwiGLU_half_rotary_tied", ActFn::SiLU, true, RotaryStyle::Half, true},
                      Variant{"GeGLU", ActFn::GeLU, true, RotaryStyle::Interleaved, false},
                      Variant{"ReGLU", ActFn::ReLU, true, RotaryStyle::Interleaved, true},
                      Variant{"ReLU", ActFn::ReLU, false, RotaryStyle::Interleaved, false},
                      Variant{"GELU", ActFn::GeLU, false, RotaryStyle::Half, false},
                      Variant{"GELU_tanh", ActFn::GeLUTanh, false, RotaryStyle::Interleaved, false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Transformer, PaddedBatchEqualsOneSequenceAtATime) {
  const Config c = testing::tiny_config();
  Transformer model(c, random_weights(c, 5));
  const std::vector<std::vector<int32_t>> seqs = {
      random_tokens(17, c.d_vocab, 1), random_tokens(5, c.d_vocab, 2), random_tokens(11, c.d_vocab, 3),
      random_tokens(1, c.d_vocab, 4)};
  const TokenBatch batch = TokenBatch::pad(seqs, /*pad_id=*/7);
  const RowMatrix all = model.forward(batch);
  ForwardOptions last;
  last.logits = LogitsAt::Last;
  const RowMatrix last_logits = model.forward(batch, last);
  for (size_t b = 0; b < seqs.size(); ++b) {
    const RowMatrix alone = model.forward(TokenBatch::single(seqs[b]));
    for (size_t p = 0; p < seqs[b].size(); ++p)
      for (int v = 0; v < c.d_vocab; ++v)
        ASSERT_NEAR(all(b * batch.n_pos + p, v), alone(p, v), 1e-5) << "seq " << b << " pos " << p;
    for (int v = 0; v < c.d_vocab; ++v) ASSERT_NEAR(last_logits(b, v), alone(seqs[b].size() - 1, v), 1e-5);
  }
}

TEST(Transformer, RepeatedRunsAreBitIdentical) {
  const Config c = testing::tiny_config();
  Transformer model(c, random_weights(c, 8));
  const auto tokens = random_tokens(23, c.d_vocab, 4);
  const RowMatrix first = model.forward(TokenBatch::single(tokens));
  for (int i = 0; i < 5; ++i) {
    std::vector<char> shift(64 * i + 4);  // move the heap around between runs
    EXPECT_EQ(model.forward(TokenBatch::single(tokens)), first) << "run " << i;
  }
}

TEST(Transformer, KvCacheEqualsFullForward) {
  const Config c = testing::tiny_config();
  Transformer model(c, random_weights(c, 6));
  const auto tokens = random_tokens(12, c.d_vocab, 9);
  const RowMatrix full = model.forward(TokenBatch::single(tokens));
  KvCache cache = model.make_cache(1);
  ForwardOptions opts;
  opts.cache = &cache;
  // A prompt chunk of 5, then one token at a time.
  RowMatrix chunk = model.forward(TokenBatch::single({tokens.begin(), tokens.begin() + 5}), opts);
  for (int p = 0; p < 5; ++p)
    for (int v = 0; v < c.d_vocab; ++v) ASSERT_NEAR(chunk(p, v), full(p, v), 1e-5);
  for (size_t p = 5; p < tokens.size(); ++p) {
    RowMatrix step = model.forward(TokenBatch::single({tokens[p]}), opts);
    for (int v = 0; v < c.d_vocab; ++v) ASSERT_NEAR(step(0, v), full(p, v), 1e-5) << "pos " << p;
  }
  EXPECT_EQ(cache.length(), 12);
}

TEST(Transformer, RejectsBadInputWithClearMessages) {
  const Config c = testing::tiny_config();
  Transformer model(c, random_weights(c, 1));
  try {
    model.forward(TokenBatch::single({1, 2, 128}));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "token id 128 at sequence 0 position 2 is outside the vocabulary [0, 128)");
  }
  EXPECT_THROW(model.forward(TokenBatch::single({-1})), InputError);
  EXPECT_THROW(model.forward(TokenBatch::single(std::vector<int32_t>(65, 1))), InputError);
  EXPECT_THROW(model.forward(TokenBatch{}), InputError);
}

TEST(Config, ValidationMessagesNameTheProblem) {
  Config c = testing::tiny_config();
  c.n_heads = 7;
  try {
    c.validate();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "n_heads = 7 does not divide d_model = 64");
  }
  c = testing::tiny_config();
  c.n_kv_heads = 3;
  EXPECT_THROW(c.validate(), ConfigError);
  c = testing::tiny_config();
  c.d_vocab = 0;
  EXPECT_THROW(c.validate(), ConfigError);
  // Weights that do not fit the config are caught at construction.
  Config other = testing::tiny_config();
  other.d_mlp = 32;
  try {
    Transformer bad(testing::tiny_config(), random_weights(other, 1), "model.bin");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(),
                 "model.bin: model.layers.0.mlp.gate_proj.weight has shape [32, 64], expected [96, 64]");
  }
}

TEST(Config, JsonRoundTrip) {
  Config c = testing::tiny_config();
  c.act_fn = ActFn::GeLUTanh;
  c.gated_mlp = false;
  c.rotary_style = RotaryStyle::Half;
  c.tied_embeddings = true;
  const Config back = Config::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
}

}  // namespace
}  // namespace resid
