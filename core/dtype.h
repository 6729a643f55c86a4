// On-disk element types and their conversion to float32.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace resid {

enum class DType { F32, F16, BF16, Q8_0, I8, I32, I64 };

std::string dtype_name(DType t);

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round-to-nearest-even, NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Converts n elements of `src` (of type t) to float32. Q8_0 here is GGUF's block layout (f16 scale + 32
// int8).
void convert_to_f32(DType t, const void* src, int64_t n, float* dst);

// Bytes taken by n elements of t (n must be a multiple of 32 for Q8_0).
int64_t dtype_bytes(DType t, int64_t n);

}  // namespace resid
