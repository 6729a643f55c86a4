#include "core/formats/vector_file.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>

#include "core/error.h"
#include "core/input_file.h"

namespace resid {
namespace {

constexpr std::string_view kNpyMagic = "\x93NUMPY";

// The header dict of a .npy file, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (64,), }: values are
// a quoted string, True/False, or a tuple of integers. Parsed strictly; anything else is a FormatError.
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  // key -> raw value ("<f4", "False", "64," for a tuple's items)
  std::map<std::string, std::string> parse() {
    std::map<std::string, std::string> out;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = quoted();
      skip_space();
      expect(':');
      skip_space();
      std::string value;
      if (peek() == '\'' || peek() == '"') {
        value = quoted();
      } else if (peek() == '(') {
        ++pos_;
        const size_t close = s_.find(')', pos_);
        if (close == std::string_view::npos) fail("unclosed shape tuple");
        value = std::string(s_.substr(pos_, close - pos_));
        pos_ = close + 1;
        value.insert(0, "(");
      } else {
        const size_t begin = pos_;
        while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
        value = std::string(s_.substr(begin, pos_ - begin));
        if (value != "True" && value != "False") fail("unexpected value for '" + printable(key) + "'");
      }
      if (!out.emplace(key, value).second) fail("key '" + printable(key) + "' appears twice");
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail("expected ',' or '}'");
    }
    ++pos_;
    skip_space();
    if (pos_ != s_.size()) fail("bytes after the header dict");
    return out;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted key");
    const size_t close = s_.find(q, pos_ + 1);
    if (close == std::string_view::npos) fail("unclosed string");
    std::string out(s_.substr(pos_ + 1, close - pos_ - 1));
    pos_ = close + 1;
    return out;
  }
  [[noreturn]] void fail(const std::string& problem) const {
    throw FormatError(path_, ".npy header: " + problem + " at byte " + std::to_string(pos_) + " of '" +
                                 printable(s_, 120) + "'");
  }

  std::string_view s_;
  const std::string& path_;
  size_t pos_ = 0;
};

// "(64,)" -> {64}; "(2, 32)" -> {2, 32}; "()" -> {}.
std::vector<uint64_t> parse_shape(const std::string& tuple, const std::string& path) {
  std::vector<uint64_t> dims;
  std::string_view s(tuple);
  s.remove_prefix(1);  // '('
  while (!s.empty()) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    if (s.empty()) break;
    uint64_t d = 0;
    const auto [stop, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc() || stop == s.data())
      throw FormatError(path, ".npy header: shape " + printable(tuple) + ") is not a tuple of sizes");
    dims.push_back(d);
    s.remove_prefix(static_cast<size_t>(stop - s.data()));
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    if (s.empty()) break;
    if (s.front() != ',')
      throw FormatError(path, ".npy header: shape " + printable(tuple) + ") is not a tuple of sizes");
    s.remove_prefix(1);
  }
  return dims;
}

std::string shape_text(const std::vector<uint64_t>& dims) {
  std::string out = "(";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + (dims.size() == 1 ? ",)" : ")");
}

std::vector<float> parse_npy(std::string_view bytes, const std::string& path) {
  if (bytes.size() < 10) throw FormatError(path, "truncated .npy header");
  const int major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3)
    throw FormatError(path, ".npy format version " + std::to_string(major) + " is not 1, 2 or 3");
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_bytes) throw FormatError(path, "truncated .npy header");
  uint64_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i)
    header_len |= uint64_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  const uint64_t data_start = 8 + len_bytes + header_len;
  if (data_start > bytes.size())
    throw FormatError(
        path, ".npy header of " + std::to_string(header_len) + " bytes runs past the end of the file");
  const auto dict = NpyHeaderParser(bytes.substr(8 + len_bytes, header_len), path).parse();
  for (const char* key : {"descr", "fortran_order", "shape"})
    if (!dict.count(key)) throw FormatError(path, std::string(".npy header has no '") + key + "'");
  if (dict.size() != 3)
    throw FormatError(path, ".npy header has keys other than descr, fortran_order and shape");
  const std::string& descr = dict.at("descr");
  size_t item = 0;
  if (descr == "<f4")
    item = 4;
  else if (descr == "<f8")
    item = 8;
  else
    throw FormatError(path, ".npy dtype '" + printable(descr) + "' is not little-endian float32 or float64");
  if (dict.at("fortran_order") != "False") {
    if (dict.at("fortran_order") == "True") throw FormatError(path, "Fortran-order .npy not supported");
    throw FormatError(path, ".npy header: fortran_order must be True or False");
  }
  const std::string& shape = dict.at("shape");
  if (shape.empty() || shape[0] != '(') throw FormatError(path, ".npy header: shape must be a tuple");
  const std::vector<uint64_t> dims = parse_shape(shape, path);
  if (dims.size() != 1)
    throw FormatError(path,
                      ".npy shape " + shape_text(dims) + " is not 1-D (a vector file holds one vector)");
  const uint64_t n = dims[0];
  const uint64_t data_bytes = bytes.size() - data_start;
  if (n > data_bytes / item || n * item != data_bytes)
    throw FormatError(path,
                      ".npy shape " + shape_text(dims) + " of " + descr + " needs " +
                          (n > UINT64_MAX / item ? std::string("more than 2^64") : std::to_string(n * item)) +
                          " bytes of data but the file has " + std::to_string(data_bytes));
  std::vector<float> out(n);
  const char* data = bytes.data() + data_start;
  if (n == 0) {
    // An empty vector: nothing to copy (memcpy from/to an empty vector's null data() is undefined behaviour).
  } else if (item == 4) {
    std::memcpy(out.data(), data, n * 4);
  } else {
    for (uint64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, data + i * 8, 8);
      out[i] = static_cast<float>(d);
    }
  }
  return out;
}

bool is_text_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::vector<float> parse_text(std::string_view bytes, const std::string& path) {
  std::vector<float> out;
  for (size_t pos = 0; pos < bytes.size();) {
    if (is_text_space(bytes[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < bytes.size() && !is_text_space(bytes[end])) ++end;
    const std::string_view word = bytes.substr(pos, end - pos);
    // from_chars takes no leading '+', which text writers (and strtof) accept.
    const std::string_view digits = word.size() > 1 && word[0] == '+' ? word.substr(1) : word;
    float v = 0;
    const auto [stop, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc::result_out_of_range)
      throw FormatError(path, "'" + printable(word, 60) + "' is out of the float32 range");
    if (ec != std::errc() || stop != digits.data() + digits.size())
      throw FormatError(path, "'" + printable(word, 60) + "' is not a number");
    out.push_back(v);
    pos = end;
  }
  return out;
}

}  // namespace

std::vector<float> parse_vector_file(std::string_view bytes, const std::string& path) {
  std::vector<float> out =
      bytes.substr(0, kNpyMagic.size()) == kNpyMagic ? parse_npy(bytes, path) : parse_text(bytes, path);
  if (out.empty()) throw FormatError(path, "no values in vector file");
  for (float v : out)
    if (!std::isfinite(v)) throw FormatError(path, "vector holds NaN or infinity");
  return out;
}

std::vector<float> read_vector_file(const std::string& path) {
  require_regular_file(path, "the vector file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(printable(path) + ": cannot open vector file: " + std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(printable(path) + ": read error");
  return parse_vector_file(bytes, path);
}

}  // namespace resid
