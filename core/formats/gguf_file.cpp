#include "core/formats/gguf_file.h"

#include <cstdio>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/formats/gguf_keys.h"

namespace resid {

namespace {

constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
// Nested arrays are legal GGUF; the bound keeps a hostile file from recursing us off the stack.
constexpr int kMaxArrayDepth = 8;

std::string in_quotes(const std::string& s) {
  return "'" + gguf_printable(s) + "'";
}
// Bytes of one element of a fixed-size metadata type; 0 for strings and arrays.
uint64_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool: return 1;
    case GgufType::U16:
    case GgufType::I16: return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32: return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64: return 8;
    case GgufType::String:
    case GgufType::Array: return 0;
  }
  return 0;
}

bool is_known_type(uint32_t t) {
  return t <= static_cast<uint32_t>(GgufType::F64);
}

bool is_integer_type(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64: return true;
    default: return false;
  }
}

bool is_readable(uint32_t ggml_type) {
  return ggml_type == static_cast<uint32_t>(GgmlType::F32) ||
         ggml_type == static_cast<uint32_t>(GgmlType::F16) ||
         ggml_type == static_cast<uint32_t>(GgmlType::BF16) ||
         ggml_type == static_cast<uint32_t>(GgmlType::Q8_0);
}

// ---- parsing helpers ----

// A u64 length-prefixed string. The length is checked against what is left of the file before anything is
// allocated, so a corrupt length gives a message instead of a multi-gigabyte allocation.
std::string read_string(ByteReader& r, const std::string& what) {
  const uint64_t at = r.pos();
  const uint64_t len = r.read<uint64_t>((what + " length").c_str());
  const uint64_t left = r.file().size() - r.pos();
  if (len > left)
    throw FormatError(r.file().path(), what + ": string length " + std::to_string(len) + " at offset " +
                                           std::to_string(at) + " is larger than the rest of the file (" +
                                           std::to_string(left) + " bytes; truncated?)");
  return r.read_string(len, what.c_str());
}

uint64_t bytes_left(const ByteReader& r) {
  return r.file().size() - r.pos();
}

// Throws unless `count` elements of at least `min_bytes` each fit in the rest of the file.
void check_count_fits(const ByteReader& r, uint64_t count, uint64_t min_bytes, const std::string& what) {
  if (count > bytes_left(r) / min_bytes)
    throw FormatError(r.file().path(), what + " has " + std::to_string(count) +
                                           " entries, more than the rest of " + "the file (" +
                                           std::to_string(bytes_left(r)) + " bytes) can hold; truncated?");
}

GgufType read_type(ByteReader& r, const std::string& what) {
  const uint32_t t = r.read<uint32_t>((what + " type").c_str());
  if (!is_known_type(t))
    throw FormatError(r.file().path(), what + " has unknown value type " + std::to_string(t));
  return static_cast<GgufType>(t);
}

// Walks over `count` array elements of type `t` without keeping them, checking every length on the way.
void skip_elements(ByteReader& r, GgufType t, uint64_t count, const std::string& what, int depth) {
  if (const uint64_t size = scalar_size(t)) {
    check_count_fits(r, count, size, what);
    r.seek(r.pos() + count * size);
  } else if (t == GgufType::String) {
    check_count_fits(r, count, 8, what);
    for (uint64_t i = 0; i < count; ++i) read_string(r, what + "[" + std::to_string(i) + "]");
  } else {  // nested arrays
    if (depth >= kMaxArrayDepth)
      throw FormatError(r.file().path(),
                        what + ": arrays nested more than " + std::to_string(kMaxArrayDepth) + " deep");
    check_count_fits(r, count, 12, what);
    for (uint64_t i = 0; i < count; ++i) {
      const std::string inner = what + "[" + std::to_string(i) + "]";
      const GgufType et = read_type(r, inner + " element");
      const uint64_t n = r.read<uint64_t>((inner + " count").c_str());
      skip_elements(r, et, n, inner, depth + 1);
    }
  }
}

GgufValue read_value(ByteReader& r, GgufType type, const std::string& what) {
  GgufValue v;
  v.type = type;
  const char* w = what.c_str();
  switch (type) {
    case GgufType::U8: v.scalar = uint64_t{r.read<uint8_t>(w)}; break;
    case GgufType::I8: v.scalar = int64_t{r.read<int8_t>(w)}; break;
    case GgufType::U16: v.scalar = uint64_t{r.read<uint16_t>(w)}; break;
    case GgufType::I16: v.scalar = int64_t{r.read<int16_t>(w)}; break;
    case GgufType::U32: v.scalar = uint64_t{r.read<uint32_t>(w)}; break;
    case GgufType::I32: v.scalar = int64_t{r.read<int32_t>(w)}; break;
    case GgufType::U64: v.scalar = r.read<uint64_t>(w); break;
    case GgufType::I64: v.scalar = r.read<int64_t>(w); break;
    case GgufType::F32: v.scalar = double{r.read<float>(w)}; break;
    case GgufType::F64: v.scalar = r.read<double>(w); break;
    case GgufType::Bool: v.scalar = r.read<uint8_t>(w) != 0; break;
    case GgufType::String: v.scalar = read_string(r, what); break;
    case GgufType::Array:
      v.element_type = read_type(r, what + " element");
      v.count = r.read<uint64_t>((what + " count").c_str());
      v.elements_offset = r.pos();
      skip_elements(r, v.element_type, v.count, what, 1);
      break;
  }
  return v;
}

// Reads one integer array element of type t at the reader's position.
int64_t read_integer(ByteReader& r, GgufType t) {
  switch (t) {
    case GgufType::U8: return r.read<uint8_t>("array element");
    case GgufType::I8: return r.read<int8_t>("array element");
    case GgufType::U16: return r.read<uint16_t>("array element");
    case GgufType::I16: return r.read<int16_t>("array element");
    case GgufType::U32: return r.read<uint32_t>("array element");
    case GgufType::I32: return r.read<int32_t>("array element");
    case GgufType::I64: return r.read<int64_t>("array element");
    case GgufType::U64: {
      const uint64_t u = r.read<uint64_t>("array element");
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw FormatError(r.file().path(), "array element " + std::to_string(u) + " does not fit in int64");
      return static_cast<int64_t>(u);
    }
    default: return 0;  // callers check the type first
  }
}

}  // namespace

// Keys and strings from the file go into one-line messages: control bytes are shown as '?', long ones are
// cut.
std::string gguf_printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out;
}

DType ggml_dtype(uint32_t ggml_type) {
  switch (static_cast<GgmlType>(ggml_type)) {
    case GgmlType::F32: return DType::F32;
    case GgmlType::F16: return DType::F16;
    case GgmlType::BF16: return DType::BF16;
    case GgmlType::Q8_0: return DType::Q8_0;
  }
  return DType::F32;  // unreachable for readable types
}

std::string gguf_type_name(GgufType t) {
  static const char* const kNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                       "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < std::size(kNames) ? kNames[i] : "type " + std::to_string(i);
}

std::string ggml_type_name(uint32_t type) {
  // ggml's numbering; 4, 5 and 31-33 were removed types.
  static const char* const kNames[] = {
      "F32",   "F16",    "Q4_0", "Q4_1", "",     "",        "Q5_0",   "Q5_1",    "Q8_0",  "Q8_1",   "Q2_K",
      "Q3_K",  "Q4_K",   "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",
      "IQ2_S", "IQ4_XS", "I8",   "I16",  "I32",  "I64",     "F64",    "IQ1_M",   "BF16"};
  if (type < std::size(kNames) && kNames[type][0] != '\0') return kNames[type];
  return "unknown";
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // bounded at parse
  return n;
}

// ---- GgufFile ----

GgufFile::GgufFile(const std::string& path) : file_(MappedFile::open(path)) {
  ByteReader r(*file_);
  uint64_t n_tensors = 0, n_kv = 0;
  parse_header(r, &n_tensors, &n_kv);
  parse_metadata(r, n_kv);
  parse_tensor_infos(r, n_tensors);
  locate_tensor_data(r.pos());
}

void GgufFile::parse_header(ByteReader& r, uint64_t* n_tensors, uint64_t* n_kv) {
  const uint32_t magic = r.read<uint32_t>("GGUF magic");
  if (magic != kGgufMagic) {
    const uint8_t* m = file_->data();
    std::string shown;
    for (int i = 0; i < 4; ++i) shown += (m[i] >= 0x20 && m[i] < 0x7f) ? static_cast<char>(m[i]) : '?';
    throw FormatError(path(), "not a GGUF file: magic is '" + shown + "', expected 'GGUF'");
  }
  version_ = r.read<uint32_t>("GGUF version");
  if (version_ != kGgufVersion) {
    if (__builtin_bswap32(version_) == kGgufVersion)
      throw FormatError(path(), "big-endian GGUF files are not supported");
    throw FormatError(
        path(), "GGUF version " + std::to_string(version_) + " is not supported (resid reads version 3)");
  }
  *n_tensors = r.read<uint64_t>("tensor count");
  *n_kv = r.read<uint64_t>("metadata key/value count");
}

void GgufFile::parse_metadata(ByteReader& r, uint64_t n_kv) {
  // Smallest entry: empty key (8-byte length), 4-byte type, 1-byte value.
  check_count_fits(r, n_kv, 13, "metadata");
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = read_string(r, "metadata key " + std::to_string(i));
    const std::string what = "metadata key " + in_quotes(key);
    if (values_.count(key)) throw FormatError(path(), "duplicate " + what);
    const GgufType type = read_type(r, what);
    values_.emplace(key, read_value(r, type, what));
    keys_.push_back(std::move(key));
  }
  if (has(gguf_key::kAlignment)) {
    const uint64_t a = get_uint(gguf_key::kAlignment);
    // ggml requires a power of two; the upper bound keeps the align-up arithmetic far from overflow.
    if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 30))
      throw FormatError(path(), std::string(gguf_key::kAlignment) + " = " + std::to_string(a) +
                                    " is not a power of two up to 2^30");
    alignment_ = a;
  } else {
    alignment_ = kGgufAlignment;
  }
}

void GgufFile::parse_tensor_infos(ByteReader& r, uint64_t n_tensors) {
  // Smallest info: empty name, n_dims, one dim, type, offset.
  check_count_fits(r, n_tensors, 8 + 4 + 8 + 4 + 8, "tensor table");
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = read_string(r, "tensor " + std::to_string(i) + " name");
    const std::string what = "tensor " + in_quotes(t.name);
    if (tensor_index_.count(t.name)) throw FormatError(path(), "duplicate " + what);
    const uint32_t n_dims = r.read<uint32_t>((what + " n_dims").c_str());
    if (n_dims == 0 || n_dims > kMaxDims)
      throw FormatError(path(), what + " has " + std::to_string(n_dims) + " dimensions (GGUF allows 1 to " +
                                    std::to_string(kMaxDims) + ")");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t n = r.read<uint64_t>((what + " dimension").c_str());
      // Bounding the element count to int64 / 8 keeps every later byte count (at most 8 bytes an element)
      // inside 64 bits.
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(numel, n, &numel) ||
          numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 8))
        throw FormatError(path(), what + " has too many elements (dimension " + std::to_string(d) + " = " +
                                      std::to_string(n) + ")");
      t.ne.push_back(static_cast<int64_t>(n));
    }
    t.type = r.read<uint32_t>((what + " type").c_str());
    t.offset = r.read<uint64_t>((what + " offset").c_str());
    t.readable = is_readable(t.type);
    if (t.readable) {
      const DType dt = ggml_dtype(t.type);
      if (dt == DType::Q8_0 && t.ne[0] % 32 != 0)
        throw FormatError(path(), what + " is Q8_0 but its rows (ne[0] = " + std::to_string(t.ne[0]) +
                                      ") are not a whole number of 32-value blocks");
      t.nbytes = static_cast<uint64_t>(dtype_bytes(dt, static_cast<int64_t>(numel)));
    }
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }
}

void GgufFile::locate_tensor_data(uint64_t infos_end) {
  // infos_end <= file size and alignment <= 2^30, so this cannot overflow.
  data_offset_ = (infos_end + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t size = file_->size();
  for (const GgufTensorInfo& t : tensors_) {
    const std::string what = "tensor " + in_quotes(t.name);
    if (t.offset % alignment_ != 0)
      throw FormatError(path(), what + " data offset " + std::to_string(t.offset) +
                                    " is not a multiple of the alignment " + std::to_string(alignment_));
    if (!t.readable) continue;  // its size is unknown; tensor() refuses it anyway
    if (data_offset_ > size || t.offset > size - data_offset_ || t.nbytes > size - data_offset_ - t.offset)
      throw FormatError(
          path(), what + " data (" + std::to_string(t.nbytes) + " bytes at data offset " +
                      std::to_string(t.offset) + ", file offset " + std::to_string(data_offset_ + t.offset) +
                      ") runs past the end of the file (" + std::to_string(size) + " bytes; truncated?)");
  }
}

const GgufValue& GgufFile::value(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw FormatError(path(), "missing required metadata key " + in_quotes(key));
  return it->second;
}

namespace {

std::string value_type_name(const GgufValue& v) {
  if (v.type != GgufType::Array) return gguf_type_name(v.type);
  return "array of " + gguf_type_name(v.element_type);
}

[[noreturn]] void wrong_type(const std::string& path, const std::string& key, const GgufValue& v,
                             const std::string& expected) {
  throw FormatError(
      path, "metadata key " + in_quotes(key) + " has type " + value_type_name(v) + ", expected " + expected);
}

}  // namespace

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue& v = value(key);
  if (v.type != GgufType::String) wrong_type(path(), key, v, "a string");
  return std::get<std::string>(v.scalar);
}

uint64_t GgufFile::get_uint(const std::string& key) const {
  const GgufValue& v = value(key);
  if (const auto* u = std::get_if<uint64_t>(&v.scalar)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v.scalar)) {
    if (*i < 0)
      throw FormatError(path(),
                        "metadata key " + in_quotes(key) + " = " + std::to_string(*i) + " is negative");
    return static_cast<uint64_t>(*i);
  }
  wrong_type(path(), key, v, "an integer");
}

double GgufFile::get_float(const std::string& key) const {
  const GgufValue& v = value(key);
  if (const auto* d = std::get_if<double>(&v.scalar)) return *d;
  wrong_type(path(), key, v, "f32 or f64");
}

bool GgufFile::get_bool(const std::string& key) const {
  const GgufValue& v = value(key);
  if (const auto* b = std::get_if<bool>(&v.scalar)) return *b;
  wrong_type(path(), key, v, "a bool");
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const GgufValue& v = value(key);
  if (v.type != GgufType::Array || v.element_type != GgufType::String)
    wrong_type(path(), key, v, "array of string");
  ByteReader r(*file_, v.elements_offset);
  std::vector<std::string> out;
  out.reserve(v.count);  // bounded by the file size at parse
  for (uint64_t i = 0; i < v.count; ++i) out.push_back(read_string(r, key + "[" + std::to_string(i) + "]"));
  return out;
}

std::vector<float> GgufFile::get_float_array(const std::string& key) const {
  const GgufValue& v = value(key);
  if (v.type != GgufType::Array || (v.element_type != GgufType::F32 && v.element_type != GgufType::F64))
    wrong_type(path(), key, v, "array of f32");
  ByteReader r(*file_, v.elements_offset);
  std::vector<float> out;
  out.reserve(v.count);
  for (uint64_t i = 0; i < v.count; ++i)
    out.push_back(v.element_type == GgufType::F32 ? r.read<float>("array element")
                                                  : static_cast<float>(r.read<double>("array element")));
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  const GgufValue& v = value(key);
  if (v.type != GgufType::Array || !is_integer_type(v.element_type))
    wrong_type(path(), key, v, "array of integers");
  ByteReader r(*file_, v.elements_offset);
  std::vector<int64_t> out;
  out.reserve(v.count);
  for (uint64_t i = 0; i < v.count; ++i) out.push_back(read_integer(r, v.element_type));
  return out;
}

std::string GgufFile::describe(const std::string& key) const {
  const GgufValue& v = value(key);
  if (v.type == GgufType::Array)
    return "[" + std::to_string(v.count) + " x " + gguf_type_name(v.element_type) + "]";
  if (const auto* u = std::get_if<uint64_t>(&v.scalar)) return std::to_string(*u);
  if (const auto* i = std::get_if<int64_t>(&v.scalar)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v.scalar)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<double>(&v.scalar)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", *d);
    return buf;
  }
  return gguf_printable(std::get<std::string>(v.scalar));
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Tensor GgufFile::tensor(const std::string& name, bool* mapped) const {
  const GgufTensorInfo* info = find_tensor(name);
  if (!info) throw FormatError(path(), "missing tensor " + in_quotes(name));
  return tensor(*info, mapped);
}

Tensor GgufFile::tensor(const GgufTensorInfo& info, bool* mapped) const {
  if (!info.readable)
    throw FormatError(path(), "tensor " + in_quotes(info.name) + " has type " + std::to_string(info.type) +
                                  " (" + ggml_type_name(info.type) +
                                  "), which resid cannot read (F32, F16, BF16, Q8_0)");
  const uint8_t* bytes = file_->at(data_offset_ + info.offset, info.nbytes, "tensor " + in_quotes(info.name));
  const DType dt = ggml_dtype(info.type);
  // In place only when the floats are naturally aligned: an alignment of 1 or 2 is legal GGUF, and a
  // misaligned float load is undefined behaviour.
  const bool in_place = dt == DType::F32 && reinterpret_cast<uintptr_t>(bytes) % alignof(float) == 0;
  if (mapped) *mapped = in_place;
  if (in_place) return Tensor::view(info.shape(), reinterpret_cast<const float*>(bytes), file_);
  std::vector<float> values(static_cast<size_t>(info.numel()));
  convert_to_f32(dt, bytes, info.numel(), values.data());
  return Tensor::owned(info.shape(), std::move(values));
}

bool sniff_gguf(const uint8_t* head, size_t size) {
  return size >= 4 && std::memcmp(head, "GGUF", 4) == 0;
}

}  // namespace resid
