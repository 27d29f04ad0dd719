// Internal to the generator: writes the statements that compute chosen values of a
// KernelGraph at one element of an iteration space (coordinates, broadcasting loads, one
// variable per node). Every kernel style is built from it.
#pragma once

#include "backends/cuda/codegen/KernelIR.h"

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace plumb::cuda {

[[noreturn]] void codegenError(const KernelGraph &g, const std::string &msg);

// The flat offset into a tensor of `shape` of the element at coordinates `coords`.
std::string offsetOf(const Shape &shape, const std::vector<std::string> &coords);

// The offset of value `v`'s element at `coords` in the buffer it is read from: row-major, or
// through its strided view (KernelGraph::strides, offsets, divisors) where it has one.
std::string viewOffsetOf(const KernelGraph &g, int v, const std::vector<std::string> &coords);

// numpy broadcast of `shapes`; throws naming the graph when they do not broadcast.
Shape broadcastAll(const KernelGraph &g, const std::vector<Shape> &shapes);

class ElementWriter {
public:
  // `iter`: the iteration shape every value broadcasts to. `elementVar`: the name of the
  // flat element index (row-major over `iter`) in the emitted code.
  ElementWriter(const KernelGraph &g, Shape iter, std::string elementVar = "e");

  // Values already held in variables (node results computed earlier, bound names).
  void bind(int value, std::string name) { bound_[value] = std::move(name); }
  // Statements declaring v<id> for every value in `targets` (and what they need), given
  // that inputs are pointer parameters named by paramName(). Nodes whose result is not
  // bound and whose op is in `opaque` (reductions) are an error.
  void emit(std::ostream &os, const std::vector<int> &targets, const std::string &indent) const;
  // The expression naming a value after emit(): bound name, literal or v<id>.
  std::string name(int value) const;
  // Offset into a tensor of shape `s` (broadcast into iter) at the current element; uses
  // coordinate variables declared by emit() or coords().
  std::string offset(const Shape &s) const;
  // Declares the coordinate variables c<k> that offset(s) needs for each shape in `shapes`,
  // and every non-unit dim of each shape in `viewed` (inputs read through a strided view).
  void coords(std::ostream &os, const std::vector<Shape> &shapes, const std::string &indent,
              const std::vector<Shape> &viewed = {}) const;
  std::string paramName(int value) const; // "in<k>" for graph input k, "out<k>" for outputs

  const Shape &iter() const { return iter_; }

private:
  const KernelGraph &g_;
  Shape iter_;
  std::string e_;
  std::map<int, std::string> bound_;
  std::vector<int> producer_; // value id -> node index, -1 for graph inputs/scalars
};

// The kernel parameter list: const inputs, then outputs.
std::string paramList(const KernelGraph &g);
// #include lines for the storage types the graph uses.
std::string includes(const KernelGraph &g);

} // namespace plumb::cuda
