#include "datasets/document_chunker.h"

#include <cerrno>
#include <cstring>
#include <string_view>

#include "core/error.h"
#include "core/input_file.h"
#include "datasets/line_reader.h"

namespace resid {
namespace {

constexpr size_t kBlockBytes = 16 * 1024;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool is_utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

DocumentChunker::DocumentChunker(std::string path, size_t max_chunk)
    : path_(std::move(path)), max_chunk_(max_chunk < 16 ? 16 : max_chunk) {
  require_regular_file(path_, "the dataset file");  // a FIFO or /dev/zero would never end
  in_.open(path_, std::ios::binary);
  if (!in_) throw InputError(path_ + ": cannot open: " + std::strerror(errno));
}

void DocumentChunker::rewind() {
  in_.clear();
  in_.seekg(0);
  if (!in_) throw InputError(path_ + ": cannot rewind");
  pending_.clear();
  at_start_ = true;
  carry_cr_ = false;
  eof_ = false;
}

bool DocumentChunker::fill() {
  if (eof_) return false;
  char block[kBlockBytes];
  in_.read(block, sizeof block);
  const size_t n = static_cast<size_t>(in_.gcount());
  if (in_.bad()) throw InputError(path_ + ": read error");
  std::string_view bytes(block, n);
  if (at_start_ && bytes.size() >= kUtf8Bom.size()) {
    if (bytes.substr(0, kUtf8Bom.size()) == kUtf8Bom) bytes.remove_prefix(kUtf8Bom.size());
    at_start_ = false;
  }
  for (char c : bytes) {
    if (carry_cr_) {
      carry_cr_ = false;
      if (c != '\n') pending_.push_back('\r');
    }
    if (c == '\r') {
      carry_cr_ = true;
    } else {
      pending_.push_back(c);
    }
  }
  if (n < sizeof block) {
    eof_ = true;
    if (carry_cr_) pending_.push_back('\r');
    carry_cr_ = false;
  }
  return n > 0;
}

size_t DocumentChunker::paragraph_end() const {
  bool content = false;  // a non-blank line seen
  bool gap = false;      // a complete blank line seen after it
  for (size_t pos = 0; pos < pending_.size();) {
    const size_t nl = pending_.find('\n', pos);
    const size_t end = nl == std::string::npos ? pending_.size() : nl;
    if (!is_blank(std::string_view(pending_).substr(pos, end - pos))) {
      if (gap) return pos;
      content = true;
    } else if (nl != std::string::npos && content) {
      gap = true;
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return 0;
}

size_t DocumentChunker::forced_cut() const {
  const std::string_view head = std::string_view(pending_).substr(0, max_chunk_);
  if (const size_t nl = head.rfind('\n'); nl != std::string_view::npos) return nl + 1;
  // After the space, so the next chunk's dummy-prefix "▁" stands where the word's own space would have been.
  if (const size_t sp = head.rfind(' '); sp != std::string_view::npos) return sp + 1;
  size_t cut = head.size();
  while (cut > 1 && is_utf8_continuation(pending_[cut])) --cut;
  return cut;
}

bool DocumentChunker::next(std::string& chunk) {
  for (;;) {
    size_t cut = paragraph_end();
    if (cut == 0 && pending_.size() >= max_chunk_) cut = forced_cut();
    if (cut == 0 && !fill()) {
      if (pending_.empty()) return false;
      cut = pending_.size();  // the end of the file ends the last chunk
    }
    if (cut == 0) continue;
    chunk.assign(pending_, 0, cut);
    pending_.erase(0, cut);
    return true;
  }
}

}  // namespace resid
