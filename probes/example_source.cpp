#include "probes/example_source.h"

#include <algorithm>

#include "core/error.h"

namespace resid::probes {

MatrixSource::MatrixSource(RowMatrix x, ProbeTargets targets) : x_(std::move(x)), t_(std::move(targets)) {
  if (t_.size() != x_.rows())
    throw InputError("examples: " + std::to_string(t_.size()) + " labels for " + std::to_string(x_.rows()) +
                     " activation rows");
  if (!x_.allFinite()) {
    for (Eigen::Index r = 0; r < x_.rows(); ++r)
      if (!x_.row(r).allFinite())
        throw InputError("examples: activation row " + std::to_string(r) + " holds NaN or infinity");
  }
}

namespace {

// Rows `which` of x, handed out in gathered tiles of 1024 rows (a view: no copy of the whole subset).
class GatherDesign : public DesignMatrix {
 public:
  GatherDesign(const RowMatrix& x, const std::vector<int64_t>& which) : x_(x), which_(which) {}
  int64_t rows() const override { return static_cast<int64_t>(which_.size()); }
  int64_t cols() const override { return x_.cols(); }
  void for_each_block(const std::function<void(int64_t, ConstMatrixMap)>& fn) const override {
    RowMatrix tile;  // [<= 1024, d]
    for (size_t i0 = 0; i0 < which_.size(); i0 += 1024) {
      const size_t m = std::min<size_t>(1024, which_.size() - i0);
      tile.resize(static_cast<Eigen::Index>(m), x_.cols());
      for (size_t i = 0; i < m; ++i) tile.row(static_cast<Eigen::Index>(i)) = x_.row(which_[i0 + i]);
      fn(static_cast<int64_t>(i0), ConstMatrixMap(tile.data(), tile.rows(), tile.cols()));
    }
  }

 private:
  const RowMatrix& x_;
  const std::vector<int64_t>& which_;
};

// Rows `which` of x copied into one matrix, standardised with s when given.
std::unique_ptr<DesignMatrix> gather_rows(const RowMatrix& x, const std::vector<int64_t>& which,
                                          const Standardiser* s) {
  RowMatrix sub(static_cast<Eigen::Index>(which.size()), x.cols());
  for (size_t i = 0; i < which.size(); ++i) sub.row(i) = x.row(which[i]);
  if (s) s->apply(MatrixMap(sub.data(), sub.rows(), sub.cols()));
  return std::make_unique<InMemoryDesign>(std::move(sub));
}

}  // namespace

std::unique_ptr<DesignMatrix> MatrixSource::design(const std::vector<int64_t>& which,
                                                   const Standardiser* s) const {
  return gather_rows(x_, which, s);
}

Standardiser MatrixSource::fit_standardiser(const std::vector<int64_t>& which) const {
  return Standardiser::fit(GatherDesign(x_, which));
}

CaptureSource::CaptureSource(CaptureExamples examples, int64_t memory_bytes)
    : ex_(std::move(examples)), memory_(memory_bytes) {
  t_.classification = ex_.classification();
  t_.label = ex_.label;
  t_.value = ex_.value;
  t_.group = ex_.row;
  t_.token = ex_.token;
  t_.classes = ex_.classes;
  t_.n_groups = ex_.summary.committed_rows;
  // The index is held whatever happens; activations get the rest of the budget.
  activation_bytes_ = activation_budget(ex_, memory_);
  // In memory: the matrix and at most one more (standardised subsets) of the same size.
  const double bytes = 2.0 * static_cast<double>(ex_.size()) * static_cast<double>(ex_.d) * 4.0;
  streamed_ = bytes > static_cast<double>(activation_bytes_);
  if (!streamed_) {
    std::vector<int64_t> all(ex_.size());
    for (int64_t i = 0; i < ex_.size(); ++i) all[i] = i;
    // Read buffers while loading (two chunks at most) fit next to the matrix: a quarter each, at most
    // kMaxChunkBytes.
    cached_ = load_examples(ex_, all, nullptr, activation_bytes_ / 4);
  }
}

std::unique_ptr<DesignMatrix> CaptureSource::design(const std::vector<int64_t>& which,
                                                    const Standardiser* s) const {
  if (!streamed_) return gather_rows(cached_, which, s);
  // A pass holds one chunk of /acts rows and the examples gathered from it: half the activation budget.
  return std::make_unique<CaptureDesign>(ex_, which, std::max<int64_t>(activation_bytes_ / 4, 1), s);
}

Standardiser CaptureSource::fit_standardiser(const std::vector<int64_t>& which) const {
  if (!streamed_) return Standardiser::fit(GatherDesign(cached_, which));
  return ExampleSource::fit_standardiser(which);
}

}  // namespace resid::probes
