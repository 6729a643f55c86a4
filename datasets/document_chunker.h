// Cuts a long document into chunks small enough to tokenise one at a time, so a windows dataset never holds
// the whole file: a chunk is one paragraph with the blank lines after it (paragraphs are separated by blank
// lines), or, for a paragraph longer than `max_chunk` bytes, a piece of it ending at a line end, else a
// space, else a UTF-8 character boundary. The chunks concatenate to the file's bytes, with "\r\n" read as
// "\n".
#pragma once
#include <cstddef>
#include <fstream>
#include <string>

namespace resid {

class DocumentChunker {
 public:
  // Throws InputError naming `path` when it cannot be opened.
  explicit DocumentChunker(std::string path, size_t max_chunk = 64 * 1024);

  // The next chunk (never empty); false at the end of the file.
  bool next(std::string& chunk);
  void rewind();

 private:
  // Appends one block of the file to pending_; false once the file is exhausted.
  bool fill();
  // Where pending_ ends its first paragraph (the start of the next non-blank line after a blank line), or 0.
  size_t paragraph_end() const;
  // Where to cut a pending_ of at least max_chunk_ bytes that holds no paragraph end.
  size_t forced_cut() const;

  std::string path_;
  size_t max_chunk_;
  std::ifstream in_;
  std::string pending_;
  bool at_start_ = true;   // a byte-order mark may follow
  bool carry_cr_ = false;  // the last block ended in '\r': a "\r\n" may straddle two blocks
  bool eof_ = false;
};

}  // namespace resid
