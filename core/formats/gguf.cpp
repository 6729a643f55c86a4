#include "core/formats/gguf.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/formats/gguf_keys.h"
#include "core/rotary.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "core/weight_schema.h"

namespace resid {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kVersion = 3;
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
// Nested arrays are legal GGUF; the bound keeps a hostile file from recursing us off the stack.
constexpr int kMaxArrayDepth = 8;
// The rotary tables are precomputed per position, so an absurd context_length would allocate absurdly.
constexpr uint64_t kMaxContext = 1u << 20;

// llama.cpp's general.file_type values (LLAMA_FTYPE_*).
constexpr uint32_t kFileTypeF32 = 0, kFileTypeF16 = 1, kFileTypeQ8_0 = 7, kFileTypeBF16 = 32;

// Keys and strings from the file go into one-line messages: control bytes are shown as '?', long ones are
// cut.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out;
}

std::string in_quotes(const std::string& s) {
  return "'" + printable(s) + "'";
}

// Bytes of one element of a fixed-size metadata type; 0 for strings and arrays.
uint64_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
      return 8;
    case GgufType::String:
    case GgufType::Array:
      return 0;
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
    case GgufType::I64:
      return true;
    default:
      return false;
  }
}

bool is_readable(uint32_t ggml_type) {
  return ggml_type == static_cast<uint32_t>(GgmlType::F32) ||
         ggml_type == static_cast<uint32_t>(GgmlType::F16) ||
         ggml_type == static_cast<uint32_t>(GgmlType::BF16) ||
         ggml_type == static_cast<uint32_t>(GgmlType::Q8_0);
}

DType dtype_of(uint32_t ggml_type) {
  switch (static_cast<GgmlType>(ggml_type)) {
    case GgmlType::F32:
      return DType::F32;
    case GgmlType::F16:
      return DType::F16;
    case GgmlType::BF16:
      return DType::BF16;
    case GgmlType::Q8_0:
      return DType::Q8_0;
  }
  return DType::F32;  // unreachable for readable types
}

GgmlType ggml_type_of(DType t) {
  switch (t) {
    case DType::F16:
      return GgmlType::F16;
    case DType::BF16:
      return GgmlType::BF16;
    case DType::Q8_0:
      return GgmlType::Q8_0;
    default:
      return GgmlType::F32;
  }
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
    case GgufType::U8:
      v.scalar = uint64_t{r.read<uint8_t>(w)};
      break;
    case GgufType::I8:
      v.scalar = int64_t{r.read<int8_t>(w)};
      break;
    case GgufType::U16:
      v.scalar = uint64_t{r.read<uint16_t>(w)};
      break;
    case GgufType::I16:
      v.scalar = int64_t{r.read<int16_t>(w)};
      break;
    case GgufType::U32:
      v.scalar = uint64_t{r.read<uint32_t>(w)};
      break;
    case GgufType::I32:
      v.scalar = int64_t{r.read<int32_t>(w)};
      break;
    case GgufType::U64:
      v.scalar = r.read<uint64_t>(w);
      break;
    case GgufType::I64:
      v.scalar = r.read<int64_t>(w);
      break;
    case GgufType::F32:
      v.scalar = double{r.read<float>(w)};
      break;
    case GgufType::F64:
      v.scalar = r.read<double>(w);
      break;
    case GgufType::Bool:
      v.scalar = r.read<uint8_t>(w) != 0;
      break;
    case GgufType::String:
      v.scalar = read_string(r, what);
      break;
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
    case GgufType::U8:
      return r.read<uint8_t>("array element");
    case GgufType::I8:
      return r.read<int8_t>("array element");
    case GgufType::U16:
      return r.read<uint16_t>("array element");
    case GgufType::I16:
      return r.read<int16_t>("array element");
    case GgufType::U32:
      return r.read<uint32_t>("array element");
    case GgufType::I32:
      return r.read<int32_t>("array element");
    case GgufType::I64:
      return r.read<int64_t>("array element");
    case GgufType::U64: {
      const uint64_t u = r.read<uint64_t>("array element");
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw FormatError(r.file().path(), "array element " + std::to_string(u) + " does not fit in int64");
      return static_cast<int64_t>(u);
    }
    default:
      return 0;  // callers check the type first
  }
}

}  // namespace

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
  if (magic != kMagic) {
    const uint8_t* m = file_->data();
    std::string shown;
    for (int i = 0; i < 4; ++i) shown += (m[i] >= 0x20 && m[i] < 0x7f) ? static_cast<char>(m[i]) : '?';
    throw FormatError(path(), "not a GGUF file: magic is '" + shown + "', expected 'GGUF'");
  }
  version_ = r.read<uint32_t>("GGUF version");
  if (version_ != kVersion) {
    if (__builtin_bswap32(version_) == kVersion)
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
    alignment_ = kDefaultAlignment;
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
      const DType dt = dtype_of(t.type);
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
  return printable(std::get<std::string>(v.scalar));
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
  const DType dt = dtype_of(info.type);
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

// ---- the llama architecture ----

namespace {

// llama.cpp's name for a weight role (per-layer ones follow "blk.<l>.").
const char* gguf_role_name(WeightRole role) {
  switch (role) {
    case WeightRole::Embed:
      return "token_embd.weight";
    case WeightRole::AttnNorm:
      return "attn_norm.weight";
    case WeightRole::Wq:
      return "attn_q.weight";
    case WeightRole::Wk:
      return "attn_k.weight";
    case WeightRole::Wv:
      return "attn_v.weight";
    case WeightRole::Wo:
      return "attn_output.weight";
    case WeightRole::FfnNorm:
      return "ffn_norm.weight";
    case WeightRole::Gate:
      return "ffn_gate.weight";
    case WeightRole::Up:
      return "ffn_up.weight";
    case WeightRole::Down:
      return "ffn_down.weight";
    case WeightRole::FinalNorm:
      return "output_norm.weight";
    case WeightRole::Unembed:
      return "output.weight";
  }
  return "?";
}

std::string gguf_tensor_name(const WeightSlot& s) {
  const char* name = gguf_role_name(s.row->role);
  return s.row->per_layer ? "blk." + std::to_string(s.layer) + "." + name : std::string(name);
}

// The tensors of a llama model in the order llama.cpp's converters write them (globals, then the blocks).
// output.weight is absent when embeddings are tied.
std::vector<WeightSlot> llama_slots(const Config& c) {
  return weight_slots(c, WeightOrder::GlobalsFirst);
}

// A required positive integer hyper-parameter, range-checked before it becomes an int.
int int_key(const GgufFile& g, const std::string& key, uint64_t max) {
  const uint64_t v = g.get_uint(key);
  if (v < 1 || v > max)
    throw FormatError(g.path(),
                      key + " = " + std::to_string(v) + " is out of range [1, " + std::to_string(max) + "]");
  return static_cast<int>(v);
}

// Rejects llama variants whose forward resid does not implement, rather than running them wrongly.
void check_supported_variant(const GgufFile& g) {
  if (g.has(gguf_key::kRopeScalingType)) {
    const std::string type = g.get_string(gguf_key::kRopeScalingType);
    if (type != "none")
      throw FormatError(g.path(), "RoPE scaling '" + printable(type) + "' is not supported");
  }
  if (g.has(gguf_key::kRopeScaleLinear) && g.get_float(gguf_key::kRopeScaleLinear) != 1.0)
    throw FormatError(g.path(), "linear RoPE scaling (llama.rope.scale_linear) is not supported");
  if (g.has(gguf_key::kExpertCount) && g.get_uint(gguf_key::kExpertCount) > 0)
    throw FormatError(g.path(), "mixture-of-experts llama models (llama.expert_count) are not supported");
}

Config read_llama_config(const GgufFile& g, std::vector<std::string>& notes) {
  const std::string arch = g.get_string(gguf_key::kArchitecture);
  if (arch != "llama")
    throw FormatError(g.path(), std::string(gguf_key::kArchitecture) + " is '" + printable(arch) +
                                    "'; resid reads only 'llama'");
  check_supported_variant(g);
  Config c;
  c.d_model = int_key(g, gguf_key::kEmbeddingLength, 1 << 20);
  c.n_layers = int_key(g, gguf_key::kBlockCount, 1 << 16);
  c.n_heads = int_key(g, gguf_key::kHeadCount, 1 << 16);
  if (g.has(gguf_key::kHeadCountKv)) {
    c.n_kv_heads = int_key(g, gguf_key::kHeadCountKv, 1 << 16);
  } else {
    c.n_kv_heads = c.n_heads;
    notes.push_back(std::string(gguf_key::kHeadCountKv) + " absent: assumed n_kv_heads = n_heads");
  }
  c.d_mlp = int_key(g, gguf_key::kFeedForwardLength, 1 << 24);
  c.n_ctx = int_key(g, gguf_key::kContextLength, kMaxContext);
  c.eps = static_cast<float>(g.get_float(gguf_key::kRmsEpsilon));
  if (g.has(gguf_key::kRopeFreqBase)) {
    c.rotary_base = static_cast<float>(g.get_float(gguf_key::kRopeFreqBase));
  } else {
    c.rotary_base = 10000.0f;
    notes.push_back(std::string(gguf_key::kRopeFreqBase) + " absent: assumed 10000");
  }
  if (g.has(gguf_key::kKeyLength)) {
    c.d_head = int_key(g, gguf_key::kKeyLength, 1 << 16);
    if (g.has(gguf_key::kValueLength) && g.get_uint(gguf_key::kValueLength) != uint64_t(c.d_head))
      throw FormatError(g.path(),
                        std::string(gguf_key::kValueLength) + " differs from key_length (not supported)");
  } else {
    if (c.d_model % c.n_heads != 0)
      throw FormatError(g.path(),
                        std::string(gguf_key::kHeadCount) + " = " + std::to_string(c.n_heads) +
                            " does not divide llama.embedding_length = " + std::to_string(c.d_model));
    c.d_head = c.d_model / c.n_heads;
  }
  if (g.has(gguf_key::kRopeDimensionCount) && g.get_uint(gguf_key::kRopeDimensionCount) != uint64_t(c.d_head))
    throw FormatError(g.path(), std::string(gguf_key::kRopeDimensionCount) + " = " +
                                    g.describe(gguf_key::kRopeDimensionCount) +
                                    " rotates part of each head (d_head = " + std::to_string(c.d_head) +
                                    "); partial rotary embeddings are not supported");
  c.act_fn = ActFn::SiLU;
  c.gated_mlp = true;
  // llama.cpp's converters permute Hugging Face q/k rows to adjacent pairs; llama2.c's are already so.
  c.rotary_style = RotaryStyle::Interleaved;

  const std::string embd_name = gguf_role_name(WeightRole::Embed);
  const GgufTensorInfo* embd = g.find_tensor(embd_name);
  if (!embd) throw FormatError(g.path(), "missing tensor " + in_quotes(embd_name));
  if (embd->ne.size() != 2 || embd->ne[1] > std::numeric_limits<int32_t>::max())
    throw FormatError(g.path(), "token_embd.weight has shape " + shape_string(embd->shape()) +
                                    ", expected [d_vocab, d_model]");
  c.d_vocab = static_cast<int>(embd->ne[1]);
  if (g.has(gguf_key::kVocabSize) && g.get_uint(gguf_key::kVocabSize) != uint64_t(c.d_vocab))
    throw FormatError(g.path(), std::string(gguf_key::kVocabSize) + " = " + g.describe(gguf_key::kVocabSize) +
                                    " but token_embd.weight has " + std::to_string(c.d_vocab) + " rows");
  c.tied_embeddings = g.find_tensor(gguf_role_name(WeightRole::Unembed)) == nullptr;
  if (c.tied_embeddings)
    notes.push_back("output.weight absent: the unembedding is tied to token_embd.weight");
  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw FormatError(g.path(), std::string("inconsistent hyper-parameters: ") + e.what());
  }
  return c;
}

// Every tensor must be one the layout expects, with the shape the config implies and a type resid reads;
// checked before any data is converted so a bad file fails fast and names the GGUF tensor.
void check_llama_tensors(const GgufFile& g, const Config& c, const std::vector<WeightSlot>& slots) {
  std::set<std::string> expected;
  for (const WeightSlot& s : slots) {
    const std::string name = gguf_tensor_name(s);
    expected.insert(name);
    const GgufTensorInfo* info = g.find_tensor(name);
    if (!info) throw FormatError(g.path(), "missing tensor " + in_quotes(name));
    const std::vector<int64_t> shape = s.row->shape(c);
    if (info->shape() != shape)
      throw FormatError(g.path(), name + " has shape " + shape_string(info->shape()) + ", expected " +
                                      shape_string(shape) + " for this config");
    if (!info->readable) g.tensor(*info);  // throws, naming the tensor and its type
  }
  for (const GgufTensorInfo& t : g.tensors())
    if (!expected.count(t.name))
      throw FormatError(g.path(), "unexpected tensor " + in_quotes(t.name) + " for the llama architecture");
}

PieceType piece_type(const GgufFile& g, int64_t v, size_t id) {
  // llama.cpp's LLAMA_TOKEN_TYPE_UNDEFINED (0) behaves as a normal piece.
  if (v == 0) return PieceType::Normal;
  if (v < 1 || v > 6)
    throw FormatError(g.path(), std::string(gguf_key::kTokenType) + "[" + std::to_string(id) +
                                    "] = " + std::to_string(v) + " is not a SentencePiece piece type (1-6)");
  return static_cast<PieceType>(v);
}

// A special-token id: u32 in the file, where 0xFFFFFFFF (llama.cpp's -1) means none.
int token_id(const GgufFile& g, const std::string& key, int fallback, size_t n_pieces) {
  if (!g.has(key)) return fallback;
  const uint64_t v = g.get_uint(key);
  if (v == 0xFFFFFFFFu) return -1;
  if (v >= n_pieces)
    throw FormatError(g.path(), key + " = " + std::to_string(v) + " is outside the vocabulary (" +
                                    std::to_string(n_pieces) + " pieces)");
  return static_cast<int>(v);
}

std::unique_ptr<Tokenizer> spm_from_metadata(const GgufFile& g) {
  SpmVocab v;
  v.pieces = g.get_string_array(gguf_key::kTokens);
  const size_t n = v.pieces.size();
  if (n == 0 || n > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw FormatError(g.path(), std::string(gguf_key::kTokens) + " has " + std::to_string(n) + " pieces");
  if (g.has(gguf_key::kScores)) {
    v.scores = g.get_float_array(gguf_key::kScores);
  } else {
    v.scores.assign(n, 0.0f);  // the spec: absent scores mean equal probability
  }
  if (v.scores.size() != n)
    throw FormatError(g.path(), std::string(gguf_key::kScores) + " has " + std::to_string(v.scores.size()) +
                                    " entries for " + std::to_string(n) + " pieces");
  if (g.has(gguf_key::kTokenType)) {
    const std::vector<int64_t> types = g.get_int_array(gguf_key::kTokenType);
    if (types.size() != n)
      throw FormatError(g.path(), std::string(gguf_key::kTokenType) + " has " + std::to_string(types.size()) +
                                      " entries for " + std::to_string(n) + " pieces");
    v.types.reserve(n);
    for (size_t i = 0; i < n; ++i) v.types.push_back(piece_type(g, types[i], i));
  }
  v.bos_id = token_id(g, gguf_key::kBosId, 1, n);
  v.eos_id = token_id(g, gguf_key::kEosId, 2, n);
  v.unk_id = token_id(g, gguf_key::kUnknownId, 0, n);
  if (g.has(gguf_key::kAddSpacePrefix)) v.add_space_prefix = g.get_bool(gguf_key::kAddSpacePrefix);
  const std::string description =
      "GGUF SentencePiece vocabulary, " + std::to_string(n) + " pieces, " + g.path();
  try {
    return std::make_unique<SpmTokenizer>(std::move(v), description);
  } catch (const InputError& e) {
    throw FormatError(g.path(), std::string("embedded tokenizer: ") + e.what());
  }
}

bool has_spm_tokenizer(const GgufFile& g) {
  return g.has(gguf_key::kTokenizerModel) && g.get_string(gguf_key::kTokenizerModel) == "llama";
}

}  // namespace

LoadedModel load_gguf(const std::string& path) {
  const GgufFile g(path);
  LoadedModel model;
  model.path = path;
  model.format = ModelFormat::Gguf;
  model.format_detail = "GGUF v" + std::to_string(g.version());
  if (g.has(gguf_key::kName))
    model.notes.push_back(std::string(gguf_key::kName) + ": " + g.describe(gguf_key::kName));

  const Config config = read_llama_config(g, model.notes);
  TransformerWeights weights;
  weights.layers.resize(config.n_layers);
  const std::vector<WeightSlot> slots = llama_slots(config);
  check_llama_tensors(g, config, slots);

  int n_mapped = 0;
  std::map<std::string, int> converted;  // dtype name -> count
  for (const WeightSlot& s : slots) {
    const GgufTensorInfo& info = *g.find_tensor(gguf_tensor_name(s));
    bool mapped = false;
    weight_tensor(weights, s) = g.tensor(info, &mapped);
    model.tensors.push_back({info.name, dtype_of(info.type), info.shape(), mapped});
    if (mapped)
      ++n_mapped;
    else
      ++converted[ggml_type_name(info.type)];
  }
  if (config.tied_embeddings) weights.unembed = weights.embed;
  if (n_mapped)
    model.notes.push_back(std::to_string(n_mapped) + " F32 tensors used in place from the memory map");
  for (const auto& [type, count] : converted)
    model.notes.push_back(std::to_string(count) + " " + type + " tensors converted to float32");

  try {
    model.transformer = std::make_shared<const Transformer>(config, std::move(weights), path);
  } catch (const ConfigError& e) {
    throw FormatError(path, std::string("inconsistent hyper-parameters: ") + e.what());
  }

  if (has_spm_tokenizer(g)) {
    model.tokenizer = spm_from_metadata(g);
    if (model.tokenizer->vocab_size() != config.d_vocab)
      throw FormatError(path, "embedded vocabulary has " + std::to_string(model.tokenizer->vocab_size()) +
                                  " pieces but token_embd.weight has " + std::to_string(config.d_vocab) +
                                  " rows");
    model.notes.push_back("tokenizer: " + model.tokenizer->describe());
  } else if (g.has(gguf_key::kTokenizerModel)) {
    model.notes.push_back(std::string(gguf_key::kTokenizerModel) + " is '" +
                          g.describe(gguf_key::kTokenizerModel) +
                          "', not SentencePiece ('llama'): no tokenizer loaded");
  } else {
    model.notes.push_back("no tokenizer in the metadata");
  }
  return model;
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path) {
  const GgufFile g(path);
  const std::string model = g.get_string(gguf_key::kTokenizerModel);
  if (model != "llama")
    throw FormatError(path, std::string(gguf_key::kTokenizerModel) + " is '" + printable(model) +
                                "'; resid reads only SentencePiece ('llama') vocabularies");
  return spm_from_metadata(g);
}

// ---- writing ----

namespace {

// The header (metadata and tensor infos) is assembled in memory: it is small next to the tensor data.
class HeaderWriter {
 public:
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void str(const std::string& s) {
    u64(s.size());
    buf_.append(s);
  }
  void key(const std::string& k, GgufType t) {
    str(k);
    u32(static_cast<uint32_t>(t));
    ++n_kv_;
  }
  void kv_u32(const std::string& k, uint32_t v) {
    key(k, GgufType::U32);
    u32(v);
  }
  void kv_f32(const std::string& k, float v) {
    key(k, GgufType::F32);
    raw(&v, 4);
  }
  void kv_bool(const std::string& k, bool v) {
    key(k, GgufType::Bool);
    buf_.push_back(v ? 1 : 0);
  }
  void kv_str(const std::string& k, const std::string& v) {
    key(k, GgufType::String);
    str(v);
  }
  void kv_strings(const std::string& k, const std::vector<std::string>& v) {
    array_header(k, GgufType::String, v.size());
    for (const std::string& s : v) str(s);
  }
  void kv_f32s(const std::string& k, const std::vector<float>& v) {
    array_header(k, GgufType::F32, v.size());
    raw(v.data(), 4 * v.size());
  }
  void kv_i32s(const std::string& k, const std::vector<int32_t>& v) {
    array_header(k, GgufType::I32, v.size());
    raw(v.data(), 4 * v.size());
  }
  void raw(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }
  void pad_to(uint64_t alignment) { buf_.append((alignment - buf_.size() % alignment) % alignment, '\0'); }

  const std::string& bytes() const { return buf_; }
  uint64_t n_kv() const { return n_kv_; }

 private:
  void array_header(const std::string& k, GgufType element, uint64_t count) {
    key(k, GgufType::Array);
    u32(static_cast<uint32_t>(element));
    u64(count);
  }
  std::string buf_;
  uint64_t n_kv_ = 0;
};

// GGUF's Q8_0 block: f16 scale d = max|x| / 127, then 32 int8 q = round(x / d); x ~= d * q.
void quantize_q8_0(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* v = x + 32 * b;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* block = out + 34 * b;
    const uint16_t h = f32_to_f16(d);
    std::memcpy(block, &h, 2);
    for (int j = 0; j < 32; ++j)
      block[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(v[j] * id)));
  }
}

std::vector<uint8_t> encode_tensor(const float* x, int64_t n, DType dtype) {
  std::vector<uint8_t> out(static_cast<size_t>(dtype_bytes(dtype, n)));
  switch (dtype) {
    case DType::F32:
      std::memcpy(out.data(), x, out.size());
      break;
    case DType::F16:
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = dtype == DType::F16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      break;
    case DType::Q8_0:
      quantize_q8_0(x, n, out.data());
      break;
    default:
      break;  // rejected by write_gguf
  }
  return out;
}

struct PlannedTensor {
  std::string name;
  const Tensor* tensor;
  int rope_heads;
  DType dtype;
  uint64_t offset;
};

// Norms stay F32 (as llama.cpp stores them); Q8_0 needs whole 32-value blocks per row, else F16.
DType storage_type(const Tensor& t, DType requested) {
  if (t.shape.size() < 2) return DType::F32;
  if (requested == DType::Q8_0 && t.shape.back() % 32 != 0) return DType::F16;
  return requested;
}

uint32_t file_type_of(DType t) {
  switch (t) {
    case DType::F16:
      return kFileTypeF16;
    case DType::BF16:
      return kFileTypeBF16;
    case DType::Q8_0:
      return kFileTypeQ8_0;
    default:
      return kFileTypeF32;
  }
}

void write_llama_metadata(HeaderWriter& h, const std::string& path, const Config& c, DType dtype) {
  h.kv_str(gguf_key::kArchitecture, "llama");
  h.kv_str(gguf_key::kName, std::filesystem::path(path).stem().string());
  h.kv_u32(gguf_key::kAlignment, static_cast<uint32_t>(kDefaultAlignment));
  h.kv_u32(gguf_key::kFileType, file_type_of(dtype));
  if (dtype == DType::Q8_0) h.kv_u32(gguf_key::kQuantizationVersion, 2);  // required when quantized
  h.kv_u32(gguf_key::kContextLength, c.n_ctx);
  h.kv_u32(gguf_key::kEmbeddingLength, c.d_model);
  h.kv_u32(gguf_key::kBlockCount, c.n_layers);
  h.kv_u32(gguf_key::kFeedForwardLength, c.d_mlp);
  h.kv_u32(gguf_key::kHeadCount, c.n_heads);
  h.kv_u32(gguf_key::kHeadCountKv, c.n_kv_heads);
  if (c.d_head * c.n_heads != c.d_model) {  // llama.cpp assumes d_model / n_heads otherwise
    h.kv_u32(gguf_key::kKeyLength, c.d_head);
    h.kv_u32(gguf_key::kValueLength, c.d_head);
  }
  h.kv_u32(gguf_key::kRopeDimensionCount, c.d_head);
  h.kv_f32(gguf_key::kRopeFreqBase, c.rotary_base);
  h.kv_f32(gguf_key::kRmsEpsilon, c.eps);
  h.kv_u32(gguf_key::kVocabSize, c.d_vocab);
}

void write_tokenizer_metadata(HeaderWriter& h, const std::string& path, const Tokenizer& tok, int d_vocab) {
  const auto* spm = dynamic_cast<const SpmTokenizer*>(&tok);
  if (!spm)
    throw InputError(path +
                     ": GGUF needs the tokenizer's SentencePiece scores and piece types, which only an "
                     "SpmTokenizer exposes (got " +
                     tok.describe() + ")");
  const SpmVocab& v = spm->vocab();
  if (static_cast<int>(v.pieces.size()) != d_vocab)
    throw InputError(path + ": tokenizer has " + std::to_string(v.pieces.size()) +
                     " pieces but the model's vocabulary is d_vocab = " + std::to_string(d_vocab));
  std::vector<int32_t> types;
  for (int id = 0; id < d_vocab; ++id) types.push_back(static_cast<int32_t>(spm->type(id)));
  std::vector<float> scores = v.scores;
  if (scores.empty()) scores.assign(v.pieces.size(), 0.0f);
  // -1 (none) is written as llama.cpp writes it: 0xFFFFFFFF.
  auto id = [](int i) { return i < 0 ? 0xFFFFFFFFu : static_cast<uint32_t>(i); };
  h.kv_str(gguf_key::kTokenizerModel, "llama");
  h.kv_strings(gguf_key::kTokens, v.pieces);
  h.kv_f32s(gguf_key::kScores, scores);
  h.kv_i32s(gguf_key::kTokenType, types);
  h.kv_u32(gguf_key::kBosId, id(v.bos_id));
  h.kv_u32(gguf_key::kEosId, id(v.eos_id));
  h.kv_u32(gguf_key::kUnknownId, id(v.unk_id));
  h.kv_bool(gguf_key::kAddSpacePrefix, v.add_space_prefix);
  h.kv_bool(gguf_key::kAddBos, true);
  h.kv_bool(gguf_key::kAddEos, false);
}

void check_writable(const std::string& path, const Config& config, const TransformerWeights& weights,
                    DType dtype) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16 && dtype != DType::Q8_0)
    throw InputError(path + ": GGUF tensors can be written as F32, F16, BF16 or Q8_0, not " +
                     dtype_name(dtype));
  config.validate();
  if (!config.gated_mlp || config.act_fn != ActFn::SiLU)
    throw InputError(path + ": GGUF's llama architecture is SwiGLU; this model's FFN is " +
                     config.ffn_name());
  try {
    check_weight_shapes(config, weights, path);
  } catch (const FormatError& e) {
    throw InputError(e.what());  // the caller's weights are wrong, not a file
  }
}

}  // namespace

void write_gguf(const std::string& path, const Config& config, const TransformerWeights& weights,
                const Tokenizer* tokenizer, DType dtype) {
  check_writable(path, config, weights, dtype);

  std::vector<PlannedTensor> plan;
  uint64_t data_size = 0;
  for (const WeightSlot& s : llama_slots(config)) {
    // GGUF pairs adjacent q/k rows; Half-style (Hugging Face) rows are permuted to that layout.
    const int rope_heads = config.rotary_style == RotaryStyle::Half ? rotary_heads(s, config) : 0;
    const Tensor& tensor = weight_tensor(weights, s);
    const DType t = storage_type(tensor, dtype);
    plan.push_back({gguf_tensor_name(s), &tensor, rope_heads, t, data_size});
    const uint64_t bytes = static_cast<uint64_t>(dtype_bytes(t, tensor.numel()));
    data_size += (bytes + kDefaultAlignment - 1) / kDefaultAlignment * kDefaultAlignment;
  }

  HeaderWriter meta;
  write_llama_metadata(meta, path, config, dtype);
  if (tokenizer) write_tokenizer_metadata(meta, path, *tokenizer, config.d_vocab);

  HeaderWriter head;
  head.u32(kMagic);
  head.u32(kVersion);
  head.u64(plan.size());
  head.u64(meta.n_kv());
  head.raw(meta.bytes().data(), meta.bytes().size());
  for (const PlannedTensor& p : plan) {
    head.str(p.name);
    const std::vector<int64_t>& shape = p.tensor->shape;
    head.u32(static_cast<uint32_t>(shape.size()));
    for (auto it = shape.rbegin(); it != shape.rend(); ++it)
      head.u64(static_cast<uint64_t>(*it));  // ne order
    head.u32(static_cast<uint32_t>(ggml_type_of(p.dtype)));
    head.u64(p.offset);
  }
  head.pad_to(kDefaultAlignment);

  AtomicFile out(path);
  out.write(head.bytes().data(), head.bytes().size());
  static const char kZeros[kDefaultAlignment] = {};
  for (const PlannedTensor& p : plan) {
    const Tensor& t = *p.tensor;
    const Tensor src = p.rope_heads ? permute_qk_rows(t, p.rope_heads, RotaryStyle::Interleaved) : t;
    const std::vector<uint8_t> bytes = encode_tensor(src.data, t.numel(), p.dtype);
    out.write(bytes.data(), bytes.size());
    out.write(kZeros, (kDefaultAlignment - bytes.size() % kDefaultAlignment) % kDefaultAlignment);
  }
  out.commit();
}

}  // namespace resid
