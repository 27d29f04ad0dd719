// One op as a generated CUDA kernel against its reference kernel (cuda_emulated_test's
// GeneratedOp table): the case, its helpers, and the numeric cases kept in their own file.
#pragma once

#include "backends/reference/Kernel.h"
#include "runtime/Tensor.h"

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace plumb::cudatest {

// Data inputs (loaded by the kernel) and integer constants (steering a movement op, read at
// generation time).
struct OpCase {
  std::string name, op;
  std::vector<Tensor> data;
  std::vector<std::pair<size_t, Tensor>> constants; // operand index -> value
  ref::Attrs attrs;
  size_t numOutputs = 1;
  int64_t opset = 0; // 0: 17 (23 for RMSNormalization and Split's num_outputs)
};

inline void PrintTo(const OpCase &c, std::ostream *os) { *os << c.name; }

inline int64_t opsetOf(const OpCase &c) {
  if (c.opset)
    return c.opset;
  return c.op == "RMSNormalization" || c.attrs.has("num_outputs") ? 23 : 17;
}

inline OpCase opCase(std::string name, std::string op, std::vector<Tensor> data,
                     std::vector<std::pair<size_t, Tensor>> consts = {},
                     const std::vector<std::pair<std::string, ref::AttrValue>> &attrs = {},
                     size_t outs = 1) {
  OpCase c{std::move(name), std::move(op), std::move(data), std::move(consts), {}, outs};
  for (const auto &[k, a] : attrs)
    c.attrs.set(k, a);
  return c;
}

// -3, -2.5, -2, ... in `shape`, as type `t`.
inline Tensor iota(DType t, Shape shape) {
  std::vector<double> v(size_t(numElements(shape)));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = double(i) * 0.5 - 3;
  return Tensor::fromVector(DType::F64, shape, v).cast(t);
}

inline Tensor ints(std::vector<int64_t> v) {
  Shape s = {int64_t(v.size())};
  return Tensor::fromVector(DType::I64, s, v);
}

// Non-finite values, empty rows, integer bit ops and products, OneHot, MaxPool's NaN and
// Indices (cuda_emulated_numeric_ops.cpp).
std::vector<OpCase> numericOpCases();

} // namespace plumb::cudatest
