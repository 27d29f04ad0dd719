// plumb-shape-folding: Shape and Size of statically known dims become constants.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "mlir/IR/Builders.h"

#include <algorithm>

namespace plumb {
#define GEN_PASS_DEF_PLUMBSHAPEFOLDING
#include "passes/Passes.h.inc"

namespace {

// The dims Shape returns, or nullopt when one of them is dynamic. ONNX: negative start/end
// count from the back, both are clamped to [0, rank], and start >= end gives no dims.
std::optional<llvm::SmallVector<int64_t>> shapeValue(ShapeOp op) {
  auto type = llvm::dyn_cast<mlir::RankedTensorType>(op.getData().getType());
  if (!type)
    return std::nullopt;
  int64_t rank = type.getRank();
  auto clampDim = [rank](int64_t d) { return std::clamp(d < 0 ? d + rank : d, int64_t(0), rank); };
  int64_t start = clampDim(op.getStartAttr() ? op.getStartAttr().getInt() : 0);
  int64_t end = clampDim(op.getEndAttr() ? op.getEndAttr().getInt() : rank);
  llvm::SmallVector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) {
    if (type.isDynamicDim(unsigned(d)))
      return std::nullopt;
    dims.push_back(type.getDimSize(unsigned(d)));
  }
  return dims;
}

// Replaces `op` by a constant holding `values` (i64) in `shape`, at the op's location so
// that its ONNX tensor name stays findable. Leaves the op alone when the IR declared a
// different type (a stale or dynamic type that users such as func.return rely on).
bool replaceWithConstant(mlir::Operation *op, llvm::ArrayRef<int64_t> shape,
                         llvm::ArrayRef<int64_t> values) {
  mlir::OpBuilder b(op);
  auto type = mlir::RankedTensorType::get(shape, b.getI64Type());
  if (type != op->getResult(0).getType())
    return false;
  auto value = mlir::DenseElementsAttr::get(type, values);
  auto c = ConstantOp::create(b, op->getLoc(), type, value, nullptr, nullptr, nullptr, nullptr);
  op->getResult(0).replaceAllUsesWith(c);
  op->erase();
  return true;
}

} // namespace

bool foldShapeOp(mlir::Operation *op) {
  if (auto shape = llvm::dyn_cast<ShapeOp>(op)) {
    if (std::optional<llvm::SmallVector<int64_t>> dims = shapeValue(shape))
      return replaceWithConstant(op, {int64_t(dims->size())}, *dims);
  } else if (auto size = llvm::dyn_cast<SizeOp>(op)) {
    auto type = llvm::dyn_cast<mlir::RankedTensorType>(size.getData().getType());
    if (type && type.hasStaticShape())
      return replaceWithConstant(op, {}, {type.getNumElements()});
  }
  return false;
}

namespace {

struct ShapeFolding : impl::PlumbShapeFoldingBase<ShapeFolding> {
  void runOnOperation() override {
    // Only the func body's top level: fusion bodies are formed later and already folded.
    for (mlir::Block &block : getOperation().getBody()) {
      for (mlir::Operation &op : llvm::make_early_inc_range(block))
        foldShapeOp(&op);
    }
  }
};

} // namespace
} // namespace plumb
