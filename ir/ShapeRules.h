// Internal to ir/: the shape rules ShapeInference.cpp applies, by family (ShapeRules.cpp:
// helpers, reductions, products, windows and convolutions; ShapeRulesMovement.cpp: reshapes,
// slices, concatenation, gathers, padding, resizing). Each returns the result shape when
// operand shapes, attributes and constant operands determine it, std::nullopt otherwise.
#pragma once

#include "ir/PlumbDialect.h"

#include <optional>

namespace plumb::shape_rules {

inline constexpr int64_t kDyn = mlir::ShapedType::kDynamic;
using Dims = llvm::SmallVector<int64_t>;

// ---- helpers ----
mlir::Type elemOf(mlir::Value v);
std::optional<Dims> dimsOf(mlir::Value v);
bool isAbsent(mlir::Operation *op, unsigned i);
// Values of a constant operand (small constants are dense attributes).
std::optional<llvm::SmallVector<int64_t>> constInts(mlir::Value v);
std::optional<llvm::SmallVector<double>> constFloats(mlir::Value v);
// Operand i's constant values, or (older opsets) the attribute `name`.
std::optional<llvm::SmallVector<int64_t>> intsFrom(mlir::Operation *op, unsigned i,
                                                   llvm::StringRef name);
int64_t attrInt(mlir::Operation *op, llvm::StringRef name, int64_t def);
llvm::SmallVector<int64_t> attrInts(mlir::Operation *op, llvm::StringRef name);
// Sets result i's type: ranked with `dims`, unranked without.
void setResult(mlir::Operation *op, unsigned i, std::optional<Dims> dims, mlir::Type elem);
// Numpy-style broadcast of the operands' shapes.
std::optional<Dims> broadcast(llvm::ArrayRef<mlir::Value> vals);
int64_t normAxis(int64_t a, int64_t rank);

// ---- reductions, products, windows (ShapeRules.cpp) ----
std::optional<Dims> reduceDims(const Dims &in, std::optional<llvm::SmallVector<int64_t>> axes,
                               bool keep, bool noopEmpty);
std::optional<Dims> inferReduce(mlir::Operation *op);
std::optional<Dims> inferMatMul(mlir::Value a, mlir::Value b);
std::optional<Dims> inferWindow(mlir::Operation *op, llvm::ArrayRef<int64_t> kernel,
                                int64_t outC, bool ceil);
std::optional<Dims> inferConv(mlir::Operation *op, unsigned wIndex = 1);
std::optional<Dims> inferConvTranspose(mlir::Operation *op);

// ---- movement (ShapeRulesMovement.cpp) ----
std::optional<Dims> inferReshape(mlir::Operation *op);
std::optional<Dims> inferSlice(mlir::Operation *op);
void inferSplit(mlir::Operation *op); // sets every result
std::optional<Dims> inferSqueeze(mlir::Operation *op, bool unsqueeze);
std::optional<Dims> inferConcat(mlir::Operation *op);
std::optional<Dims> inferGather(mlir::Operation *op);
std::optional<Dims> inferTranspose(mlir::Operation *op);
std::optional<Dims> inferExpandTile(mlir::Operation *op, bool tile);
std::optional<Dims> inferPad(mlir::Operation *op);
std::optional<Dims> inferResize(mlir::Operation *op);

} // namespace plumb::shape_rules
