// Single-op folds shared by the graph passes (constant folding, shape folding, shape
// refinement). Each replaces `op` in place and returns true when it folded.
#pragma once

#include "runtime/Tensor.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace plumb {

// Evaluates an op whose tensor operands are all plumb.Constant with the reference kernels and
// replaces it by constants, when every result is statically shaped and at most `maxBytes`.
// Dead producer constants of the folded op are erased too.
bool foldConstantOp(mlir::Operation *op, int64_t maxBytes);

// Shape (the selected dims) or Size of a statically shaped tensor becomes a constant.
bool foldShapeOp(mlir::Operation *op);

// The tensor of a float plumb.Constant `v`, or nullopt; also nullopt for a resource whose
// data was not loaded (a module printed without weights). (FoldConvBatchNorm.cpp)
std::optional<Tensor> floatConstantOf(mlir::Value v);

// An optional operand left out: a `none` value (or no value).
inline bool absent(mlir::Value v) { return !v || llvm::isa<mlir::NoneType>(v.getType()); }

// `v`'s type when it is a ranked tensor of static shape, else null.
inline mlir::RankedTensorType staticTensorType(mlir::Value v) {
  auto t = llvm::dyn_cast<mlir::RankedTensorType>(v.getType());
  return t && t.hasStaticShape() ? t : nullptr;
}

// The integers held by a constant operand, or nullopt. (Canonicalize.cpp, in plumb_ir)
std::optional<std::vector<int64_t>> constantInts(mlir::Value v);

// A new plumb.Constant holding `t`. (PackProjections.cpp)
mlir::Value constantOf(mlir::OpBuilder &b, mlir::Location loc, const Tensor &t);

// A new 0-d plumb.Constant of type `dt` holding `v` (converted as Tensor::cast does).
inline mlir::Value scalarConstantOf(mlir::OpBuilder &b, mlir::Location loc, double v, DType dt) {
  return constantOf(b, loc, Tensor::fromVector(DType::F64, Shape{}, std::vector<double>{v}).cast(dt));
}

// A new 1-D i64 plumb.Constant holding `v` (a shape, split sizes, pads). (PackProjections.cpp)
mlir::Value intsConstantOf(mlir::OpBuilder &b, mlir::Location loc, const std::vector<int64_t> &v);

// `v` (statically shaped) reshaped to `shape`: a new constant of that shape for a constant,
// else a Reshape; null before opset 5, where Reshape's shape is an attribute.
// (LegacyBroadcast.cpp)
mlir::Value reshapedTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                       llvm::ArrayRef<int64_t> shape, int64_t opset);

} // namespace plumb
