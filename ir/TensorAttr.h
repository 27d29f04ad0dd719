// Conversions between plumb::Tensor and MLIR elements attributes (dense or resource blobs),
// and the DType and static shape of MLIR types and values.
#pragma once

#include "runtime/Tensor.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

#include <map>
#include <memory>
#include <optional>

namespace plumb {

// The DType of an MLIR element type (nullopt when plumb has none).
std::optional<DType> dtypeOf(mlir::Type elementType);
// The shape of a statically shaped ranked tensor value (nullopt otherwise).
std::optional<llvm::SmallVector<int64_t>> staticShape(mlir::Value v);
// The MLIR element type of a DType.
mlir::Type elementTypeOf(mlir::MLIRContext *ctx, DType t);

// A tensor viewing the attribute's bytes without copying where the layout allows (dense
// non-splat non-bool data and resource blobs); the MLIR context must outlive it.
// Throws plumb::Error for element types plumb does not know.
Tensor tensorFromAttr(mlir::ElementsAttr attr);

// A dense attribute holding a copy of `t`.
mlir::DenseElementsAttr attrFromTensor(mlir::MLIRContext *ctx, const Tensor &t);

// Whether a ConstantOp defines `v`, directly or outside a plumb.fusion behind one of its block
// arguments (a lowering gives such a value a Constant buffer).
bool definedByConstant(mlir::Value v);

// The value of the constant behind `v` (as constantScalar finds it; viewing the attribute's
// bytes, see tensorFromAttr); nullopt when there is none or it holds no data.
std::optional<Tensor> constantTensor(mlir::Value v);

// The value of a one-element constant behind `v`: a ConstantOp directly, or outside a
// plumb.fusion behind one of its block arguments; nullopt otherwise.
std::optional<double> constantScalar(mlir::Value v);

// For a resource-blob constant: a handle whose last copy frees the blob's data (the module's
// constant then has none, as after releaseResourceBlobs); null for other attributes. There is
// one handle per blob: `handles` (kept by the caller across calls) hands out the same one for
// a blob seen again. The context must outlive every copy.
using BlobHandles = std::map<const void *, std::shared_ptr<const void>>;
std::shared_ptr<const void> blobReleaseHandle(mlir::ElementsAttr attr, BlobHandles &handles);

// Frees the data of every resource blob `root`'s constants hold (the context keeps blobs
// until it dies, even after the module that used them is gone). Only for a module about to be
// discarded whose blobs nothing else references (no clone of it alive): its constants then
// have no data. Returns the bytes freed.
size_t releaseResourceBlobs(mlir::Operation *root);

} // namespace plumb
