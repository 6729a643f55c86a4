// The GGUF v3 container (llama.cpp): header, metadata key/values, tensor infos, aligned tensor data. Reads
// (gguf_file.cpp) and writes (gguf_writer.cpp) any GGUF file; what the keys and tensors mean for a Llama
// model is core/formats/gguf.h's business.
//
// Layout (all little-endian; strings are a u64 byte length + UTF-8 bytes, no terminator):
//   u32 magic 'GGUF', u32 version (3), u64 tensor_count, u64 metadata_kv_count,
//   metadata_kv_count x { string key, u32 value type, value }   (arrays: u32 element type, u64 count, values)
//   tensor_count x { string name, u32 n_dims (<= 4), u64 ne[n_dims], u32 ggml type, u64 offset }
//   zero padding to general.alignment (default 32), then the data section; each tensor's offset is relative
//   to the data section and a multiple of the alignment.
// ne[0] is the fastest-varying dimension, so a PyTorch [rows, cols] matrix is stored with ne = {cols, rows};
// GgufTensorInfo::shape() gives the PyTorch order.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/tensor.h"

namespace resid {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kGgufVersion = 3;         // the only version resid reads and writes
// The alignment resid writes (and GGUF's default when general.alignment is absent).
inline constexpr uint64_t kGgufAlignment = 32;

// Metadata value types, numbered as in the file.
enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
std::string gguf_type_name(GgufType t);  // "u32", "string", "array"...

// One metadata value. Scalars are decoded at open; arrays stay in the map and are decoded on request, so a
// 32,000-piece vocabulary costs nothing until the tokenizer is built.
struct GgufValue {
  GgufType type = GgufType::U8;
  // Scalars: unsigned integers as uint64_t, signed as int64_t, floats as double, bool, string.
  std::variant<std::monostate, uint64_t, int64_t, double, bool, std::string> scalar;
  // Arrays only.
  GgufType element_type = GgufType::U8;
  uint64_t count = 0;
  uint64_t elements_offset = 0;  // file offset of the first element
};

// ggml tensor type numbers resid reads (others are listed by number and name in messages).
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 };
std::string ggml_type_name(uint32_t type);  // "Q4_K", or "unknown" for numbers ggml does not define

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // GGUF order: ne[0] varies fastest
  uint32_t type = 0;        // ggml type number
  uint64_t offset = 0;      // relative to the data section
  uint64_t nbytes = 0;      // data size; 0 for types resid cannot size (then the range is not checked)
  bool readable = false;    // F32, F16, BF16 or Q8_0

  std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }  // PyTorch order
  int64_t numel() const;
};

// A parsed GGUF file. The constructor validates the whole structure (every length, count and tensor range is
// checked against the file before use) and throws FormatError naming the path and the problem.
class GgufFile {
 public:
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section

  // Metadata keys in file order.
  const std::vector<std::string>& keys() const { return keys_; }
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  // Throws FormatError "missing required metadata key '<key>'".
  const GgufValue& value(const std::string& key) const;

  // Typed getters: throw FormatError naming the key when it is missing or has another type. Integer getters
  // accept every integer type whose value fits; float getters accept f32 and f64.
  std::string get_string(const std::string& key) const;
  uint64_t get_uint(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<float> get_float_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;
  // A short printable form for `resid info`: "llama", "64", "[array of 512 string]".
  std::string describe(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // The tensor as float32 in PyTorch shape order: F32 viewed in place through the map (`*mapped` = true),
  // F16/BF16/Q8_0 converted. Throws FormatError naming the tensor and its type number for any other type.
  Tensor tensor(const GgufTensorInfo& info, bool* mapped = nullptr) const;
  Tensor tensor(const std::string& name, bool* mapped = nullptr) const;

  std::shared_ptr<const MappedFile> file() const { return file_; }

 private:
  void parse_header(ByteReader& r, uint64_t* n_tensors, uint64_t* n_kv);
  void parse_metadata(ByteReader& r, uint64_t n_kv);
  void parse_tensor_infos(ByteReader& r, uint64_t n_tensors);
  void locate_tensor_data(uint64_t infos_end);

  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::string> keys_;
  std::map<std::string, GgufValue> values_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// True for the 'GGUF' magic.
bool sniff_gguf(const uint8_t* head, size_t size);

// The DType of a readable ggml tensor type (F32, F16, BF16, Q8_0).
DType ggml_dtype(uint32_t ggml_type);

// Keys and strings from a file made fit for a one-line message: control bytes shown as '?', long ones cut.
std::string gguf_printable(const std::string& s);

// Assembles a GGUF v3 file: metadata in the order added, then the tensor infos and the data, each tensor
// aligned to kGgufAlignment, in the order added. A tensor's values are produced only when it is written, so
// converted copies are held one at a time.
class GgufWriter {
 public:
  void kv_u32(const std::string& key, uint32_t v);
  void kv_f32(const std::string& key, float v);
  void kv_bool(const std::string& key, bool v);
  void kv_str(const std::string& key, const std::string& v);
  void kv_strings(const std::string& key, const std::vector<std::string>& v);
  void kv_f32s(const std::string& key, const std::vector<float>& v);
  void kv_i32s(const std::string& key, const std::vector<int32_t>& v);

  // `data` returns the float32 values of `shape` (PyTorch order); stored as `dtype` (F32, F16, BF16 or Q8_0,
  // else InputError; Q8_0 needs rows of whole 32-value blocks).
  void add_tensor(std::string name, std::vector<int64_t> shape, DType dtype, std::function<Tensor()> data);

  // Writes a temporary file in the same directory and renames it over `path`; FormatError naming `path` when
  // writing fails.
  void write(const std::string& path) const;

 private:
  void key(const std::string& k, GgufType t);
  void array_header(const std::string& k, GgufType element, uint64_t count);

  struct Planned {
    std::string name;
    std::vector<int64_t> shape;
    DType dtype;
    std::function<Tensor()> data;
    uint64_t offset;  // in the data section
  };
  std::string meta_;  // the metadata key/values as they go into the file
  uint64_t n_kv_ = 0;
  std::vector<Planned> tensors_;
  uint64_t data_size_ = 0;
};

}  // namespace resid
