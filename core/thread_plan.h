// How many threads one forward is worth, from its size: the multiply-adds it does and the weight bytes it
// streams. A parallel region costs a wake-up and a barrier per projection, and on a busy machine a
// descheduled worker holds each barrier for a time slice: a small model's forward went from milliseconds to
// seconds on two threads with another process running. A large one (a 110M prefill, or a 110M decode step,
// which streams 438 MB of weights (340 MB of blocks, 98 MB of unembedding)) is bound by arithmetic or by one
// core's memory bandwidth, and runs about as many times faster as it has cores. The estimate below is one
// core's time; each thread must have at least kMinSecondsPerThread of it. bench_threads measures the
// crossover (docs/performance.md).
#pragma once
#include <cstdint>

#include "core/config.h"

namespace resid {

// One core's rates on the forward's products, roughly (AVX2 and AVX-512 machines alike, within 2x): only the
// order of magnitude matters, as the crossover is flat.
inline constexpr double kCoreFlopsPerSecond = 5e10;
inline constexpr double kCoreBytesPerSecond = 1e10;
// bench_threads' crossover on 2 cores: a 260K-shape prefill of 128 positions (1.5 ms by this estimate) ran no
// faster on two threads, one of 256 (3.3 ms) 1.7x faster.
inline constexpr double kMinSecondsPerThread = 1.5e-3;

struct ForwardWork {
  double flops = 0;         // multiply-adds x 2, projections and attention
  double weight_bytes = 0;  // weights streamed from memory (each read once per forward)
  double one_core_seconds() const { return flops / kCoreFlopsPerSecond + weight_bytes / kCoreBytesPerSecond; }
};

// A forward of `rows` new positions (batch x n_pos) after `start_pos` cached ones through `n_blocks` blocks
// (-1: all of them); `logit_rows` rows go through the unembedding (0 when no logits are wanted).
ForwardWork forward_work(const Config& c, int64_t rows, int start_pos, int n_pos, int64_t logit_rows,
                         int n_blocks = -1);

// Between 1 and max_threads.
int threads_for(const ForwardWork& work, int max_threads);

}  // namespace resid
