// Row-wise products of a row-major example block with a small weight matrix, without packing the block.
// Eigen's GEMM copies (packs) both operands; for [m, d] x [d, k] with k ~ 10 that copy of the block cost more
// than the arithmetic, so these loops read each row once and keep several FMA chains in flight instead.
#pragma once
#include <Eigen/Core>

namespace resid::probes {

// z [R, k] = x [R, d] * w^T, w [k, d] row-major. R = 4 uses four rows by two classes per pass over d (eight
// independent accumulators: one chain alone would wait on its own FMA latency); other R go row by row.
template <int R, typename Scalar>
inline void score_rows(const Scalar* x, Eigen::Index d, const Scalar* w, Eigen::Index k, Scalar* z) {
  if constexpr (R == 4) {
    const Scalar *x0 = x, *x1 = x + d, *x2 = x + 2 * d, *x3 = x + 3 * d;
    Eigen::Index c = 0;
    for (; c + 2 <= k; c += 2) {
      const Scalar *wa = w + c * d, *wb = wa + d;
      Scalar a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3, b0, b1, b2, b3)
      for (Eigen::Index j = 0; j < d; ++j) {
        a0 += x0[j] * wa[j], a1 += x1[j] * wa[j], a2 += x2[j] * wa[j], a3 += x3[j] * wa[j];
        b0 += x0[j] * wb[j], b1 += x1[j] * wb[j], b2 += x2[j] * wb[j], b3 += x3[j] * wb[j];
      }
      z[c] = a0, z[k + c] = a1, z[2 * k + c] = a2, z[3 * k + c] = a3;
      z[c + 1] = b0, z[k + c + 1] = b1, z[2 * k + c + 1] = b2, z[3 * k + c + 1] = b3;
    }
    for (; c < k; ++c) {
      const Scalar* wa = w + c * d;
      Scalar a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
      for (Eigen::Index j = 0; j < d; ++j)
        a0 += x0[j] * wa[j], a1 += x1[j] * wa[j], a2 += x2[j] * wa[j], a3 += x3[j] * wa[j];
      z[c] = a0, z[k + c] = a1, z[2 * k + c] = a2, z[3 * k + c] = a3;
    }
  } else {
    for (Eigen::Index c = 0; c < k; ++c) {
      const Scalar* wc = w + c * d;
      for (int i = 0; i < R; ++i) {
        const Scalar* xi = x + i * d;
        Scalar a = 0;
#pragma omp simd reduction(+ : a)
        for (Eigen::Index j = 0; j < d; ++j) a += xi[j] * wc[j];
        z[i * k + c] = a;
      }
    }
  }
}

// z [m, k] = x [m, d] * w^T for any m.
template <typename Scalar>
inline void score_block(const Scalar* x, Eigen::Index m, Eigen::Index d, const Scalar* w, Eigen::Index k,
                        Scalar* z) {
  Eigen::Index i = 0;
  for (; i + 4 <= m; i += 4) score_rows<4>(x + i * d, d, w, k, z + i * k);
  for (; i < m; ++i) score_rows<1>(x + i * d, d, w, k, z + i * k);
}

}  // namespace resid::probes
