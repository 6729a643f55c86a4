// GGUF v3 (llama.cpp): header, metadata key/values, tensor infos, aligned tensor data. The llama architecture
// with F32, F16, BF16 and Q8_0 tensors; hyper-parameters and the SentencePiece vocabulary come from the
// metadata.
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
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/formats/model_file.h"
#include "core/mapped_file.h"

namespace resid {

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

// Loads weights, config and the embedded tokenizer (if the metadata has one).
LoadedModel load_gguf(const std::string& path);

// Loads only the tokenizer from a GGUF file's metadata (works on vocab-only files).
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path);

// Writes a llama-architecture GGUF v3 file (tensor data as `dtype`: F32, F16 or Q8_0; BF16 is accepted too),
// with the tokenizer's vocabulary in the metadata when one is given. Permutes Half-style q/k rows to GGUF's
// interleaved convention. 1-D tensors (norms) are always F32, as llama.cpp stores them; with Q8_0, matrices
// whose rows are not a multiple of 32 long are stored as F16 (llama.cpp's fallback). Writes a temporary file
// in the same directory and renames it over `path`. Throws InputError for configs GGUF's llama cannot express
// (non-SwiGLU FFNs) or a tokenizer without SentencePiece scores, FormatError naming `path` when writing
// fails.
void write_gguf(const std::string& path, const Config& config, const TransformerWeights& weights,
                const Tokenizer* tokenizer = nullptr, DType dtype = DType::F32);

}  // namespace resid
