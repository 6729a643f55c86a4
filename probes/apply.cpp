#include "probes/apply.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace resid::probes {

CaptureScores score_capture(const Probe& probe, const CaptureExamples& ex, int64_t memory_bytes) {
  if (probe.d() != ex.d)
    throw InputError("the probe has d = " + std::to_string(probe.d()) + " features but " + ex.path +
                     " /acts/" + ex.hook + " has " + std::to_string(ex.d));
  CaptureScores out;
  out.chunk_bytes =
      std::min<int64_t>(std::max<int64_t>(activation_budget(ex, memory_bytes) / 4, 1), kMaxChunkBytes);
  std::vector<int64_t> all(ex.size());
  std::iota(all.begin(), all.end(), int64_t{0});
  const CaptureDesign design(ex, std::move(all), out.chunk_bytes, &probe.standardiser);
  // Counts the reads: one block per chunk of /acts rows.
  struct Counting : DesignMatrix {
    const DesignMatrix& inner;
    int64_t* blocks;
    Counting(const DesignMatrix& d, int64_t* b) : inner(d), blocks(b) {}
    int64_t rows() const override { return inner.rows(); }
    int64_t cols() const override { return inner.cols(); }
    void for_each_block(const std::function<void(int64_t, ConstMatrixMap)>& fn) const override {
      inner.for_each_block([&](int64_t first, ConstMatrixMap block) { ++*blocks, fn(first, block); });
    }
  };
  out.scores = probe.model.scores(Counting(design, &out.chunks));
  return out;
}

}  // namespace resid::probes
