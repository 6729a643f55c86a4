#include "core/attention.h"

#include <cmath>
#include <limits>

#include "core/activations.h"

namespace resid {

namespace {
using StridedConstMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using StridedMap = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
// Eigen's small products and reductions vectorise from the first aligned address, so a buffer's placement in
// memory would change rounding from call to call; aligned buffers keep every forward bit-for-bit
// reproducible.
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
    return StridedConstMap(q.data() + int64_t(b) * s.n_pos * query_dim() + int64_t(h) * s.d_head,
                           query_rows(b), s.d_head, Eigen::OuterStride<>(query_dim()));
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

  // Query rows are processed in blocks so each block multiplies only the keys it can see: causal attention
  // costs half of the full square.
  static constexpr int kBlock = 64;
  int block_keys(int i1) const {
    return s.start_pos + i1;
  }  // keys visible to the last row of a block ending at i1

  // scores[i, j] = q_i . k_j / sqrt(d_head) for j <= start_pos + i, -inf after (causal). With `whole_buffer`
  // every other entry (padding rows, keys past each block) is -inf too, as hooks expect; otherwise they are
  // not touched.
  void scores(int b, int h, float* out, bool whole_buffer) const {
    Eigen::Map<RowMatrix> scores(out, s.n_pos, s.n_keys);
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.d_head));
    constexpr float kMasked = -std::numeric_limits<float>::infinity();
    if (whole_buffer) scores.setConstant(kMasked);
    const auto q = queries(b, h);
    for (int i0 = 0; i0 < query_rows(b); i0 += kBlock) {
      const int i1 = std::min(query_rows(b), i0 + kBlock), n = block_keys(i1);
      scores.block(i0, 0, i1 - i0, n).noalias() =
          (q.middleRows(i0, i1 - i0) * keys(b, h, n).transpose()) * scale;
      for (int i = i0; i < i1; ++i) {
        const int first_masked = s.start_pos + i + 1;
        if (first_masked < n) scores.row(i).segment(first_masked, n - first_masked).setConstant(kMasked);
      }
    }
  }

  // Row-wise softmax over each real row's visible keys; the rest of the row up to its block's key count (or
  // the whole row with `whole_buffer`) becomes 0, so the blocked product below reads exact zeros there.
  void softmax(int b, float* buffer, bool whole_buffer) const {
    for (int i = 0; i < s.n_pos; ++i) {
      float* row = buffer + int64_t(i) * s.n_keys;
      if (i >= query_rows(b)) {  // padding row: attends nowhere
        if (whole_buffer) std::fill(row, row + s.n_keys, 0.0f);
        continue;
      }
      const int visible = s.start_pos + i + 1;
      const int limit =
          whole_buffer ? s.n_keys : block_keys(std::min(query_rows(b), (i / kBlock + 1) * kBlock));
      softmax_rows(row, 1, visible);
      std::fill(row + visible, row + limit, 0.0f);
    }
  }

  // z rows of (b, h) = pattern @ V, block by block; padding rows stay zero.
  void mix_values(int b, int h, const float* pattern) const {
    Eigen::Map<const RowMatrix> p(pattern, s.n_pos, s.n_keys);
    StridedMap out(z.data() + int64_t(b) * s.n_pos * query_dim() + int64_t(h) * s.d_head, query_rows(b),
                   s.d_head, Eigen::OuterStride<>(query_dim()));
    for (int i0 = 0; i0 < query_rows(b); i0 += kBlock) {
      const int i1 = std::min(query_rows(b), i0 + kBlock), n = block_keys(i1);
      out.middleRows(i0, i1 - i0).noalias() = p.block(i0, 0, i1 - i0, n) * values(b, h, n);
    }
  }
};
}  // namespace

void attention(const AttentionShape& s, const RowMatrix& q, const KvSource& kv,
               const std::vector<int>& lengths, RowMatrix& z, AttentionHooks* hooks) {
  z.setZero(q.rows(), q.cols());
  HeadJob job{s, q, kv, lengths, z};
  const int n_jobs = s.batch * s.n_heads;
  const int64_t head_block = int64_t(s.n_pos) * s.n_keys;

  const bool materialise = hooks && (hooks->wants_scores() || hooks->wants_pattern());
  // Threads only when there is enough work to pay for a parallel region (tiny models run faster on one
  // thread, and idle-spinning workers hurt when the machine is shared).
  const bool parallel = int64_t(n_jobs) * head_block * s.d_head > (int64_t(1) << 20);
  if (materialise) {
    // Three phases over a full [batch, n_heads, n_pos, n_keys] buffer so hooks see (and may edit) all of it.
    AlignedFloats buffer(static_cast<size_t>(n_jobs) * head_block);
#pragma omp parallel for schedule(dynamic) if (parallel)
    for (int j = 0; j < n_jobs; ++j)
      job.scores(j / s.n_heads, j % s.n_heads, buffer.data() + j * head_block, true);
    if (hooks->wants_scores()) hooks->on_scores(buffer.data());
#pragma omp parallel for schedule(dynamic) if (parallel)
    for (int j = 0; j < n_jobs; ++j) job.softmax(j / s.n_heads, buffer.data() + j * head_block, true);
    if (hooks->wants_pattern()) hooks->on_pattern(buffer.data());
#pragma omp parallel for schedule(dynamic) if (parallel)
    for (int j = 0; j < n_jobs; ++j)
      job.mix_values(j / s.n_heads, j % s.n_heads, buffer.data() + j * head_block);
    return;
  }
  // Fused per head with a thread-local scratch block: no buffer proportional to batch * heads.
#pragma omp parallel if (parallel)
  {
    AlignedFloats scratch(static_cast<size_t>(head_block));
#pragma omp for schedule(dynamic)
    for (int j = 0; j < n_jobs; ++j) {
      const int b = j / s.n_heads, h = j % s.n_heads;
      job.scores(b, h, scratch.data(), false);
      job.softmax(b, scratch.data(), false);
      job.mix_values(b, h, scratch.data());
    }
  }
}

}  // namespace resid
