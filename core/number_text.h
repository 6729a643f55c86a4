// A number in messages and descriptions as printf's %g writes it ("0.01", "1e-05", "nan"): short, and what a
// user typed reads back the same.
#pragma once
#include <cstdio>
#include <string>

namespace resid {

inline std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace resid
