// A one-line progress display for long jobs: rows, tokens/s and (when the total is known) ETA, redrawn in
// place on a terminal; silent when stderr is not a terminal (logs, CI). The units are named by the caller
// (training counts steps and examples/s) and a note may follow (the loss and accuracy so far).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace resid::cli {

class Progress {
 public:
  explicit Progress(std::string label, int64_t total_rows = 0, std::string row_unit = "rows",
                    std::string rate_unit = "tok/s");
  // `tokens` counts what the rate is of; `note` is appended to the line as it is.
  void update(int64_t rows, int64_t tokens, const std::string& note = "");
  void finish();  // ends the line, when one was drawn
  void clear();   // erases the line, when one was drawn, so other output can take its place

 private:
  std::string label_, row_unit_, rate_unit_;
  int64_t total_;
  bool enabled_;
  bool drawn_ = false;  // a line is on the screen
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace resid::cli
