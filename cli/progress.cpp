#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace resid::cli {

Progress::Progress(std::string label, int64_t total_rows, std::string row_unit, std::string rate_unit)
    : label_(std::move(label)),
      row_unit_(std::move(row_unit)),
      rate_unit_(std::move(rate_unit)),
      total_(total_rows),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t rows, int64_t tokens, const std::string& note) {
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
    std::fprintf(stderr, "\r%s [%.*s%*s] %lld/%lld %s  %.0f %s  ETA %02d:%02d  %s", label_.c_str(), filled,
                 "##############################", 30 - filled, "", (long long)rows, (long long)total_,
                 row_unit_.c_str(), rate, rate_unit_.c_str(), int(eta) / 60, int(eta) % 60, note.c_str());
  } else {
    std::fprintf(stderr, "\r%s %lld %s  %.0f %s  %.0f s  %s", label_.c_str(), (long long)rows,
                 row_unit_.c_str(), rate, rate_unit_.c_str(), seconds, note.c_str());
  }
  drawn_ = true;
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_ && drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

void Progress::clear() {
  if (enabled_ && drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

}  // namespace resid::cli
