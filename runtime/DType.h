// Element types shared by every layer of plumb (runtime, frontend, interpreter); MLIR-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace plumb {

// The element types plumb knows. The first nine are the ones the backends support; the
// rest exist so that models, tensor files and conformance data using them can be read,
// converted and compared by the reference interpreter.
//
// The 8-bit floats (F8*) and the 4-bit types (I4, U4, F4E2M1) take one byte per element
// in memory: float8 and float4 hold their bit pattern (float4 in the low nibble), I4 holds
// its value sign-extended to int8 and U4 its value in a uint8. ONNX files pack 4-bit types
// two per byte (first element in the low nibble); frontend/tensorio packs and unpacks at
// the file boundary. One byte per element matches MLIR's dense storage of i4/f4 elements
// and lets every data-movement kernel treat them like any one-byte type.
enum class DType : uint8_t {
  F32,
  F16,
  BF16,
  F64,
  I64,
  I32,
  I8,
  U8,
  Bool,
  I16,
  U16,
  U32,
  U64,
  F8E4M3FN,   // ONNX FLOAT8E4M3FN (17): no infinities, NaN S.1111.111
  F8E4M3FNUZ, // ONNX FLOAT8E4M3FNUZ (18): bias 8, no -0, NaN 0x80
  F8E5M2,     // ONNX FLOAT8E5M2 (19): IEEE-like, infinities
  F8E5M2FNUZ, // ONNX FLOAT8E5M2FNUZ (20): bias 16, no -0, NaN 0x80
  U4,         // ONNX UINT4 (21)
  I4,         // ONNX INT4 (22)
  F4E2M1,     // ONNX FLOAT4E2M1 (23): no infinities or NaN
  F8E8M0,     // ONNX FLOAT8E8M0 (24): unsigned powers of two 2^(e-127), NaN 0xFF
};

size_t dtypeSize(DType t);
// "f32", "f16", "bf16", "f64", "i64", "i32", "i8", "u8", "bool", ...
const char *dtypeName(DType t);
std::optional<DType> dtypeFromName(std::string_view name);
bool isFloat(DType t);      // f32, f16, bf16, f64: the types kernels compute in
bool isSmallFloat(DType t); // the float8 types, f8e8m0 and f4e2m1 (storage-only floats)
bool isInteger(DType t);    // signed or unsigned integer (i4/u4 included), not bool
bool isSigned(DType t);
// True for i4, u4 and f4e2m1, which ONNX files pack two per byte.
bool isPacked4Bit(DType t);
// The lowest and highest value of an integer type (i4/u4 included, bool excluded); nullopt
// for others. uint64's highest is 2^64 as a double (the nearest to 2^64 - 1).
std::optional<std::pair<double, double>> integerRange(DType t);

// ONNX TensorProto.DataType codes <-> DType (nullopt when plumb has no such type).
std::optional<DType> dtypeFromOnnx(int32_t onnxType);
int32_t dtypeToOnnx(DType t);

// numpy dtype descr ("<f4", "|b1", ...) <-> DType. numpy has no bfloat16: plumb writes
// bf16 as the two-byte void type "|V2" (what ml_dtypes' bfloat16 saves as) and reads
// "|V2"/"<V2" back as bf16. The float8 and float4 types are written as "|V1" (ml_dtypes'
// one-byte types save as that; the bytes are the bit patterns), i4 as "|i1" and u4 as
// "|u1". Reading "|V1" is refused (which one-byte float it holds is not recorded); "|i1" and
// "|u1" read as i8 and u8.
std::optional<DType> dtypeFromNumpyDescr(std::string_view descr);
const char *dtypeToNumpyDescr(DType t);

// IEEE half and bfloat16 conversions (round to nearest even).
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
uint16_t floatToBf16(float f);
float bf16ToFloat(uint16_t b);

} // namespace plumb
