// The plumb dialect's C++ interface: dialect, ops, the shape inference interface, helpers.
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>
#include <string>
#include <vector>

namespace plumb {
// Shared implementation of ShapeInferenceOpInterface::inferShapes (ShapeInference.cpp).
llvm::LogicalResult inferShapesGeneric(mlir::Operation *op);
// Shape inference of control-flow, sequence, optional and optimizer ops (ControlFlow.cpp);
// false when `onnxOpType` is none of them.
bool inferControlFlowOps(mlir::Operation *op, llvm::StringRef onnxOpType);
} // namespace plumb

#include "ir/PlumbDialect.h.inc"
#include "ir/PlumbInterfaces.h.inc"

#define GET_TYPEDEF_CLASSES
#include "ir/PlumbTypes.h.inc"

#define GET_OP_CLASSES
#include "ir/PlumbOps.h.inc"

namespace plumb {

// The ONNX op type of a plumb op ("plumb.Conv" -> "Conv"); empty for structural ops.
llvm::StringRef onnxOpType(mlir::Operation *op);

// ONNX identity carried in locations (DESIGN.md invariant 1). An imported op's location is
// fused<["out0", "out1"]>[NameLoc(node name)]: the metadata lists the ONNX names of the
// op's results, in order.
mlir::Location makeNodeLoc(mlir::MLIRContext *ctx, llvm::StringRef nodeName,
                           llvm::ArrayRef<std::string> outputNames);
// The location of an op that replaces several nodes (Conv+BN folding, fusion): the
// replaced nodes' locations fused under metadata listing the new op's result names, so
// tensorNameOf keeps working. `locs` must not be empty.
mlir::Location fuseNodeLocs(llvm::ArrayRef<mlir::Location> locs,
                            llvm::ArrayRef<std::string> outputNames);
// The ONNX node name of an op ("" when the location carries none); for an op that merged
// several nodes (fusion, Conv+BN folding), the first of them.
std::string nodeNameOf(mlir::Operation *op);
// All ONNX nodes an op stands for, in order.
std::vector<std::string> nodeNamesOf(mlir::Operation *op);
// The same names joined with ", " (how plan steps and error messages name an op).
std::string joinedNodeNames(mlir::Operation *op);
// The ONNX tensor name of result `i` of an op ("" when unknown).
std::string tensorNameOf(mlir::Operation *op, unsigned i);

// Module attribute holding the model's default-domain opset version.
inline constexpr llvm::StringLiteral kOpsetAttr = "plumb.opset";
// Function argument/result attribute holding the ONNX graph input/output name.
inline constexpr llvm::StringLiteral kNameAttr = "plumb.name";

// ONNX TensorProto data type code <-> MLIR element type.
mlir::Type elementTypeFromOnnx(mlir::MLIRContext *ctx, int32_t onnxType);
std::optional<int32_t> onnxTypeFromElement(mlir::Type t);

// The default-domain opset of the module holding `op` (17 when it does not say).
int64_t moduleOpset(mlir::Operation *op);

// The least precise type both `a` and `b` are instances of (tensor dims they disagree on
// become dynamic); null when they cannot be joined. A null argument yields the other.
mlir::Type joinTypes(mlir::Type a, mlir::Type b);

// A type as MLIR prints it, e.g. "tensor<1x3xf32>" (for messages and reports).
std::string typeToString(mlir::Type t);

// A fusion body's ops in order without its None and Constant ops, which `onConstant` gets
// as they come (a lowering materialises those before the ops that read them).
std::vector<mlir::Operation *> fusionBodyOps(FusionOp fusion,
                                             llvm::function_ref<void(mlir::Operation *)> onConstant);

// Einsum's result dims from its equation and operand dims (EinsumShape.cpp); nullopt when an
// operand's rank is unknown or the equation does not fit the operands.
std::optional<llvm::SmallVector<int64_t>>
einsumResultDims(llvm::StringRef equation,
                 llvm::ArrayRef<std::optional<llvm::SmallVector<int64_t>>> operands);

} // namespace plumb
