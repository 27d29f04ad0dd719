// Conversions for ONNX's storage-only small types: the float8 formats, float8e8m0, float4e2m1
// and the 4-bit integers, with the rounding, saturation and NaN/Inf rules of ONNX Cast.
// MLIR-free. Bit patterns are one byte per element (see DType.h).
#pragma once

#include "runtime/DType.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace plumb {

// The exact value of a bit pattern of a small float type (f8*, f4e2m1, f8e8m0); every one
// is representable in float. NaN patterns give NaN, E5M2's infinities give infinities.
float smallFloatToFloat(DType t, uint8_t bits);

// The bit pattern nearest to `v` (round to nearest, ties to even) of f8e4m3fn, f8e4m3fnuz,
// f8e5m2, f8e5m2fnuz or f4e2m1. Values whose rounded magnitude exceeds the largest finite
// value, and infinities, become that largest value (with v's sign) when `saturate`;
// otherwise infinity for E5M2 and NaN for the formats without infinities. NaN stays NaN.
// The "UZ" formats have no -0: negative values that round to zero give +0.
// f4e2m1 has neither NaN nor infinity and always saturates; NaN gives 0x8 (the pattern of
// -0), which is what ONNX's reference (ml_dtypes) produces and its backend test data holds.
// `v` is a double so that f64 inputs are rounded once, not through f32.
uint8_t floatToSmallFloat(DType t, double v, bool saturate);

// ONNX Cast's `round_mode` for float8e8m0 (opset 24): how a value between two powers of
// two is rounded.
enum class E8M0Rounding { Up, Down, Nearest };
std::optional<E8M0Rounding> e8m0RoundingFromName(std::string_view name); // "up", "down", "nearest"

// float -> f8e8m0 as ONNX defines it on the float32 bits (the sign is ignored): the result
// is float's biased exponent, incremented for "up" when any mantissa bit is set and for
// "nearest" when the mantissa is at least half way (ties go up, except from exponent 0).
// NaN and infinity give the NaN pattern 0xFF; an increment past 0xFE gives 0xFF unless
// `saturate`, which keeps 0xFE.
uint8_t floatToE8M0(float v, bool saturate, E8M0Rounding mode);

// Integer -> 4-bit integer: the low four bits, as ONNX Cast (numpy) wraps: int4 values are
// sign-extended to [-8, 7], uint4 values in [0, 15].
inline int8_t wrapToI4(int64_t v) { return int8_t(int8_t(uint8_t(uint64_t(v) << 4)) >> 4); }
inline uint8_t wrapToU4(int64_t v) { return uint8_t(uint64_t(v) & 0xFu); }

} // namespace plumb
