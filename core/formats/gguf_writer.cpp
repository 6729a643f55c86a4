// GgufWriter: the write side of the GGUF container (see gguf_file.h).
#include <cmath>
#include <cstring>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/formats/gguf_file.h"

namespace resid {

namespace {

GgmlType ggml_type_of(DType t) {
  switch (t) {
    case DType::F16: return GgmlType::F16;
    case DType::BF16: return GgmlType::BF16;
    case DType::Q8_0: return GgmlType::Q8_0;
    default: return GgmlType::F32;
  }
}

void put(std::string& b, const void* p, size_t n) {
  b.append(static_cast<const char*>(p), n);
}
void put_u32(std::string& b, uint32_t v) {
  put(b, &v, 4);
}
void put_u64(std::string& b, uint64_t v) {
  put(b, &v, 8);
}
void put_str(std::string& b, const std::string& s) {
  put_u64(b, s.size());
  b.append(s);
}
void pad_to(std::string& b, uint64_t alignment) {
  b.append((alignment - b.size() % alignment) % alignment, '\0');
}

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
    case DType::F32: std::memcpy(out.data(), x, out.size()); break;
    case DType::F16:
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = dtype == DType::F16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      break;
    case DType::Q8_0: quantize_q8_0(x, n, out.data()); break;
    default: break;  // rejected by write_gguf
  }
  return out;
}

uint64_t shape_numel(const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

}  // namespace

void GgufWriter::key(const std::string& k, GgufType t) {
  put_str(meta_, k);
  put_u32(meta_, static_cast<uint32_t>(t));
  ++n_kv_;
}

void GgufWriter::array_header(const std::string& k, GgufType element, uint64_t count) {
  key(k, GgufType::Array);
  put_u32(meta_, static_cast<uint32_t>(element));
  put_u64(meta_, count);
}

void GgufWriter::kv_u32(const std::string& k, uint32_t v) {
  key(k, GgufType::U32);
  put_u32(meta_, v);
}

void GgufWriter::kv_f32(const std::string& k, float v) {
  key(k, GgufType::F32);
  put(meta_, &v, 4);
}

void GgufWriter::kv_bool(const std::string& k, bool v) {
  key(k, GgufType::Bool);
  meta_.push_back(v ? 1 : 0);
}

void GgufWriter::kv_str(const std::string& k, const std::string& v) {
  key(k, GgufType::String);
  put_str(meta_, v);
}

void GgufWriter::kv_strings(const std::string& k, const std::vector<std::string>& v) {
  array_header(k, GgufType::String, v.size());
  for (const std::string& s : v) put_str(meta_, s);
}

void GgufWriter::kv_f32s(const std::string& k, const std::vector<float>& v) {
  array_header(k, GgufType::F32, v.size());
  put(meta_, v.data(), 4 * v.size());
}

void GgufWriter::kv_i32s(const std::string& k, const std::vector<int32_t>& v) {
  array_header(k, GgufType::I32, v.size());
  put(meta_, v.data(), 4 * v.size());
}

void GgufWriter::add_tensor(std::string name, std::vector<int64_t> shape, DType dtype,
                            std::function<Tensor()> data) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16 && dtype != DType::Q8_0)
    throw InputError(name + ": GGUF tensors can be F32, F16, BF16 or Q8_0, not " + dtype_name(dtype));
  const uint64_t bytes = static_cast<uint64_t>(dtype_bytes(dtype, static_cast<int64_t>(shape_numel(shape))));
  tensors_.push_back({std::move(name), std::move(shape), dtype, std::move(data), data_size_});
  data_size_ += (bytes + kGgufAlignment - 1) / kGgufAlignment * kGgufAlignment;
}

void GgufWriter::write(const std::string& path) const {
  std::string head;
  put_u32(head, kGgufMagic);
  put_u32(head, kGgufVersion);
  put_u64(head, tensors_.size());
  put_u64(head, n_kv_);
  head.append(meta_);
  for (const Planned& p : tensors_) {
    put_str(head, p.name);
    put_u32(head, static_cast<uint32_t>(p.shape.size()));
    for (auto it = p.shape.rbegin(); it != p.shape.rend(); ++it)
      put_u64(head, static_cast<uint64_t>(*it));  // ne order
    put_u32(head, static_cast<uint32_t>(ggml_type_of(p.dtype)));
    put_u64(head, p.offset);
  }
  pad_to(head, kGgufAlignment);

  AtomicFile out(path);
  out.write(head.data(), head.size());
  static const char kZeros[kGgufAlignment] = {};
  for (const Planned& p : tensors_) {
    const Tensor t = p.data();  // produced now, so only one converted tensor is held at a time
    const std::vector<uint8_t> bytes = encode_tensor(t.data, t.numel(), p.dtype);
    out.write(bytes.data(), bytes.size());
    out.write(kZeros, (kGgufAlignment - bytes.size() % kGgufAlignment) % kGgufAlignment);
  }
  out.commit();
}

}  // namespace resid
