// Small helpers shared by the reference kernels: axes, broadcasting, strides, index walking,
// integer-safe arithmetic, type dispatch and registration.
#pragma once

#include "backends/reference/Kernel.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

namespace plumb::ref {

// The largest kernel extent or output size an attribute or input may ask for (2^31):
// larger is a corrupt or hostile model, refused before anything is allocated.
constexpr int64_t kAttrLimit = int64_t(1) << 31;

// Normalise a possibly negative axis against `rank`; fails the call when out of range.
inline int64_t normalizeAxis(const KernelCall &call, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= (rank == 0 ? 1 : rank))
    call.fail("axis " + std::to_string(axis) + " out of [" + std::to_string(-rank) + ", " +
              std::to_string(rank - 1) + "]");
  return axis < 0 ? axis + rank : axis;
}

// Row-major strides (in elements) of `shape`.
inline std::vector<int64_t> stridesOf(const Shape &shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    s[size_t(i)] = s[size_t(i) + 1] * shape[size_t(i) + 1];
  return s;
}

// The product of shape[from, to): the element count of that run of dims.
inline int64_t product(const Shape &s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i)
    p *= s[i];
  return p;
}

// Advance a row-major multi-index over `shape`; false once it wraps past the last one.
inline bool nextIndex(std::vector<int64_t> &idx, const Shape &shape) {
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    if (++idx[size_t(d)] < shape[size_t(d)])
      return true;
    idx[size_t(d)] = 0;
  }
  return false;
}

// Numpy-style multidirectional broadcast of two shapes; fails the call when incompatible.
inline Shape broadcastShapes(const KernelCall &call, const Shape &a, const Shape &b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      call.fail("shapes " + shapeToString(a) + " and " + shapeToString(b) +
                " are not broadcastable");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Strides to read a tensor of shape `in` as if broadcast to `out` (0 on broadcast dims).
inline std::vector<int64_t> broadcastStrides(const Shape &in, const Shape &out) {
  std::vector<int64_t> s(out.size(), 0);
  std::vector<int64_t> inStrides = stridesOf(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i)
    s[i + off] = in[i] == 1 ? 0 : inStrides[i];
  return s;
}

template <typename T> bool isNaN(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return std::isnan(v);
  else
    return false;
}

// Max and Min propagate NaN like numpy.maximum/minimum.
template <typename T> T maxOf(T a, T b) { return (isNaN(a) || a > b) ? a : b; }
template <typename T> T minOf(T a, T b) { return (isNaN(a) || a < b) ? a : b; }

// ONNX integer arithmetic wraps around like numpy, but signed overflow is UB in C++ (and
// narrow unsigned types promote to int), so integer + - * run on a wide-enough unsigned type.
template <typename T, typename Op> T wrapping(T a, T b, Op op) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
    return T(op(U(a), U(b)));
  } else {
    return op(a, b);
  }
}

// A wide floating-point value back to T the way Tensor::cast does it: plain conversion for
// float types; truncated toward zero and saturated (NaN -> 0) for integers.
template <typename T, typename W> T narrow(W v) {
  if constexpr (std::is_floating_point_v<T>) {
    return T(v);
  } else {
    if (std::isnan(v))
      return T(0);
    if (v >= W(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    if (v <= W(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    return T(v);
  }
}

// Calls f.template operator()<T>() with T the C++ type of `t`; fails for other types.
// Usage: dispatchFloat(call, dtype, [&](auto tag) { using T = decltype(tag); ... });
template <typename F> auto dispatchFloat(const KernelCall &call, DType t, F &&f) {
  switch (t) {
  case DType::F32: return f(float{});
  case DType::F64: return f(double{});
  default: break;
  }
  call.fail(std::string("unsupported element type ") + dtypeName(t));
}

// All numeric types (not bool).
template <typename F> auto dispatchNumeric(const KernelCall &call, DType t, F &&f) {
  switch (t) {
  case DType::F32: return f(float{});
  case DType::F64: return f(double{});
  case DType::I64: return f(int64_t{});
  case DType::I32: return f(int32_t{});
  case DType::I16: return f(int16_t{});
  case DType::I8: return f(int8_t{});
  case DType::U8: return f(uint8_t{});
  case DType::U16: return f(uint16_t{});
  case DType::U32: return f(uint32_t{});
  case DType::U64: return f(uint64_t{});
  default: break;
  }
  call.fail(std::string("unsupported element type ") + dtypeName(t));
}

// Any type, by element size only (for data movement: Transpose, Gather, Concat...).
// bool is moved as uint8_t, f16/bf16 as uint16_t.
template <typename F> auto dispatchBytes(const KernelCall &call, DType t, F &&f) {
  switch (dtypeSize(t)) {
  case 1: return f(uint8_t{});
  case 2: return f(uint16_t{});
  case 4: return f(uint32_t{});
  case 8: return f(uint64_t{});
  default: break;
  }
  call.fail(std::string("unsupported element type ") + dtypeName(t));
}

// A single-output kernel as a KernelFn (for KernelRegistry::add).
inline KernelFn singleOutput(Tensor (*fn)(const KernelCall &)) {
  return [fn](const KernelCall &call) { return std::vector<Tensor>{fn(call)}; };
}

} // namespace plumb::ref
