// Where the fitting pipeline gets its examples: labels, sequence ids and token ids in memory, and the
// activation matrix of any subset, either gathered in memory or streamed from a capture (out of core).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "probes/capture_examples.h"
#include "probes/design_matrix.h"
#include "probes/standardiser.h"

namespace resid::probes {

struct ProbeTargets {
  bool classification = true;
  std::vector<int32_t> label;        // classification: class index per example
  std::vector<double> value;         // regression: number per example
  std::vector<int64_t> group;        // sequence (capture row) per example; splits keep a group together
  std::vector<int32_t> token;        // control-task key (token id) per example
  std::vector<std::string> classes;  // class index -> name
  int64_t n_groups = 0;
  int64_t size() const { return static_cast<int64_t>(group.size()); }
};

class ExampleSource {
 public:
  virtual ~ExampleSource() = default;
  virtual const ProbeTargets& targets() const = 0;
  virtual int64_t features() const = 0;
  // The examples `which` (ascending indices), standardised with `s` when given.
  virtual std::unique_ptr<DesignMatrix> design(const std::vector<int64_t>& which,
                                               const Standardiser* s) const = 0;
  // The standardiser of the examples `which` (e.g. one cross-validation fold's training part).
  virtual Standardiser fit_standardiser(const std::vector<int64_t>& which) const {
    return Standardiser::fit(*design(which, nullptr));
  }
  virtual bool streamed() const { return false; }
};

// Examples given as a matrix [n, d] (tests, benchmarks, scripts).
class MatrixSource : public ExampleSource {
 public:
  MatrixSource(RowMatrix x, ProbeTargets targets);
  const ProbeTargets& targets() const override { return t_; }
  int64_t features() const override { return x_.cols(); }
  std::unique_ptr<DesignMatrix> design(const std::vector<int64_t>& which,
                                       const Standardiser* s) const override;
  // Without copying the subset: rows are gathered a tile at a time.
  Standardiser fit_standardiser(const std::vector<int64_t>& which) const override;

 private:
  RowMatrix x_;
  ProbeTargets t_;
};

// Examples of a capture under a memory budget of `memory_bytes`, which covers everything the fit holds that
// grows with the data: the example index (CaptureExamples::index_bytes_per_example() per example) and the
// activations. When twice the example matrix fits in what the index leaves, the examples are read once and
// kept; otherwise every pass streams /acts rows in chunks of a quarter of it. InputError when the budget does
// not cover the index.
class CaptureSource : public ExampleSource {
 public:
  CaptureSource(CaptureExamples examples, int64_t memory_bytes);
  const ProbeTargets& targets() const override { return t_; }
  int64_t features() const override { return ex_.d; }
  std::unique_ptr<DesignMatrix> design(const std::vector<int64_t>& which,
                                       const Standardiser* s) const override;
  Standardiser fit_standardiser(const std::vector<int64_t>& which) const override;
  bool streamed() const override { return streamed_; }
  const CaptureExamples& examples() const { return ex_; }

 private:
  CaptureExamples ex_;
  ProbeTargets t_;
  int64_t memory_;
  int64_t activation_bytes_;  // memory_ minus the index
  bool streamed_;
  RowMatrix cached_;  // [n, d] when not streamed
};

}  // namespace resid::probes
