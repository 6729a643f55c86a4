// The safetensors container: u64 little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets}, "__metadata__": {...}}, then the raw tensor bytes.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/tensor.h"

namespace resid {

struct SafetensorsEntry {
  DType dtype;
  std::vector<int64_t> shape;
  const uint8_t* bytes;  // inside the map
  uint64_t nbytes;
};

class SafetensorsFile {
 public:
  // Validates the header completely: JSON, dtypes, shapes against byte ranges, ranges inside the file.
  explicit SafetensorsFile(const std::string& path);
  const std::string& path() const { return file_->path(); }
  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has(const std::string& name) const { return entries_.count(name) > 0; }
  // A float32 tensor: F32 viewed in place through the map (`mapped` = true), F16/BF16 converted.
  // Throws FormatError naming the file if missing or not a float type.
  Tensor tensor(const std::string& name, bool* mapped = nullptr) const;

 private:
  std::shared_ptr<const MappedFile> file_;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

struct NamedTensor {
  std::string name;
  const Tensor* tensor;
};

// Writes tensors (stored as `dtype`: F32, F16 or BF16) atomically: to a temporary file renamed into place.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {}, DType dtype = DType::F32);

}  // namespace resid
