// Products of a row-major example block with a small weight matrix (scores) and of residuals with the block
// (gradients), without packing the block. Eigen's GEMM copies (packs) both operands; for [m, d] x [d, k] with
// k ~ 10 that copy of the block cost more than the arithmetic, so these loops read the block in place and
// keep a register tile of multiply-add chains in flight instead. The vectors are GCC's vector extension at
// the width of the target's registers, so the same code is AVX-512 or AVX2 (or SSE).
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace resid::probes {

#ifdef __AVX512F__
inline constexpr int kVectorBytes = 64, kMaxClassBlock = 12;  // 2 x 12 accumulators of 32 registers
#elif defined(__AVX__)
inline constexpr int kVectorBytes = 32, kMaxClassBlock = 6;  // 2 x 6 of 16
#else
inline constexpr int kVectorBytes = 16, kMaxClassBlock = 6;  // SSE: 2 x 6 of 16
#endif

// GCC ignores vector_size on a dependent element type, so float and double each get their own typedef (the
// width may depend on a template parameter).
template <typename Scalar, int Bytes>
struct SimdOf;
template <int Bytes>
struct SimdOf<float, Bytes> {
  typedef float type __attribute__((vector_size(Bytes)));
};
template <int Bytes>
struct SimdOf<double, Bytes> {
  typedef double type __attribute__((vector_size(Bytes)));
};
template <typename Scalar>
using SimdVector = typename SimdOf<Scalar, kVectorBytes>::type;
template <typename Scalar>
inline constexpr Eigen::Index kLanes = kVectorBytes / sizeof(Scalar);  // elements per SimdVector

// Calls f(std::integral_constant<int, n>()) for a runtime n in [1, Max]: the kernels' tile widths are
// template parameters (their accumulators live in registers), chosen at run time from the class count.
template <int Max, typename F>
inline void with_width(int n, F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    ((n == I + 1 ? f(std::integral_constant<int, I + 1>()) : void()), ...);
  }
  (std::make_integer_sequence<int, Max>());
}

// The sum of a vector's lanes by halving (512 -> 256 -> 128 bits ...): a few shuffles and adds instead of a
// store, W scalar loads and W - 1 dependent adds.
template <typename Scalar, int Bytes = kVectorBytes>
inline Scalar lane_sum(typename SimdOf<Scalar, Bytes>::type v) {
  if constexpr (Bytes == 2 * sizeof(Scalar)) {
    return v[0] + v[1];
  } else {
    typename SimdOf<Scalar, Bytes / 2>::type low, high;
    std::memcpy(&low, &v, Bytes / 2);
    std::memcpy(&high, reinterpret_cast<const char*>(&v) + Bytes / 2, Bytes / 2);
    return lane_sum<Scalar, Bytes / 2>(low + high);
  }
}

template <typename Scalar>
inline SimdVector<Scalar> load_vector(const Scalar* p) {
  SimdVector<Scalar> v;
  std::memcpy(&v, p, sizeof v);  // an unaligned load
  return v;
}

// A byte range to bring into cache a few lines per call of step() (as many as spread it evenly over the
// calls), from a kernel's inner loop so the fetches overlap its arithmetic. A pass prefetches each next
// panel, half during the scores and half during the gradient: the hardware prefetcher alone left the scores
// waiting on memory. The lines go to L2, not L1 (prefetcht1): a multi-class panel is larger than L1 (then 192
// KB, now 96 KB against 48 KB), and fetching it there evicted the rows and weights the kernel was using
// (binary pass at 20,000 x 768, then also in 64-row panels: 1.60-1.67 ms with prefetcht0, 1.48-1.52 ms with
// prefetcht1; 12-hook bench sweep 0.57-0.87 s, 0.54-0.62 s).
struct PrefetchStream {
  const char* at = nullptr;
  const char* end = nullptr;
  Eigen::Index lines_per_step = 1;

  PrefetchStream() = default;
  // `bytes` from `begin`, spread over `steps` calls of step().
  PrefetchStream(const void* begin, Eigen::Index bytes, Eigen::Index steps)
      : at(static_cast<const char*>(begin)),
        end(at + bytes),
        lines_per_step(
            std::max<Eigen::Index>(1, ((bytes + 63) / 64 + steps - 1) / std::max<Eigen::Index>(1, steps))) {}
  void step() {
    // rw 0, locality 2: prefetcht1.
    for (Eigen::Index l = 0; l < lines_per_step && at < end; ++l, at += 64) __builtin_prefetch(at, 0, 2);
  }
};

// A weight matrix w [k, d] (row-major) laid out for score_block: the vectors of all k classes at one offset
// of d sit next to each other, [d / W, k, W], so a tile of classes reads them through one pointer at fixed
// offsets. (Row-major w needs a pointer per class; with one per row of x too, the tile ran out of
// general-purpose registers and reloaded its pointers from the stack on every step.) The last d % W columns
// stay row-major in `tail`.
template <typename Scalar>
struct PackedWeights {
  static constexpr Eigen::Index W = kLanes<Scalar>;
  Eigen::Index k = 0, d = 0;
  // Aligned to the vector width: score_tile loads each weight vector once per row of its tile, and from a
  // std::vector's 16-byte-aligned storage every such load straddled two cache lines (bench 10-class score
  // kernel on a Zen 5 guest: 2.6 G multiply-adds/s per core unaligned, 4.7 aligned).
  std::vector<Scalar, Eigen::aligned_allocator<Scalar>> vectors;  // [d / W, k, W]
  std::vector<Scalar> tail;                                       // [k, d % W]

  PackedWeights(const Scalar* w, Eigen::Index k_, Eigen::Index d_) : k(k_), d(d_) {
    const Eigen::Index full = d / W, rest = d % W;
    vectors.resize(static_cast<size_t>(full * k * W));
    tail.resize(static_cast<size_t>(k * rest));
    for (Eigen::Index jb = 0; jb < full; ++jb)
      for (Eigen::Index c = 0; c < k; ++c)
        std::memcpy(&vectors[(jb * k + c) * W], w + c * d + jb * W, W * sizeof(Scalar));
    for (Eigen::Index c = 0; c < k; ++c)
      for (Eigen::Index t = 0; t < rest; ++t) tail[c * rest + t] = w[c * d + full * W + t];
  }
};

// z [R, C] (row stride k) = x [R, d] * w [c0 .. c0 + C, d]^T: R x C dot products at once, each an accumulator
// vector along d summed across its lanes at the end. Every loaded vector of x feeds C of them and every
// vector of w R, so loads stay below the multiply-adds.
template <int R, int C, typename Scalar>
inline void score_tile(const Scalar* x, const PackedWeights<Scalar>& w, Eigen::Index c0, Scalar* z,
                       PrefetchStream& prefetch) {
  constexpr Eigen::Index W = PackedWeights<Scalar>::W;
  const Eigen::Index d = w.d, k = w.k, full = d / W, rest = d % W;
  SimdVector<Scalar> acc[R][C] = {};
  const Scalar* wp = w.vectors.data() + c0 * W;
  for (Eigen::Index jb = 0; jb < full; ++jb, wp += k * W) {
    prefetch.step();
    SimdVector<Scalar> xv[R];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) xv[i] = load_vector(x + i * d + jb * W);
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      SimdVector<Scalar> wv = load_vector(wp + c * W);
      // Held in a register for the R rows: left to itself GCC folds the load into each of the R
      // multiply-adds, R loads of one vector where one will do, and the tile became bound by loads (10-class
      // score kernel on a Zen 5 guest, 256 rows in L2: 4.7 G multiply-adds/s per core folded, 5.7 held).
      __asm__("" : "+v"(wv));
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) acc[i][c] += xv[i] * wv;
    }
  }
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < C; ++c) {
      Scalar sum = lane_sum<Scalar>(acc[i][c]);
      const Scalar* xt = x + i * d + full * W;
      const Scalar* wt = w.tail.data() + (c0 + c) * rest;
      for (Eigen::Index t = 0; t < rest; ++t) sum += xt[t] * wt[t];  // the tail of d
      z[i * k + c0 + c] = sum;
    }
}

#ifdef __AVX512F__
inline constexpr int kScoreRows = 4, kScoreClasses = 6;  // 4 x 6 accumulators + 4 + 1 of 32 registers
#else
inline constexpr int kScoreRows = 2, kScoreClasses = 5;      // 2 x 5 + 2 + 1 of 16
#endif

// z [R, k] = x [R, d] * w^T: the classes in near-equal blocks of at most kScoreClasses (10 is 5 + 5).
template <int R, typename Scalar>
inline void score_rows(const Scalar* x, const PackedWeights<Scalar>& w, Scalar* z, PrefetchStream& prefetch) {
  Eigen::Index c0 = 0;
  for (Eigen::Index blocks = (w.k + kScoreClasses - 1) / kScoreClasses; blocks > 0; --blocks) {
    const int c = static_cast<int>((w.k - c0 + blocks - 1) / blocks);
    with_width<kScoreClasses>(c, [&](auto C) { score_tile<R, C()>(x, w, c0, z, prefetch); });
    c0 += c;
  }
}

// Accumulators of a one-class dot product: enough multiply-add chains in flight to cover their latency.
inline constexpr int kDotChains = 8;

// z [m] = x [m, d] * w^T for one class (binary probes): a row at a time, its dot product split over
// kDotChains accumulators along d. With one class each vector of x feeds one multiply-add however the rows
// are tiled, so nothing is lost by reading the block in address order; the tiles of score_tile read R rows
// side by side, R interleaved streams of one row each that the hardware prefetcher followed badly (binary
// pass at 20,000 x 768 on a Zen 5 guest, 1 thread: 2.36-2.46 ms with 4 x 1 tiles, 1.92-2.05 ms in order).
// `prefetch` steps once per kDotChains vectors and once per row.
template <typename Scalar>
inline void score_one_class(const Scalar* x, Eigen::Index m, const PackedWeights<Scalar>& w, Scalar* z,
                            PrefetchStream& prefetch) {
  constexpr Eigen::Index W = PackedWeights<Scalar>::W;
  const Eigen::Index d = w.d, full = d / W, rest = d % W;
  const Scalar* wv = w.vectors.data();  // [d / W, 1, W]: w's vectors in order
  for (Eigen::Index i = 0; i < m; ++i) {
    const Scalar* xi = x + i * d;
    SimdVector<Scalar> acc[kDotChains] = {};
    Eigen::Index jb = 0;
    for (; jb + kDotChains <= full; jb += kDotChains) {
      prefetch.step();
#pragma GCC unroll 16
      for (int a = 0; a < kDotChains; ++a)
        acc[a] += load_vector(xi + (jb + a) * W) * load_vector(wv + (jb + a) * W);
    }
    for (; jb < full; ++jb) acc[0] += load_vector(xi + jb * W) * load_vector(wv + jb * W);
    prefetch.step();
#pragma GCC unroll 16
    for (int a = 1; a < kDotChains; ++a) acc[0] += acc[a];
    Scalar sum = lane_sum<Scalar>(acc[0]);
    for (Eigen::Index t = 0; t < rest; ++t) sum += xi[full * W + t] * w.tail[t];  // the tail of d
    z[i] = sum;
  }
}

// z [m, k] = x [m, d] * w^T for any m; `prefetch` steps once per vector of d in each tile (k > 1).
template <typename Scalar>
inline void score_block(const Scalar* x, Eigen::Index m, const PackedWeights<Scalar>& w, Scalar* z,
                        PrefetchStream& prefetch) {
  const Eigen::Index d = w.d, k = w.k;
  if (k == 1) return score_one_class(x, m, w, z, prefetch);
  Eigen::Index i = 0;
  for (; i + kScoreRows <= m; i += kScoreRows) score_rows<kScoreRows>(x + i * d, w, z + i * k, prefetch);
  for (; i < m; ++i) score_rows<1>(x + i * d, w, z + i * k, prefetch);
}
template <typename Scalar>
inline void score_block(const Scalar* x, Eigen::Index m, const PackedWeights<Scalar>& w, Scalar* z) {
  PrefetchStream none;
  score_block(x, m, w, z, none);
}
// How many times score_block steps its prefetch stream.
template <typename Scalar>
inline Eigen::Index score_block_steps(Eigen::Index m, const PackedWeights<Scalar>& w) {
  if (w.k == 1) return m * (w.d / PackedWeights<Scalar>::W / kDotChains + 1);
  const Eigen::Index tiles = m / kScoreRows + m % kScoreRows,
                     class_blocks = (w.k + kScoreClasses - 1) / kScoreClasses;
  return tiles * class_blocks * (w.d / PackedWeights<Scalar>::W);
}

// g [KC, d] += r^T x over m rows (r with row stride k): the columns [0, d - d % (2W)); the caller does the
// tail.
template <int KC, typename Scalar>
inline void add_outer_columns(const Scalar* x, Eigen::Index m, Eigen::Index d, const Scalar* r,
                              Eigen::Index k, Scalar* g, PrefetchStream& prefetch) {
  using Vec = SimdVector<Scalar>;
  constexpr Eigen::Index W = kLanes<Scalar>;
  for (Eigen::Index j = 0; j + 2 * W <= d; j += 2 * W) {
    Vec a[KC], b[KC];
#pragma GCC unroll 16
    for (int c = 0; c < KC; ++c) a[c] = load_vector(g + c * d + j), b[c] = load_vector(g + c * d + j + W);
    for (Eigen::Index i = 0; i < m; ++i) {
      const Vec xa = load_vector(x + i * d + j), xb = load_vector(x + i * d + j + W);
      prefetch.step();
#pragma GCC unroll 16
      for (int c = 0; c < KC; ++c) a[c] += r[i * k + c] * xa, b[c] += r[i * k + c] * xb;
    }
#pragma GCC unroll 16
    for (int c = 0; c < KC; ++c) {
      std::memcpy(g + c * d + j, &a[c], sizeof(Vec));
      std::memcpy(g + c * d + j + W, &b[c], sizeof(Vec));
    }
  }
}

// g [k, d] += r^T x for x [m, d] row-major (m rows: a tile that sits in L2) and r [m, k]: the gradient of a
// linear map's weights. Blocked like a GEMM micro-kernel: two vectors of d by up to kMaxClassBlock classes
// are accumulated in registers over all m rows, so g is loaded and stored once per call instead of once per
// row (the row-at-a-time update was bound by those loads and stores). The vectors are GCC's vector extension
// at the width of the target's registers, so the same code is AVX-512 or AVX2.
template <typename Scalar>
inline void add_outer_block(const Scalar* x, Eigen::Index m, Eigen::Index d, const Scalar* r, Eigen::Index k,
                            Scalar* g, PrefetchStream& prefetch) {
  constexpr Eigen::Index W = kLanes<Scalar>;
  for (Eigen::Index c0 = 0; c0 < k; c0 += kMaxClassBlock) {
    const int kc = static_cast<int>(std::min<Eigen::Index>(kMaxClassBlock, k - c0));
    const Scalar* rc = r + c0;
    Scalar* gc = g + c0 * d;
    with_width<kMaxClassBlock>(kc, [&](auto KC) { add_outer_columns<KC()>(x, m, d, rc, k, gc, prefetch); });
    for (Eigen::Index j = d - d % (2 * W); j < d; ++j)  // the tail of d: scalar
      for (int c = 0; c < kc; ++c) {
        Scalar acc = gc[c * d + j];
        for (Eigen::Index i = 0; i < m; ++i) acc += rc[i * k + c] * x[i * d + j];
        gc[c * d + j] = acc;
      }
  }
}
template <typename Scalar>
inline void add_outer_block(const Scalar* x, Eigen::Index m, Eigen::Index d, const Scalar* r, Eigen::Index k,
                            Scalar* g) {
  PrefetchStream none;
  add_outer_block(x, m, d, r, k, g, none);
}
// How many times add_outer_block steps its prefetch stream.
template <typename Scalar>
inline Eigen::Index add_outer_block_steps(Eigen::Index m, Eigen::Index d, Eigen::Index k) {
  constexpr Eigen::Index W = kLanes<Scalar>;
  return (k + kMaxClassBlock - 1) / kMaxClassBlock * (d / (2 * W)) * m;
}

}  // namespace resid::probes
