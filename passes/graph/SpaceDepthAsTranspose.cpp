// plumb-space-depth-as-transpose: DepthToSpace and SpaceToDepth (static NCHW) become the
// Reshape, Transpose, Reshape that ONNX defines them by, so a backend that moves data with
// transposes needs no kernel of its own for them (the CUDA lowering reads the reshapes as
// views: one movement kernel). PixelShuffle in super-resolution heads and the space-to-depth
// stems of YOLO-style detectors export as these.
//   DepthToSpace DCR: [N, b, b, C/b², H, W], perm [0, 3, 4, 1, 5, 2], [N, C/b², H·b, W·b]
//   DepthToSpace CRD: [N, C/b², b, b, H, W], perm [0, 1, 4, 2, 5, 3], [N, C/b², H·b, W·b]
//   SpaceToDepth:     [N, C, H/b, b, W/b, b], perm [0, 3, 5, 1, 2, 4], [N, C·b², H/b, W/b]
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "mlir/IR/Builders.h"

#include <array>

namespace plumb {
#define GEN_PASS_DEF_PLUMBSPACEDEPTHASTRANSPOSE
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

// `op`'s input reshaped to `blocks`, transposed by `perm`, reshaped to its result type.
void rewrite(mlir::Operation *op, const std::array<int64_t, 6> &blocks,
             const std::array<int64_t, 6> &perm) {
  mlir::OpBuilder b(op);
  std::string name = tensorNameOf(op, 0);
  auto loc = [&](const std::string &suffix) {
    return fuseNodeLocs({op->getLoc()}, {name + "/" + suffix});
  };
  auto in = llvm::cast<mlir::RankedTensorType>(op->getOperand(0).getType());
  auto out = llvm::cast<mlir::RankedTensorType>(op->getResult(0).getType());
  auto type = [&](llvm::ArrayRef<int64_t> shape) {
    return mlir::RankedTensorType::get(shape, in.getElementType());
  };
  std::vector<int64_t> split(blocks.begin(), blocks.end()), moved;
  for (int64_t p : perm)
    moved.push_back(blocks[size_t(p)]);
  Value x = ReshapeOp::create(b, loc("blocks"), type(split), op->getOperand(0),
                              intsConstantOf(b, loc("blocks.shape"), split), nullptr);
  x = TransposeOp::create(b, loc("moved"), type(moved), x,
                          b.getI64ArrayAttr(std::vector<int64_t>(perm.begin(), perm.end())));
  x = ReshapeOp::create(b, op->getLoc(), out, x,
                        intsConstantOf(b, loc("shape"), std::vector<int64_t>(out.getShape())),
                        nullptr);
  op->getResult(0).replaceAllUsesWith(x);
  op->erase();
}

// The static 4-D input and result shapes of `op`, or false.
bool shapes(mlir::Operation *op, llvm::ArrayRef<int64_t> &in, llvm::ArrayRef<int64_t> &out) {
  auto i = llvm::dyn_cast<mlir::RankedTensorType>(op->getOperand(0).getType());
  auto o = llvm::dyn_cast<mlir::RankedTensorType>(op->getResult(0).getType());
  if (!i || !o || !i.hasStaticShape() || !o.hasStaticShape() || i.getRank() != 4 || o.getRank() != 4)
    return false;
  in = i.getShape();
  out = o.getShape();
  return true;
}

struct SpaceDepthAsTransposePass
    : impl::PlumbSpaceDepthAsTransposeBase<SpaceDepthAsTransposePass> {
  void runOnOperation() override {
    llvm::SmallVector<mlir::Operation *> ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (llvm::isa<DepthToSpaceOp, SpaceToDepthOp>(op))
        ops.push_back(op);
    });
    for (mlir::Operation *op : ops) {
      llvm::ArrayRef<int64_t> in, out;
      auto bs = op->getAttrOfType<mlir::IntegerAttr>("blocksize");
      if (!bs || bs.getInt() <= 0 || !shapes(op, in, out))
        continue;
      int64_t k = bs.getInt(), N = in[0], C = in[1], H = in[2], W = in[3];
      if (llvm::isa<DepthToSpaceOp>(op)) {
        if (C % (k * k) != 0 || out[1] != C / (k * k) || out[2] != H * k || out[3] != W * k)
          continue;
        auto mode = op->getAttrOfType<mlir::StringAttr>("mode");
        if (mode && mode.getValue() == "CRD")
          rewrite(op, {N, C / (k * k), k, k, H, W}, {0, 1, 4, 2, 5, 3});
        else if (!mode || mode.getValue() == "DCR")
          rewrite(op, {N, k, k, C / (k * k), H, W}, {0, 3, 4, 1, 5, 2});
      } else {
        if (H % k != 0 || W % k != 0 || out[1] != C * k * k || out[2] != H / k || out[3] != W / k)
          continue;
        rewrite(op, {N, C, H / k, k, W / k, k}, {0, 3, 5, 1, 2, 4});
      }
    }
  }
};

} // namespace
} // namespace plumb
