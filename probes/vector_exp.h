// exp(x) for double in plain arithmetic that the compiler vectorises (under `#pragma omp simd`), for the
// softmax of a logistic pass: ten exps per row, called through glibc one at a time, cost about a fifth of the
// pass. Accuracy: normal results within 1 ulp of glibc's exp as measured with FMA (the test allows 2, for
// targets where the compiler cannot contract the Horner steps), subnormal ones within 1e-323; 0 below -745.2,
// +inf above 709.79, NaN for NaN (tests/probes/test_vector_exp.cpp).
//
// Method: x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (ln2 split in two parts so n ln2 is
// exact), exp(r) by its Taylor series to r^13 (the first omitted term, r^14 / 14!, is below 5e-18 at
// |r| = 0.35), then the result scaled by 2^n through the exponent bits, in two halves so that subnormal
// results come out right.
#pragma once
#include <cstdint>
#include <cstring>

namespace resid::probes {

#pragma omp declare simd notinbranch
inline double vector_exp(double x) {
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kLn2High = 6.93147180369123816490e-01;  // the top 32 bits of ln 2: n * kLn2High is exact
  constexpr double kLn2Low = 1.90821492927058770002e-10;   // ln 2 - kLn2High
  constexpr double kRound = 0x1.8p52;                      // adding it rounds to an integer in the low bits
  // Clamp so that n stays within the exponent range; the selects at the end give 0 and inf outside it.
  const double xc = x < -746.0 ? -746.0 : (x > 710.0 ? 710.0 : x);
  const double shifted = xc * kLog2e + kRound;
  const double n = shifted - kRound;
  const double r = (xc - n * kLn2High) - n * kLn2Low;
  // Horner on 1 + r + r^2/2! + ... + r^13/13!.
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^n as 2^(n/2 rounded down) * 2^(n - that): each factor a normal double for n in [-1076, 1024].
  int64_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  const int64_t ni = (bits << 13) >> 13;  // the integer n from the low 51 bits, sign-extended
  const int64_t half = ni >> 1;
  const int64_t first_bits = (half + 1023) << 52, second_bits = (ni - half + 1023) << 52;
  double first, second;
  std::memcpy(&first, &first_bits, sizeof first);
  std::memcpy(&second, &second_bits, sizeof second);
  const double y = p * first * second;
  return x < -745.2 ? 0.0 : (x > 709.79 ? __builtin_inf() : (x != x ? x : y));
}

}  // namespace resid::probes
