// float8 / float4 / float8e8m0 encoding and decoding (ONNX's float8 and float4 pages, Cast).
#include "runtime/SmallFloat.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace plumb {
namespace {

// A sign/exponent/mantissa format of at most 8 bits.
struct Format {
  int expBits, mantBits, bias;
  bool hasInf;     // E5M2 only: exponent all ones is Inf (mantissa 0) or NaN
  bool uz;         // "UZ": no -0; the pattern of -0 (sign bit alone) is the only NaN
  uint8_t maxBits; // largest finite magnitude
  uint8_t signBit() const { return uint8_t(1u << (expBits + mantBits)); }
};

const Format &formatOf(DType t) {
  static const Format e4m3fn{4, 3, 7, false, false, 0x7e};
  static const Format e4m3fnuz{4, 3, 8, false, true, 0x7f};
  static const Format e5m2{5, 2, 15, true, false, 0x7b};
  static const Format e5m2fnuz{5, 2, 16, false, true, 0x7f};
  static const Format e2m1{2, 1, 1, false, false, 0x7};
  switch (t) {
  case DType::F8E4M3FNUZ: return e4m3fnuz;
  case DType::F8E5M2: return e5m2;
  case DType::F8E5M2FNUZ: return e5m2fnuz;
  case DType::F4E2M1: return e2m1;
  default: return e4m3fn;
  }
}

bool isNaNPattern(DType t, const Format &f, uint8_t bits) {
  uint8_t mag = uint8_t(bits & (f.signBit() - 1));
  uint8_t expMask = uint8_t(((1u << f.expBits) - 1) << f.mantBits);
  uint8_t mantMask = uint8_t((1u << f.mantBits) - 1);
  if (f.uz)
    return bits == f.signBit();
  if (t == DType::F8E4M3FN)
    return mag == (expMask | mantMask);
  if (f.hasInf)
    return (mag & expMask) == expMask && (mag & mantMask) != 0;
  return false;
}

uint8_t nanPattern(DType t, const Format &f, bool negative) {
  if (f.uz)
    return f.signBit();
  if (t == DType::F4E2M1) // no NaN: ml_dtypes (ONNX's reference) gives the -0 pattern
    return f.signBit();
  uint8_t sign = negative ? f.signBit() : 0;
  return t == DType::F8E5M2 ? uint8_t(sign | 0x7e) : uint8_t(sign | 0x7f);
}

// What a value beyond the finite range becomes.
uint8_t overflow(DType t, const Format &f, bool negative, bool saturate) {
  uint8_t sign = negative ? f.signBit() : 0;
  if (saturate || t == DType::F4E2M1)
    return uint8_t(sign | f.maxBits);
  if (f.hasInf)
    return uint8_t(sign | 0x7c);
  return nanPattern(t, f, negative);
}

} // namespace

float smallFloatToFloat(DType t, uint8_t bits) {
  if (t == DType::F8E8M0)
    return bits == 0xff ? std::nanf("") : std::ldexp(1.0f, int(bits) - 127);
  const Format &f = formatOf(t);
  bits = uint8_t(bits & ((f.signBit() << 1) - 1));
  if (isNaNPattern(t, f, bits))
    return std::nanf("");
  bool negative = (bits & f.signBit()) != 0;
  int exp = (bits >> f.mantBits) & ((1 << f.expBits) - 1);
  int mant = bits & ((1 << f.mantBits) - 1);
  float v;
  if (f.hasInf && exp == (1 << f.expBits) - 1)
    v = INFINITY;
  else if (exp == 0) // subnormal: mant * 2^(1 - bias - mantBits)
    v = std::ldexp(float(mant), 1 - f.bias - f.mantBits);
  else
    v = std::ldexp(float(mant + (1 << f.mantBits)), exp - f.bias - f.mantBits);
  return negative ? -v : v;
}

uint8_t floatToSmallFloat(DType t, double v, bool saturate) {
  if (t == DType::F8E8M0)
    return floatToE8M0(float(v), saturate, E8M0Rounding::Up);
  const Format &f = formatOf(t);
  bool negative = std::signbit(v);
  if (std::isnan(v))
    return nanPattern(t, f, negative);
  uint8_t sign = negative ? f.signBit() : 0;
  uint8_t zero = f.uz ? uint8_t(0) : sign;
  double a = std::fabs(v);
  if (std::isinf(a))
    return overflow(t, f, negative, saturate);
  if (a == 0)
    return zero;
  // The quantum at a's binade (never below the subnormal quantum); a / quantum is exact
  // and nearbyint rounds it to nearest, ties to even, in the default rounding mode.
  int exp2;
  std::frexp(a, &exp2); // a = m * 2^exp2, m in [0.5, 1)
  int e = std::max(exp2 - 1, 1 - f.bias);
  double r = std::nearbyint(a / std::ldexp(1.0, e - f.mantBits));
  double maxValue = smallFloatToFloat(t, f.maxBits);
  if (std::ldexp(r, e - f.mantBits) > maxValue)
    return overflow(t, f, negative, saturate);
  if (r == 0)
    return zero;
  int implicit = 1 << f.mantBits;
  int expField = 0, mant = int(r);
  if (mant >= implicit) {
    if (mant == 2 * implicit) { // rounding carried into the next binade
      ++e;
      mant = implicit;
    }
    expField = e + f.bias;
    mant -= implicit;
  }
  return uint8_t(sign | (expField << f.mantBits) | mant);
}

std::optional<E8M0Rounding> e8m0RoundingFromName(std::string_view name) {
  if (name == "up")
    return E8M0Rounding::Up;
  if (name == "down")
    return E8M0Rounding::Down;
  if (name == "nearest")
    return E8M0Rounding::Nearest;
  return std::nullopt;
}

uint8_t floatToE8M0(float v, bool saturate, E8M0Rounding mode) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  uint32_t exp = (bits >> 23) & 0xffu, mant = bits & 0x7fffffu;
  if (exp == 0xffu)
    return 0xff;
  bool up = false;
  if (mode == E8M0Rounding::Up) {
    up = mant != 0;
  } else if (mode == E8M0Rounding::Nearest) {
    bool guard = (mant >> 22) & 1u, round = (mant >> 21) & 1u, sticky = (mant & 0x1fffffu) != 0;
    up = guard && (round || sticky || exp > 0);
  }
  if (up) {
    if (exp == 0xfeu)
      return saturate ? 0xfe : 0xff;
    ++exp;
  }
  return uint8_t(exp);
}

} // namespace plumb
