#include "datasets/line_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace resid {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::ifstream open_or_throw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open: " + std::strerror(errno));
  return in;
}

}  // namespace

LineReader::LineReader(std::string path) : path_(std::move(path)), in_(open_or_throw(path_)) {}

bool LineReader::next(std::string& line) {
  if (!std::getline(in_, line)) {
    if (in_.bad()) throw InputError(path_ + ": read error after line " + std::to_string(line_));
    return false;
  }
  ++line_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line_ == 1 && std::string_view(line).substr(0, kUtf8Bom.size()) == kUtf8Bom)
    line.erase(0, kUtf8Bom.size());
  return true;
}

void LineReader::rewind() {
  in_.clear();
  in_.seekg(0);
  if (!in_) throw InputError(path_ + ": cannot rewind");
  line_ = 0;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), is_space);
}

std::string where(const std::string& path, size_t line) {
  return path + ":" + std::to_string(line);
}

size_t count_nonblank_lines(const std::string& path) {
  LineReader reader(path);
  size_t n = 0;
  for (std::string line; reader.next(line);) n += !is_blank(line);
  return n;
}

}  // namespace resid
