#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace resid::cli {

Progress::Progress(std::string label, int64_t total_rows)
    : label_(std::move(label)),
      total_(total_rows),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t rows, int64_t tokens) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = tokens / std::max(seconds, 1e-9);
  if (total_ > 0) {
    const double fraction = std::min(1.0, double(rows) / double(total_));
    const int filled = static_cast<int>(fraction * 30);
    const double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0;
    std::fprintf(stderr, "\r%s [%.*s%*s] %lld/%lld rows  %.0f tok/s  ETA %02d:%02d  ", label_.c_str(), filled,
                 "##############################", 30 - filled, "", (long long)rows, (long long)total_, rate,
                 int(eta) / 60, int(eta) % 60);
  } else {
    std::fprintf(stderr, "\r%s %lld rows  %.0f tok/s  %.0f s  ", label_.c_str(), (long long)rows, rate,
                 seconds);
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_) std::fprintf(stderr, "\n");
}

}  // namespace resid::cli
