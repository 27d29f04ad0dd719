// CUDA C++ spelling of element types, literals and of one ONNX elementwise op applied to
// scalar operands: the vocabulary every generated kernel is written in.
#pragma once

#include "backends/cuda/codegen/KernelIR.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plumb::cuda {

// The type a buffer element is stored as ("float", "__half", "__nv_bfloat16", "long long"...).
std::string storageType(DType t);
// The type arithmetic is done in: float for f32/f16/bf16 and the small floats (f32
// accumulation), double for f64,
// long long for integers, bool for bool.
std::string computeType(DType t);
// Whether `t` is one of the four float8 types generated kernels store (as their bit pattern).
bool isFloat8(DType t);
// The device functions converting float8, float8e8m0 and float4e2m1 bit patterns to and from
// float, for kernels that load or store one.
std::string smallFloatHelpers();
// `expr` (of storage type t) converted to computeType(t), and back.
std::string loadAs(DType t, const std::string &expr);
std::string storeAs(DType t, const std::string &expr);
// A literal of computeType(t), exact for f32 (infinities and NaN included).
std::string literal(DType t, double v);
// `x` (an expression of compute type `ct`, "float" or "double") cast to integer type `t` as
// the reference casts it: NaN 0, past the range its bound, else truncated toward zero.
std::string floatToInteger(const std::string &x, const std::string &ct, DType t);

// The value of `node` (elementwise, single result) as an expression over its operands'
// expressions `args` (already of their compute types; "" for an absent optional operand).
// Throws plumb::Error naming the node when the op is not elementwise or not supported.
std::string emitElementwise(const KernelGraph &g, const KNode &node,
                            const std::vector<std::string> &args);

// Whether the generator can emit `op` as a scalar expression.
bool isSupportedElementwise(const std::string &op);

} // namespace plumb::cuda
