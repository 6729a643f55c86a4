// Reading an activation file's committed rows: one open file, one snapshot of /committed_rows, rows read in
// blocks (the probes and the census stream whole captures through it). Partial files read like complete ones;
// nothing at or past committed_rows is ever returned. The free functions in activation_file.h are one-call
// forms of this class.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/activation_file.h"

namespace resid {

class ActivationReader {
 public:
  // Opens `path` and reads its summary (InputError for a missing or special file, FormatError for anything
  // that is not a resid activation file).
  explicit ActivationReader(const std::string& path);
  ~ActivationReader();
  ActivationReader(const ActivationReader&) = delete;
  ActivationReader& operator=(const ActivationReader&) = delete;

  const std::string& path() const;
  const ActivationFileSummary& summary() const;
  int64_t rows() const { return summary().committed_rows; }  // as of opening

  // The shape of one row of hook `hook` (InputError for an unknown hook).
  std::vector<int64_t> row_shape(const std::string& hook) const;
  // Rows [first, first + n) of one hook as float32, [n, row_shape...] (converted from float16/bfloat16).
  // InputError for an unknown hook or rows past committed_rows.
  void read_rows(const std::string& hook, int64_t first, int64_t n, std::vector<float>* out) const;
  // /tokens rows [n, n_pos] (-1 past each length) and, when given, /lengths [n].
  void read_tokens(int64_t first, int64_t n, std::vector<int32_t>* tokens,
                   std::vector<int32_t>* lengths = nullptr) const;
  // /labels/<name> rows: sequence columns [n], token columns [n, n_pos] (class ids as doubles, -1 = none).
  void read_labels(const std::string& name, int64_t first, int64_t n, std::vector<double>* out) const;

 private:
  struct File;
  std::unique_ptr<File> file_;
};

}  // namespace resid
