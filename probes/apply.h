// Scoring a capture with a saved probe, streamed: the activations are read chunk by chunk under a memory
// budget, so a capture larger than memory can be scored (`resid probe apply`).
#pragma once
#include <Eigen/Core>
#include <cstdint>

#include "probes/capture_examples.h"
#include "probes/probe.h"

namespace resid::probes {

struct CaptureScores {
  Eigen::MatrixXd scores;   // [examples, k] (float64)
  int64_t chunks = 0;       // /acts reads
  int64_t chunk_bytes = 0;  // the most /acts bytes one read may hold
};

// The scores of every example of `examples` under `probe` (raw activations standardised with the probe's own
// mean and scale). `memory_bytes` covers the example index and the scores (index_bytes_per_example() per
// example) and one chunk of /acts rows plus the examples gathered from it (a quarter of what the index leaves
// each, at most kMaxChunkBytes). InputError when the probe's d differs from the examples' or the budget does
// not cover the index.
CaptureScores score_capture(const Probe& probe, const CaptureExamples& examples, int64_t memory_bytes);

}  // namespace resid::probes
