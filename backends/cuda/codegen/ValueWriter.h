// Internal to the generator: values of a kernel graph written at given coordinates (CUDA
// statements into a stream). Elementwise ops are computed from their operands at the
// coordinates broadcasting maps to, composable movement (Transpose, Slice, Concat, Expand,
// Tile, Pad, the reshapes) by moving the coordinates, and inputs loaded through their views.
// Composite kernels (Composite.cpp) write their outputs this way; Einsum and CumSum kernels
// (Window.cpp, Einsum.cpp) load their operands this way, computing the elementwise ops before
// them (Mamba2's exp of a segment sum) instead of reading a tensor some kernel stored.
#pragma once

#include "backends/cuda/codegen/KernelIR.h"
#include "backends/cuda/codegen/Writer.h"

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace plumb::cuda {

class ValueWriter {
public:
  // Variables it declares are named `prefix` and a number.
  ValueWriter(const KernelGraph &g, std::ostream &os, std::string prefix);

  // The name of a variable (or a literal) holding value `v` at coordinates `c` (one expression
  // per dim of v; "0" for a dim of size 1), declaring what it needs at `indent`. A value is
  // declared once per coordinates within a scope.
  std::string at(int v, const std::vector<std::string> &c, const std::string &indent);
  // Whether a node of the graph computes `v` (else it is an input or a constant).
  bool computed(int v) const { return producer_[size_t(v)] >= 0; }
  // What at() declares between the two is visible there alone (a loop or branch body).
  void openScope() { memo_.emplace_back(); }
  void closeScope() { memo_.pop_back(); }

private:
  const Shape &shapeOf(int v) const { return g_.values[size_t(v)].shape; }
  DType dtypeOf(int v) const { return g_.values[size_t(v)].dtype; }
  std::string fresh() { return prefix_ + std::to_string(next_++); }
  std::string compute(int v, const std::vector<std::string> &c, const std::string &indent);
  std::string load(int v, const std::vector<std::string> &c, const std::string &indent);
  std::string concat(const KNode &n, const std::vector<std::string> &c, const std::string &indent);
  std::string pad(const KNode &n, const std::vector<std::string> &c, const std::string &indent);
  std::vector<std::string> reshaped(const Shape &out, const Shape &in,
                                    const std::vector<std::string> &c, const std::string &indent);

  const KernelGraph &g_;
  ElementWriter params_; // parameter names only
  std::vector<int> producer_;
  std::ostream &os_;
  std::string prefix_;
  std::vector<std::map<std::string, std::string>> memo_{1};
  int next_ = 0;
};

} // namespace plumb::cuda
