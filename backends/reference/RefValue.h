// The interpreter's run-time values beyond tensors: ONNX sequences and optionals, and the
// kernels of the ops that take or make them. MLIR-free.
#pragma once

#include "backends/reference/Kernel.h"

#include <string>
#include <string_view>
#include <vector>

namespace plumb::ref {

// A tensor, a sequence of tensors, or nothing (an empty optional). A present optional is
// represented by the value it holds; the IR's types say whether a value is optional.
struct RefValue {
  enum class Kind { Tensor, Sequence, Empty };
  Kind kind = Kind::Empty;
  plumb::Tensor tensor;
  std::vector<plumb::Tensor> sequence;

  static RefValue of(plumb::Tensor t) {
    RefValue v;
    v.kind = Kind::Tensor;
    v.tensor = std::move(t);
    return v;
  }
  static RefValue ofSequence(std::vector<plumb::Tensor> s) {
    RefValue v;
    v.kind = Kind::Sequence;
    v.sequence = std::move(s);
    return v;
  }
  static RefValue empty() { return RefValue(); }
  bool isTensor() const { return kind == Kind::Tensor; }
  bool isSequence() const { return kind == Kind::Sequence; }
  bool isEmpty() const { return kind == Kind::Empty; }
  // "f32[2x3]", "sequence of 3 [f32[2], ...]" or "empty optional".
  std::string describe() const;
};

// Ops over sequences and optionals (kernels/Sequence.cpp): SequenceConstruct/Empty/At/
// Insert/Erase/Length, SplitToSequence, ConcatFromSequence, Optional, OptionalHasElement,
// OptionalGetElement.
bool isValueOp(std::string_view opType);
// Runs one of them; `call` gives op type, node name, attributes and precision (its tensor
// inputs are unused), `inputs` the ONNX-positional values (nullptr where absent).
std::vector<RefValue> runValueKernel(const KernelCall &call,
                                     const std::vector<const RefValue *> &inputs);

// Tensor plumbing shared by sequence kernels and control flow.
// The `len` slices of `t` starting at `start` along `axis`.
plumb::Tensor sliceAlong(const plumb::Tensor &t, int64_t axis, int64_t start, int64_t len);
// Concatenation along `axis` (all parts share dtype and every other dim; at least one).
plumb::Tensor concatAlong(const std::vector<plumb::Tensor> &parts, int64_t axis);
// Stacks equally shaped tensors on a new axis `axis`.
plumb::Tensor stackAlong(const std::vector<plumb::Tensor> &parts, int64_t axis);

} // namespace plumb::ref
