#include "datasets/line_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/input_file.h"

namespace resid {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr size_t kBlockBytes = 64 * 1024;

std::ifstream open_or_throw(const std::string& path) {
  require_regular_file(path, "the dataset file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open: " + std::strerror(errno));
  return in;
}

}  // namespace

LineReader::LineReader(std::string path, size_t max_line_bytes)
    : path_(std::move(path)), max_line_bytes_(max_line_bytes), in_(open_or_throw(path_)) {}

bool LineReader::fill() {
  block_.resize(kBlockBytes);
  in_.read(block_.data(), static_cast<std::streamsize>(block_.size()));
  if (in_.bad()) throw InputError(path_ + ": read error after line " + std::to_string(line_));
  block_.resize(static_cast<size_t>(in_.gcount()));
  begin_ = 0;
  return !block_.empty();
}

bool LineReader::next(std::string& line) {
  line.clear();
  bool any = false;  // a last line without "\n" still counts
  for (;;) {
    if (begin_ == block_.size() && !fill()) {
      if (!any) return false;
      break;
    }
    any = true;
    const size_t nl = block_.find('\n', begin_);
    const size_t end = nl == std::string::npos ? block_.size() : nl;
    // +1: the "\r" of a "\r\n" line end is still part of `line` here.
    if (line.size() + (end - begin_) > max_line_bytes_ + 1) {
      throw InputError(where(path_, line_ + 1) + ": line is longer than max_line_bytes = " +
                       std::to_string(max_line_bytes_) + " bytes (not a text file, or a missing line end?)");
    }
    line.append(block_, begin_, end - begin_);
    begin_ = nl == std::string::npos ? block_.size() : nl + 1;
    if (nl != std::string::npos) break;
  }
  ++line_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > max_line_bytes_) {
    throw InputError(where(path_, line_) + ": line is longer than max_line_bytes = " +
                     std::to_string(max_line_bytes_) + " bytes (not a text file, or a missing line end?)");
  }
  if (line_ == 1 && std::string_view(line).substr(0, kUtf8Bom.size()) == kUtf8Bom)
    line.erase(0, kUtf8Bom.size());
  return true;
}

void LineReader::rewind() {
  in_.clear();
  in_.seekg(0);
  block_.clear();
  begin_ = 0;
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

size_t count_nonblank_lines(const std::string& path, size_t max_line_bytes) {
  LineReader reader(path, max_line_bytes);
  size_t n = 0;
  for (std::string line; reader.next(line);) n += !is_blank(line);
  return n;
}

}  // namespace resid
