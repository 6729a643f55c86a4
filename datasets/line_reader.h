// Reads a dataset file one line at a time with its 1-based line number, so every error can say "path:line".
// Line ends may be "\n" or "\r\n"; a UTF-8 byte-order mark at the start of the file is dropped. A line longer
// than the limit is an error rather than an unbounded allocation (a file with no newline, a binary file).
#pragma once
#include <cstddef>
#include <fstream>
#include <string>
#include <string_view>

namespace resid {

class LineReader {
 public:
  // The default limit on one line's bytes, the line end excluded.
  static constexpr size_t kDefaultMaxLineBytes = size_t{16} << 20;

  // Throws InputError naming `path` when it cannot be opened or is not a regular file.
  explicit LineReader(std::string path, size_t max_line_bytes = kDefaultMaxLineBytes);

  // The next line without its line end; false at the end of the file. InputError "<path>:<line>: line is
  // longer than N bytes" past the limit.
  bool next(std::string& line);
  // The number of the line last returned by next() (0 before the first).
  size_t line_number() const { return line_; }
  void rewind();
  const std::string& path() const { return path_; }

 private:
  // Refills block_ from the file; false at the end of the file.
  bool fill();

  std::string path_;
  size_t max_line_bytes_;
  std::ifstream in_;
  std::string block_;  // bytes read from the file and not yet returned: [begin_, block_.size())
  size_t begin_ = 0;
  size_t line_ = 0;
};

// True when `s` holds only ASCII whitespace (or nothing).
bool is_blank(std::string_view s);
bool is_space(char c);
// "path:line", the prefix of every per-row error message.
std::string where(const std::string& path, size_t line);
// Lines holding something other than whitespace; a streaming pass (InputError if the file cannot be read).
size_t count_nonblank_lines(const std::string& path,
                            size_t max_line_bytes = LineReader::kDefaultMaxLineBytes);

}  // namespace resid
