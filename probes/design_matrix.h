// Block-wise access to an example matrix [n_examples, d], so every solver runs the same way on data held in
// memory and on data streamed from a capture chunk by chunk (out of core).
#pragma once
#include <cstdint>
#include <functional>

#include "core/tensor.h"

namespace resid::probes {

class DesignMatrix {
 public:
  virtual ~DesignMatrix() = default;
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  // Calls fn for consecutive blocks covering rows [0, rows()) in order. `first` is the block's first row.
  // A block is only valid during the call.
  virtual void for_each_block(const std::function<void(int64_t first, ConstMatrixMap block)>& fn) const = 0;
};

// A matrix held in memory, handed out as one block.
class InMemoryDesign : public DesignMatrix {
 public:
  explicit InMemoryDesign(RowMatrix x) : x_(std::move(x)) {}
  int64_t rows() const override { return x_.rows(); }
  int64_t cols() const override { return x_.cols(); }
  void for_each_block(const std::function<void(int64_t, ConstMatrixMap)>& fn) const override {
    fn(0, ConstMatrixMap(x_.data(), x_.rows(), x_.cols()));
  }
  const RowMatrix& matrix() const { return x_; }

 private:
  RowMatrix x_;  // [n, d]
};

// A matrix held by someone else, handed out as one block without a copy; it must outlive the view.
class MatrixViewDesign : public DesignMatrix {
 public:
  explicit MatrixViewDesign(ConstMatrixMap x) : x_(x) {}
  int64_t rows() const override { return x_.rows(); }
  int64_t cols() const override { return x_.cols(); }
  void for_each_block(const std::function<void(int64_t, ConstMatrixMap)>& fn) const override { fn(0, x_); }

 private:
  ConstMatrixMap x_;  // [n, d]
};

}  // namespace resid::probes
