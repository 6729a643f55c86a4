#include "core/formats/safetensors.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"

namespace resid {

namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we, so a hostile length cannot make us
// parse (and allocate for) gigabytes of JSON.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

// Messages must stay on one line; nlohmann's texts occasionally quote raw input.
std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

// Names as they appear in safetensors headers. Integer types are recorded (so `resid info` can list them) but
// tensor() refuses them.
bool parse_dtype(const std::string& s, DType* out) {
  static const std::pair<const char*, DType> kNames[] = {{"F32", DType::F32},   {"F16", DType::F16},
                                                         {"BF16", DType::BF16}, {"I8", DType::I8},
                                                         {"I32", DType::I32},   {"I64", DType::I64}};
  for (const auto& [name, t] : kNames) {
    if (s == name) {
      *out = t;
      return true;
    }
  }
  return false;
}

bool is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

int64_t element_size(DType t) {
  return dtype_bytes(t, 1);
}

// A JSON value that must be a non-negative integer (safetensors has no other kind of number).
uint64_t as_u64(const json& v, const std::string& path, const std::string& what) {
  if (!v.is_number_unsigned()) {
    if (v.is_number_integer()) throw FormatError(path, what + " is negative (" + v.dump() + ")");
    throw FormatError(path, what + " must be a non-negative integer, got " + one_line(v.dump()));
  }
  return v.get<uint64_t>();
}

std::vector<int64_t> parse_shape(const json& v, const std::string& path, const std::string& name) {
  if (!v.is_array()) throw FormatError(path, "tensor '" + name + "': shape must be an array");
  std::vector<int64_t> shape;
  for (size_t i = 0; i < v.size(); ++i) {
    const uint64_t d = as_u64(v[i], path, "tensor '" + name + "': shape[" + std::to_string(i) + "]");
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw FormatError(path, "tensor '" + name + "': shape[" + std::to_string(i) +
                                  "] = " + std::to_string(d) + " is too large");
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

// Bytes the shape needs in `t`, or throws if the element count or byte count overflows 64 bits.
uint64_t shape_bytes(const std::vector<int64_t>& shape, DType t, const std::string& path,
                     const std::string& name) {
  uint64_t n = 1;  // a scalar (empty shape) holds one element
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n))
      throw FormatError(path, "tensor '" + name + "': shape " + shape_string(shape) + " overflows 64 bits");
  }
  uint64_t bytes;
  if (__builtin_mul_overflow(n, static_cast<uint64_t>(element_size(t)), &bytes))
    throw FormatError(path, "tensor '" + name + "': shape " + shape_string(shape) + " overflows 64 bits");
  return bytes;
}

SafetensorsEntry parse_entry(const std::string& name, const json& v, const MappedFile& file,
                             uint64_t data_start, uint64_t data_size) {
  const std::string& path = file.path();
  const std::string shown = one_line(name);
  const std::string where = "tensor '" + shown + "'";
  if (!v.is_object()) throw FormatError(path, where + ": header entry must be an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) throw FormatError(path, where + ": header entry has no '" + key + "'");

  SafetensorsEntry e{};
  const json& dtype = v["dtype"];
  if (!dtype.is_string()) throw FormatError(path, where + ": dtype must be a string");
  if (!parse_dtype(dtype.get<std::string>(), &e.dtype))
    throw FormatError(path, where + " has unsupported dtype '" + one_line(dtype.get<std::string>()) +
                                "' (expected F32, F16, BF16, I8, I32 or I64)");
  e.shape = parse_shape(v["shape"], path, shown);

  const json& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    throw FormatError(path, where + ": data_offsets must be [begin, end]");
  const uint64_t begin = as_u64(offsets[0], path, where + ": data_offsets[0]");
  const uint64_t end = as_u64(offsets[1], path, where + ": data_offsets[1]");
  if (begin > end)
    throw FormatError(path, where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                "] end before they begin");
  if (end > data_size)
    throw FormatError(path, where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                "] run past the end of the data section (" + std::to_string(data_size) +
                                " bytes; truncated?)");
  e.nbytes = end - begin;
  const uint64_t expected = shape_bytes(e.shape, e.dtype, path, shown);
  if (expected != e.nbytes)
    throw FormatError(path, where + ": shape " + shape_string(e.shape) + " of " + dtype_name(e.dtype) +
                                " needs " + std::to_string(expected) + " bytes but data_offsets give " +
                                std::to_string(e.nbytes));
  e.bytes = file.at(data_start + begin, e.nbytes, where);
  return e;
}

std::map<std::string, std::string> parse_metadata(const json& v, const std::string& path) {
  if (!v.is_object()) throw FormatError(path, "__metadata__ must be an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string())
      throw FormatError(
          path, "__metadata__['" + one_line(key) + "'] must be a string, got " + one_line(value.dump()));
    out[key] = value.get<std::string>();
  }
  return out;
}

// ---- writing ----

// Converts in bounded chunks so writing a large model needs no second full-size buffer.
void write_tensor_data(AtomicFile& out, const Tensor& t, DType dtype) {
  const int64_t n = t.numel();
  if (dtype == DType::F32) {
    out.write(t.data, static_cast<size_t>(n) * 4);
    return;
  }
  constexpr int64_t kChunk = 1 << 16;
  std::vector<uint16_t> buf;
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t m = std::min(kChunk, n - i);
    buf.resize(m);
    for (int64_t j = 0; j < m; ++j)
      buf[j] = dtype == DType::F16 ? f32_to_f16(t.data[i + j]) : f32_to_bf16(t.data[i + j]);
    out.write(buf.data(), static_cast<size_t>(m) * 2);
  }
}

// Two tensors sharing bytes would alias each other's weights; the reference implementation refuses it too.
void check_no_overlap(const std::map<std::string, SafetensorsEntry>& entries, const MappedFile& file) {
  std::vector<std::pair<const uint8_t*, const std::string*>> starts;  // non-empty tensors by first byte
  for (const auto& [name, e] : entries)
    if (e.nbytes > 0) starts.push_back({e.bytes, &name});
  std::sort(starts.begin(), starts.end());
  for (size_t i = 1; i < starts.size(); ++i) {
    const SafetensorsEntry& prev = entries.at(*starts[i - 1].second);
    if (starts[i].first < prev.bytes + prev.nbytes)
      throw FormatError(file.path(), "tensors '" + one_line(*starts[i - 1].second) + "' and '" +
                                         one_line(*starts[i].second) + "' overlap in data_offsets");
  }
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(MappedFile::open(path)) {
  const MappedFile& f = *file_;
  uint64_t header_len;
  std::memcpy(&header_len, f.at(0, 8, "header length"), 8);  // little-endian hosts only (x86-64, arm64)
  const uint8_t* text = f.at(8, header_len, "JSON header of " + std::to_string(header_len) + " bytes");
  if (header_len > kMaxHeaderBytes)
    throw FormatError(path, "JSON header of " + std::to_string(header_len) +
                                " bytes exceeds the 100 MB limit (not a safetensors file?)");
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = f.size() - data_start;

  json header;
  try {
    header = json::parse(text, text + header_len);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw FormatError(path, "invalid JSON header: " + one_line(e.what()));
  }
  if (!header.is_object()) throw FormatError(path, "JSON header must be an object");
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      metadata_ = parse_metadata(value, path);
    } else {
      entries_.emplace(name, parse_entry(name, value, f, data_start, data_size));
    }
  }
  check_no_overlap(entries_, f);
}

Tensor SafetensorsFile::tensor(const std::string& name, bool* mapped) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw FormatError(path(), "missing tensor '" + name + "'");
  const SafetensorsEntry& e = it->second;
  if (!is_float(e.dtype))
    throw FormatError(
        path(), "tensor '" + name + "' has dtype " + dtype_name(e.dtype) + ", expected F32, F16 or BF16");
  // A scalar is one element; Tensor counts an empty shape as none.
  std::vector<int64_t> shape = e.shape.empty() ? std::vector<int64_t>{1} : e.shape;
  const int64_t n = static_cast<int64_t>(e.nbytes / element_size(e.dtype));
  // In place only when the floats are naturally aligned: writers pad the header to 8 bytes, but the format
  // does not require it, and a misaligned float load is undefined behaviour.
  const bool in_place = e.dtype == DType::F32 && reinterpret_cast<uintptr_t>(e.bytes) % alignof(float) == 0;
  if (mapped) *mapped = in_place;
  if (in_place) return Tensor::view(std::move(shape), reinterpret_cast<const float*>(e.bytes), file_);
  std::vector<float> values(static_cast<size_t>(n));
  convert_to_f32(e.dtype, e.bytes, n, values.data());
  return Tensor::owned(std::move(shape), std::move(values));
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata, DType dtype) {
  if (!is_float(dtype))
    throw InputError(path + ": safetensors weights can be written as F32, F16 or BF16, not " +
                     dtype_name(dtype));
  // Sorted by name: the header (nlohmann objects are sorted maps) and the data use the same order, so the
  // same tensors always give the same bytes.
  std::map<std::string, const Tensor*> sorted;
  for (const NamedTensor& nt : tensors) {
    if (nt.name.empty() || nt.name == "__metadata__")
      throw InputError(path + ": invalid tensor name '" + nt.name + "'");
    if (!nt.tensor || (nt.tensor->empty() && nt.tensor->numel() != 0))
      throw InputError(path + ": tensor '" + nt.name + "' has no data");
    if (!sorted.emplace(nt.name, nt.tensor).second)
      throw InputError(path + ": tensor '" + nt.name + "' given twice");
  }

  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    const uint64_t bytes = static_cast<uint64_t>(dtype_bytes(dtype, t->numel()));
    header[name] = {
        {"dtype", dtype_name(dtype)}, {"shape", t->shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // names or metadata that are not valid UTF-8
    throw InputError(path + ": cannot write the header: " + one_line(e.what()));
  }
  // Spaces are valid JSON padding; 8-byte alignment lets readers map every dtype in place.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  const uint64_t header_len = text.size();

  AtomicFile out(path);
  out.write(&header_len, 8);
  out.write(text.data(), text.size());
  for (const auto& [name, t] : sorted) write_tensor_data(out, *t, dtype);
  out.commit();
}

}  // namespace resid
