// A one-line progress display for long jobs: rows, tokens/s and (when the total is known) ETA, redrawn in
// place on a terminal; silent when stderr is not a terminal (logs, CI).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace resid::cli {

class Progress {
 public:
  explicit Progress(std::string label, int64_t total_rows = 0);
  void update(int64_t rows, int64_t tokens);
  void finish();

 private:
  std::string label_;
  int64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace resid::cli
