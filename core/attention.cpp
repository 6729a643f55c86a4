#include "core/attention.h"

#include <cmath>
#include <limits>

#include "core/activations.h"

namespace resid {

namespace {
using StridedConstMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using StridedMap = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
// Eigen's small products and reductions vectorise from the first aligned address, so a buffer's placement in
// memory would change rounding from call to call; aligned buffers keep every forward bit-for-bit reproducible.
using AlignedFloats = std::vector<float, Eigen::aligned_allocator<float>>;

struct HeadJob {
  const AttentionShape& s;
  const RowMatrix& q;
  const KvSource& kv;
  const std::vector<int>& lengths;
  RowMatrix& z;

  int query_rows(int b) const { return lengths[b]; }
  int64_t query_dim() const { return int64_t(s.n_heads) * s.d_head; }

  StridedConstMap queries(int b, int h) const {
    return StridedConstMap(q.data() + int64_t(b) * s.n_pos * query_dim() + int64_t(h) * s.d_head, query_rows(b),
                           s.d_head, Eigen::OuterStride<>(query_dim()));
  }
  int kv_head(int h) const { return h / (s.n_heads / s.n_kv_heads); }
  StridedConstMap keys(int b, int h, int n) const {
    return StridedConstMap(kv.keys + b * kv.batch_stride + int64_t(kv_head(h)) * s.d_head, n, s.d_head,
                           Eigen::OuterStride<>(kv.row_stride));
  }
  StridedConstMap values(int b, int h, int n) const {
    return StridedConstMap(kv.values + b * kv.batch_stride + int64_t(kv_head(h)) * s.d_head, n, s.d_head,
                           Eigen::OuterStride<>(kv.row_stride));
  }
  // Number of keys any real query of sequence b can see.
  int visible_keys(int b) const { return s.start_pos + query_rows(b); }

  // scores[i, j] = q_i . k_j / sqrt(d_head) for j <= start_pos + i, -inf after (causal) and for padding rows.
  void scores(int b, int h, float* out) const {
    Eigen::Map<RowMatrix> scores(out, s.n_pos, s.n_keys);
    const int n = visible_keys(b);
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.d_head));
    scores.setConstant(-std::numeric_limits<float>::infinity());
    scores.topLeftCorner(query_rows(b), n).noalias() = (queries(b, h) * keys(b, h, n).transpose()) * scale;
    for (int i = 0; i < query_rows(b); ++i) {
      const int first_masked = s.start_pos + i + 1;
      if (first_masked < s.n_keys)
        scores.row(i).tail(s.n_keys - first_masked).setConstant(-std::numeric_limits<float>::infinity());
    }
  }
  // Over every row: fully masked padding rows become zeros.
  void softmax(float* buffer) const { softmax_rows(buffer, s.n_pos, s.n_keys); }
  // z rows of (b, h) = pattern @ V; padding rows stay zero.
  void mix_values(int b, int h, const float* pattern) const {
    Eigen::Map<const RowMatrix> p(pattern, s.n_pos, s.n_keys);
    const int n = visible_keys(b);
    StridedMap out(z.data() + int64_t(b) * s.n_pos * query_dim() + int64_t(h) * s.d_head, query_rows(b), s.d_head,
                   Eigen::OuterStride<>(query_dim()));
    out.noalias() = p.topLeftCorner(query_rows(b), n) * values(b, h, n);
  }
};
}  // namespace

void attention(const AttentionShape& s, const RowMatrix& q, const KvSource& kv, const std::vector<int>& lengths,
               RowMatrix& z, AttentionHooks* hooks) {
  z.setZero(q.rows(), q.cols());
  HeadJob job{s, q, kv, lengths, z};
  const int n_jobs = s.batch * s.n_heads;
  const int64_t head_block = int64_t(s.n_pos) * s.n_keys;

  const bool materialise = hooks && (hooks->wants_scores() || hooks->wants_pattern());
  if (materialise) {
    // Three phases over a full [batch, n_heads, n_pos, n_keys] buffer so hooks see (and may edit) all of it.
    AlignedFloats buffer(static_cast<size_t>(n_jobs) * head_block);
#pragma omp parallel for schedule(dynamic)
    for (int j = 0; j < n_jobs; ++j) job.scores(j / s.n_heads, j % s.n_heads, buffer.data() + j * head_block);
    if (hooks->wants_scores()) hooks->on_scores(buffer.data());
#pragma omp parallel for schedule(dynamic)
    for (int j = 0; j < n_jobs; ++j) job.softmax(buffer.data() + j * head_block);
    if (hooks->wants_pattern()) hooks->on_pattern(buffer.data());
#pragma omp parallel for schedule(dynamic)
    for (int j = 0; j < n_jobs; ++j) job.mix_values(j / s.n_heads, j % s.n_heads, buffer.data() + j * head_block);
    return;
  }
  // Fused per head with a thread-local scratch block: no buffer proportional to batch * heads.
#pragma omp parallel
  {
    AlignedFloats scratch(static_cast<size_t>(head_block));
#pragma omp for schedule(dynamic)
    for (int j = 0; j < n_jobs; ++j) {
      const int b = j / s.n_heads, h = j % s.n_heads;
      job.scores(b, h, scratch.data());
      job.softmax(scratch.data());
      job.mix_values(b, h, scratch.data());
    }
  }
}

}  // namespace resid
