// Element type tables and half/bfloat16 conversions.
#include "runtime/DType.h"

#include <cstring>

namespace plumb {

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F64:
  case DType::I64:
  case DType::U64:
    return 8;
  case DType::F32:
  case DType::I32:
  case DType::U32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
  case DType::U16:
    return 2;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
  case DType::F8E4M3FN:
  case DType::F8E4M3FNUZ:
  case DType::F8E5M2:
  case DType::F8E5M2FNUZ:
  case DType::U4:
  case DType::I4:
  case DType::F4E2M1:
  case DType::F8E8M0:
    return 1;
  }
  return 1;
}

namespace {
struct DTypeInfo {
  DType type;
  const char *name;
  int32_t onnx;
  const char *numpy;
};
// ONNX codes from onnx.proto's TensorProto.DataType.
constexpr DTypeInfo kInfo[] = {
    {DType::F32, "f32", 1, "<f4"},   {DType::F16, "f16", 10, "<f2"},
    {DType::BF16, "bf16", 16, "|V2"}, {DType::F64, "f64", 11, "<f8"},
    {DType::I64, "i64", 7, "<i8"},   {DType::I32, "i32", 6, "<i4"},
    {DType::I8, "i8", 3, "|i1"},     {DType::U8, "u8", 2, "|u1"},
    {DType::Bool, "bool", 9, "|b1"}, {DType::I16, "i16", 5, "<i2"},
    {DType::U16, "u16", 4, "<u2"},   {DType::U32, "u32", 12, "<u4"},
    {DType::U64, "u64", 13, "<u8"},
    // After the types above so that reading "|i1"/"|u1" finds i8/u8 first.
    {DType::F8E4M3FN, "f8e4m3fn", 17, "|V1"},
    {DType::F8E4M3FNUZ, "f8e4m3fnuz", 18, "|V1"},
    {DType::F8E5M2, "f8e5m2", 19, "|V1"},
    {DType::F8E5M2FNUZ, "f8e5m2fnuz", 20, "|V1"},
    {DType::U4, "u4", 21, "|u1"},
    {DType::I4, "i4", 22, "|i1"},
    {DType::F4E2M1, "f4e2m1", 23, "|V1"},
    {DType::F8E8M0, "f8e8m0", 24, "|V1"},
};
const DTypeInfo &info(DType t) {
  for (const auto &i : kInfo)
    if (i.type == t)
      return i;
  return kInfo[0];
}
} // namespace

const char *dtypeName(DType t) { return info(t).name; }

std::optional<DType> dtypeFromName(std::string_view name) {
  for (const auto &i : kInfo)
    if (name == i.name)
      return i.type;
  return std::nullopt;
}

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64;
}
bool isSmallFloat(DType t) {
  switch (t) {
  case DType::F8E4M3FN:
  case DType::F8E4M3FNUZ:
  case DType::F8E5M2:
  case DType::F8E5M2FNUZ:
  case DType::F4E2M1:
  case DType::F8E8M0:
    return true;
  default:
    return false;
  }
}
bool isInteger(DType t) { return !isFloat(t) && !isSmallFloat(t) && t != DType::Bool; }
bool isSigned(DType t) {
  return t == DType::I64 || t == DType::I32 || t == DType::I16 || t == DType::I8 ||
         t == DType::I4 || isFloat(t) || (isSmallFloat(t) && t != DType::F8E8M0);
}
bool isPacked4Bit(DType t) { return t == DType::I4 || t == DType::U4 || t == DType::F4E2M1; }

std::optional<std::pair<double, double>> integerRange(DType t) {
  switch (t) {
  case DType::I4: return std::pair{-8.0, 7.0};
  case DType::U4: return std::pair{0.0, 15.0};
  case DType::I8: return std::pair{-128.0, 127.0};
  case DType::U8: return std::pair{0.0, 255.0};
  case DType::I16: return std::pair{-32768.0, 32767.0};
  case DType::U16: return std::pair{0.0, 65535.0};
  case DType::I32: return std::pair{-2147483648.0, 2147483647.0};
  case DType::U32: return std::pair{0.0, 4294967295.0};
  case DType::I64: return std::pair{-9223372036854775808.0, 9223372036854775807.0};
  case DType::U64: return std::pair{0.0, 18446744073709551615.0};
  default: return std::nullopt;
  }
}

std::optional<DType> dtypeFromOnnx(int32_t onnxType) {
  for (const auto &i : kInfo)
    if (i.onnx == onnxType)
      return i.type;
  return std::nullopt;
}
int32_t dtypeToOnnx(DType t) { return info(t).onnx; }

std::optional<DType> dtypeFromNumpyDescr(std::string_view d) {
  // Byte order: '<' little, '|' not applicable, '=' native (little on our targets).
  if (d.size() < 2)
    return std::nullopt;
  char order = d[0];
  if (order != '<' && order != '|' && order != '=')
    return std::nullopt;
  std::string_view code = d.substr(1);
  if (code == "V2")
    return DType::BF16;
  if (code == "V1") // which one-byte float it holds is not recorded
    return std::nullopt;
  for (const auto &i : kInfo)
    if (code == std::string_view(i.numpy).substr(1))
      return i.type;
  return std::nullopt;
}
const char *dtypeToNumpyDescr(DType t) { return info(t).numpy; }

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) // Inf or NaN
    return uint16_t(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
  if (absx >= 0x477ff000u) // rounds to >= 65520: overflow to Inf
    return uint16_t(sign | 0x7c00u);
  if (absx < 0x38800000u) { // subnormal half (or zero)
    // value = absx as float; half subnormal unit is 2^-24.
    float a;
    std::memcpy(&a, &absx, 4);
    // Scale so that the integer part is the subnormal mantissa, round to nearest even.
    float scaled = a * 16777216.0f; // 2^24
    uint32_t m = uint32_t(scaled);
    float rem = scaled - float(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1u)))
      ++m;
    return uint16_t(sign | m);
  }
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t mant = absx & 0x7fffffu;
  uint32_t half = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
    ++half; // may carry into the exponent, which is correct
  return uint16_t(sign | half);
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else { // subnormal: normalise
      float v = float(mant) / 16777216.0f;
      std::memcpy(&x, &v, 4);
      x |= sign;
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) // NaN: keep it quiet and NaN
    return uint16_t((x >> 16) | 0x40u);
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return uint16_t(x >> 16);
}

float bf16ToFloat(uint16_t b) {
  uint32_t x = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

} // namespace plumb
