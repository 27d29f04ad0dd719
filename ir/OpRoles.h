// What an ONNX op's operands are for, where passes, lowerings and tools must agree without
// the dialect's op classes: a header of its own, so that it costs no rebuild of the dialect.
#pragma once

#include "llvm/ADT/StringRef.h"

namespace plumb {

// Ops whose operand 0 is a shape or a size rather than data: the values given there decide
// the result's shape (ConstantOfShape's shape, Range's start, a window generator's length,
// MelWeightMatrix's bin count). Every other op's operand 0 is its data.
inline bool firstOperandIsASize(llvm::StringRef onnxOp) {
  return onnxOp == "ConstantOfShape" || onnxOp == "Range" || onnxOp == "HannWindow" ||
         onnxOp == "HammingWindow" || onnxOp == "BlackmanWindow" || onnxOp == "MelWeightMatrix";
}

} // namespace plumb
