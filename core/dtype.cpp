#include "core/dtype.h"

#include <cmath>

#include "core/error.h"

namespace resid {

std::string dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::Q8_0: return "Q8_0";
    case DType::I8: return "I8";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
  }
  return "?";
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: value = mant * 2^-24
      float f = std::ldexp(static_cast<float>(mant), -24);
      std::memcpy(&bits, &f, 4);
      bits |= sign;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u) return sign | 0x7e00;   // NaN
  if (absx >= 0x477ff000u) return sign | 0x7c00;  // overflow (incl. values rounding past 65504) -> inf
  if (absx < 0x38800000u) {                       // subnormal or zero in half
    float a;
    std::memcpy(&a, &absx, 4);
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f));  // a / 2^-24, ties to even
  }
  // normal: round mantissa from 23 to 10 bits, ties to even
  uint32_t rounded = absx + 0xfffu + ((absx >> 13) & 1u);
  return sign | static_cast<uint16_t>((rounded - (112u << 23)) >> 13);
}

int64_t dtype_bytes(DType t, int64_t n) {
  switch (t) {
    case DType::F32:
    case DType::I32: return 4 * n;
    case DType::F16:
    case DType::BF16: return 2 * n;
    case DType::I8: return n;
    case DType::I64: return 8 * n;
    case DType::Q8_0: return (n / 32) * 34;
  }
  return 0;
}

void convert_to_f32(DType t, const void* src, int64_t n, float* dst) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (t) {
    case DType::F32: std::memcpy(dst, src, 4 * n); return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case DType::Q8_0:
      for (int64_t b = 0; b < n / 32; ++b) {
        const uint8_t* block = bytes + 34 * b;
        uint16_t h;
        std::memcpy(&h, block, 2);
        const float scale = f16_to_f32(h);
        const auto* q = reinterpret_cast<const int8_t*>(block + 2);
        for (int j = 0; j < 32; ++j) dst[32 * b + j] = scale * q[j];
      }
      return;
    default: throw Error("convert_to_f32: " + dtype_name(t) + " is not a floating-point weight type");
  }
}

}  // namespace resid
