#include "core/transformer.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/attention.h"
#include "core/error.h"
#include "core/ffn.h"
#include "core/hook_caller.h"
#include "core/project.h"
#include "core/rms_norm.h"
#include "core/thread_plan.h"

namespace resid {

TokenBatch TokenBatch::single(const std::vector<int32_t>& ids) {
  return pad({ids});
}

TokenBatch TokenBatch::pad(const std::vector<std::vector<int32_t>>& sequences, int32_t pad_id) {
  TokenBatch b;
  b.batch = static_cast<int>(sequences.size());
  for (const auto& s : sequences) b.n_pos = std::max(b.n_pos, static_cast<int>(s.size()));
  b.tokens.assign(static_cast<size_t>(b.batch) * b.n_pos, pad_id);
  for (int i = 0; i < b.batch; ++i) {
    std::copy(sequences[i].begin(), sequences[i].end(), b.tokens.begin() + static_cast<int64_t>(i) * b.n_pos);
    b.lengths.push_back(static_cast<int>(sequences[i].size()));
  }
  return b;
}

Transformer::Transformer(Config config, TransformerWeights weights, const std::string& source)
    : config_(std::move(config)), weights_(std::move(weights)) {
  config_.validate();
  check_weight_shapes(config_, weights_, source);
  rotary_ =
      std::make_shared<Rotary>(config_.d_head, config_.n_ctx, config_.rotary_base, config_.rotary_style);
}

KvCache Transformer::make_cache(int batch) const {
  return KvCache(config_.n_layers, batch, config_.n_ctx, config_.n_kv_heads * config_.d_head);
}

namespace {

void check_batch(const Config& c, const TokenBatch& in, const KvCache* cache) {
  const int start = cache ? cache->length() : 0;
  if (in.batch <= 0 || in.n_pos <= 0) throw InputError("empty batch: nothing to run");
  if (in.tokens.size() != static_cast<size_t>(in.batch) * in.n_pos)
    throw InputError("token batch holds " + std::to_string(in.tokens.size()) + " ids, expected batch " +
                     std::to_string(in.batch) + " x n_pos " + std::to_string(in.n_pos));
  if (in.lengths.size() != static_cast<size_t>(in.batch))
    throw InputError("token batch has " + std::to_string(in.lengths.size()) + " lengths for " +
                     std::to_string(in.batch) + " sequences");
  if (start + in.n_pos > c.n_ctx)
    throw InputError("sequence of " + std::to_string(start + in.n_pos) +
                     " tokens exceeds the model's context n_ctx = " + std::to_string(c.n_ctx));
  for (int b = 0; b < in.batch; ++b) {
    const int len = in.lengths[b];
    if (len < 1 || len > in.n_pos)
      throw InputError("sequence " + std::to_string(b) + " has length " + std::to_string(len) +
                       ", expected 1.." + std::to_string(in.n_pos));
    if (cache && len != in.n_pos) throw InputError("a KV-cached forward needs sequences of equal length");
    for (int p = 0; p < len; ++p) {
      const int32_t id = in.tokens[static_cast<size_t>(b) * in.n_pos + p];
      if (id < 0 || id >= c.d_vocab)
        throw InputError("token id " + std::to_string(id) + " at sequence " + std::to_string(b) +
                         " position " + std::to_string(p) + " is outside the vocabulary [0, " +
                         std::to_string(c.d_vocab) + ")");
    }
  }
  if (cache && cache->batch() != in.batch) throw InputError("KV cache was made for a different batch size");
}

// ln.hook_scale -> ln.hook_normalized -> * w, over every row of x.
RowMatrix rms_norm(const RowMatrix& x, const Tensor& weight, float eps, HookSite scale_site,
                   HookSite normalized_site, int layer, HookCaller& hooks) {
  Eigen::VectorXf scale;  // [rows]
  rms_scale(x, eps, scale);
  hooks.at(scale_site, layer, scale.data());
  RowMatrix normed;  // [rows, d_model]
  rms_normalize(x, scale, normed);
  hooks.at(normalized_site, layer, normed.data());
  apply_norm_weight(normed, weight);
  return normed;
}

// Reorders each head's coordinates from rotate-half pairs (i, i + d_head/2) to adjacent pairs (2i, 2i + 1).
void to_interleaved_layout(RowMatrix& x, int n_heads, int d_head) {
  const int64_t width = int64_t{n_heads} * d_head;
#pragma omp parallel if (x.size() > (1 << 16))
  {
    std::vector<float> tmp(static_cast<size_t>(width));
#pragma omp for schedule(static)
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      float* row = x.data() + r * x.cols();
      permute_qk_rows(row, tmp.data(), n_heads, d_head, 1, RotaryStyle::Interleaved);
      std::copy(tmp.begin(), tmp.end(), row);
    }
  }
}

// Lets hooks see the full score / pattern buffers of one layer.
class LayerAttentionHooks : public AttentionHooks {
 public:
  LayerAttentionHooks(HookCaller& hooks, int layer, std::vector<int64_t> shape)
      : hooks_(hooks), layer_(layer), shape_(std::move(shape)) {}
  bool wants_scores() const override { return hooks_.wants(HookSite::AttnScores, layer_); }
  bool wants_pattern() const override { return hooks_.wants(HookSite::AttnPattern, layer_); }
  void on_scores(float* buffer) override { hooks_.at_shape(HookSite::AttnScores, layer_, buffer, shape_); }
  void on_pattern(float* buffer) override { hooks_.at_shape(HookSite::AttnPattern, layer_, buffer, shape_); }

 private:
  HookCaller& hooks_;
  int layer_;
  std::vector<int64_t> shape_;
};

}  // namespace

// Everything one call of forward() needs, so each stage reads as a short function.
struct ForwardPass {
  const Config& c;
  const TransformerWeights& w;
  const Rotary& rotary;
  const TokenBatch& in;
  KvCache* cache;
  int start_pos;
  HookCaller hooks;

  int64_t rows() const { return int64_t(in.batch) * in.n_pos; }

  RowMatrix embed() {
    RowMatrix x(rows(), c.d_model);  // [batch * pos, d_model]
    const ConstMatrixMap table = w.embed.matrix();
    for (int64_t r = 0; r < rows(); ++r) {
      const int b = static_cast<int>(r / in.n_pos), p = static_cast<int>(r % in.n_pos);
      const int32_t id = p < in.lengths[b] ? in.tokens[r] : 0;  // padding reads row 0; its output is ignored
      x.row(r) = table.row(id);
    }
    hooks.at(HookSite::Embed, -1, x.data());
    return x;
  }

  RowMatrix self_attention(const LayerWeights& lw, const RowMatrix& normed, int layer) {
    const int kv_dim = c.n_kv_heads * c.d_head;
    RowMatrix q = project(normed, lw.w_q.matrix());  // [batch * pos, n_heads * d_head]
    RowMatrix k = project(normed, lw.w_k.matrix());  // [batch * pos, n_kv_heads * d_head]
    RowMatrix v = project(normed, lw.w_v.matrix());  // [batch * pos, n_kv_heads * d_head]
    hooks.at(HookSite::AttnQ, layer, q.data());
    hooks.at(HookSite::AttnK, layer, k.data());
    hooks.at(HookSite::AttnV, layer, v.data());
    rotary.apply(q, in.batch, in.n_pos, c.n_heads, start_pos);
    rotary.apply(k, in.batch, in.n_pos, c.n_kv_heads, start_pos);
    hooks.at(HookSite::AttnRotQ, layer, q.data());
    hooks.at(HookSite::AttnRotK, layer, k.data());
    if (c.rotary_style == RotaryStyle::Half) {
      // q.k is the same sum in either layout; summing it in one canonical (interleaved) order means the two
      // conventions differ only where the q/k projections themselves round differently (docs/numerics.md).
      // Hooks above keep the checkpoint's layout.
      to_interleaved_layout(q, c.n_heads, c.d_head);
      to_interleaved_layout(k, c.n_kv_heads, c.d_head);
    }

    const int n_keys = start_pos + in.n_pos;
    KvSource kv{k.data(), v.data(), int64_t(in.n_pos) * kv_dim, kv_dim};
    if (cache) {  // append this call's keys/values, then attend over everything cached
      for (int b = 0; b < in.batch; ++b) {
        const size_t bytes = sizeof(float) * size_t(in.n_pos) * kv_dim;
        std::memcpy(cache->keys(layer, b) + int64_t(start_pos) * kv_dim,
                    k.data() + int64_t(b) * in.n_pos * kv_dim, bytes);
        std::memcpy(cache->values(layer, b) + int64_t(start_pos) * kv_dim,
                    v.data() + int64_t(b) * in.n_pos * kv_dim, bytes);
      }
      kv = KvSource{cache->keys(layer, 0), cache->values(layer, 0), int64_t(cache->capacity()) * kv_dim,
                    kv_dim};
    }
    AttentionShape shape{in.batch, in.n_pos, n_keys, start_pos, c.n_heads, c.n_kv_heads, c.d_head};
    LayerAttentionHooks attn_hooks(hooks, layer, {in.batch, c.n_heads, in.n_pos, n_keys});
    RowMatrix z;  // [batch * pos, n_heads * d_head]
    attention(shape, q, kv, in.lengths, z, hooks.active() ? &attn_hooks : nullptr);
    hooks.at(HookSite::AttnZ, layer, z.data());

    RowMatrix out = project(z, lw.w_o.matrix());  // [batch * pos, d_model]
    hooks.at(HookSite::AttnOut, layer, out.data());
    return out;
  }

  // The residual stream through one block.
  void block(RowMatrix& x, int layer) {
    const LayerWeights& lw = w.layers[layer];
    hooks.at(HookSite::ResidPre, layer, x.data());

    RowMatrix attn_in =
        rms_norm(x, lw.attn_norm, c.eps, HookSite::Ln1Scale, HookSite::Ln1Normalized, layer, hooks);
    x += self_attention(lw, attn_in, layer);  // x = x + attn(norm(x))
    hooks.at(HookSite::ResidMid, layer, x.data());

    RowMatrix ffn_in =
        rms_norm(x, lw.ffn_norm, c.eps, HookSite::Ln2Scale, HookSite::Ln2Normalized, layer, hooks);
    x += ffn(c, lw, ffn_in, layer, hooks);  // x = x + ffn(norm(x))
    hooks.at(HookSite::ResidPost, layer, x.data());
  }

  bool head_hooked() const {
    return hooks.wants(HookSite::LnFinalScale, -1) || hooks.wants(HookSite::LnFinalNormalized, -1) ||
           hooks.wants(HookSite::UnembedOut, -1);
  }

  // Rows of x at each sequence's last real token: [batch, d_model].
  RowMatrix last_rows(const RowMatrix& x) const {
    RowMatrix out(in.batch, x.cols());
    for (int b = 0; b < in.batch; ++b) out.row(b) = x.row(int64_t(b) * in.n_pos + in.lengths[b] - 1);
    return out;
  }

  // Whether head() unembeds every row: when all logits are asked for, or a hook reads the head.
  bool head_every_row(LogitsAt at) const { return at == LogitsAt::All || head_hooked(); }

  // Rows head() puts through ln_final and the unembedding: 0 when nobody reads the head.
  int64_t head_rows(LogitsAt at) const {
    if (head_every_row(at)) return rows();
    return at == LogitsAt::Last ? in.batch : 0;
  }

  // ln_final and the unembedding. Only the last rows when that is all anyone needs.
  RowMatrix head(const RowMatrix& x, LogitsAt at) {
    const bool every_row = head_every_row(at);
    RowMatrix normed = rms_norm(every_row ? x : last_rows(x), w.final_norm, c.eps, HookSite::LnFinalScale,
                                HookSite::LnFinalNormalized, -1, hooks);
    RowMatrix logits = project(normed, w.unembed.matrix());  // [rows, d_vocab]
    if (every_row) hooks.at(HookSite::UnembedOut, -1, logits.data());
    if (at == LogitsAt::Last && every_row) return last_rows(logits);
    if (at == LogitsAt::None) return RowMatrix();
    return logits;
  }
};

namespace {
// Sets the OpenMP thread count of the calling thread (Eigen's GEMMs and project() read it) for one forward:
// what the caller asked for, or what the forward's size is worth (core/thread_plan.h). Concurrent forwards on
// other threads are not touched.
class ForwardThreads {
 public:
  ForwardThreads(int requested, const ForwardWork& work) : saved_(omp_get_max_threads()) {
    omp_set_num_threads(requested > 0 ? requested : threads_for(work, saved_));
  }
  ~ForwardThreads() { omp_set_num_threads(saved_); }
  ForwardThreads(const ForwardThreads&) = delete;
  ForwardThreads& operator=(const ForwardThreads&) = delete;

 private:
  int saved_;
};
}  // namespace

RowMatrix Transformer::forward(const TokenBatch& in, const ForwardOptions& options) const {
  check_batch(config_, in, options.cache);
  const int start_pos = options.cache ? options.cache->length() : 0;
  ForwardPass pass{config_,
                   weights_,
                   *rotary_,
                   in,
                   options.cache,
                   start_pos,
                   HookCaller(options.hooks, config_, in.batch, in.n_pos, start_pos, &in.lengths)};

  // Blocks to run: all of them when the head runs, else only as many as the hooks read.
  const int64_t head_rows = pass.head_rows(options.logits);
  int n_blocks = config_.n_layers;
  if (head_rows == 0 && options.hooks && !options.cache)
    n_blocks = std::clamp(options.hooks->blocks_needed(config_.n_layers), 0, config_.n_layers);
  const ForwardThreads threads(options.threads,
                               forward_work(config_, pass.rows(), start_pos, in.n_pos, head_rows, n_blocks));

  RowMatrix x = pass.embed();  // [batch * pos, d_model] the residual stream
  for (int layer = 0; layer < n_blocks; ++layer) pass.block(x, layer);
  if (options.cache) options.cache->advance(in.n_pos);

  if (head_rows == 0) return RowMatrix();
  return pass.head(x, options.logits);
}

}  // namespace resid
