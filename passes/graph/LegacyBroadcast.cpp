// plumb-legacy-broadcast: broadcasting before opset 7 written the way later opsets (numpy)
// broadcast, so that backends which broadcast numpy-style compute what the model means.
// - A binary op with broadcast=1 lines B's dims up with A's starting at `axis` (default:
//   trailing). B [3] at axis 1 of A [2, 3, 3, 3] is per channel, where numpy would match it
//   with the last dim: the CPU backend added a bias along W and the CUDA kernels would have.
//   B becomes B's dims followed by ones up to A's last ([3, 1, 1]) and the axis is dropped;
//   broadcast stays set, so the op means the same at its opset (the reference interpreter
//   reads it so).
// - PRelu's 1-D slope of C entries (C > 1) is per channel (axis 1) for X of rank 3 or more,
//   as PyTorch exported PReLU(num_parameters=C): it becomes [C, 1, ..., 1].
// A constant B is replaced by a constant of the new shape; a B computed at run time is
// reshaped by a Reshape (opset 5 on; before, Reshape's shape is an attribute and B is left).
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBLEGACYBROADCAST
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

} // namespace

mlir::Value reshapedTo(mlir::OpBuilder &b, mlir::Location loc, Value v,
                       llvm::ArrayRef<int64_t> shape, int64_t opset) {
  Shape to(shape.begin(), shape.end());
  if (std::optional<Tensor> c = constantTensor(v))
    return constantOf(b, loc, c->reshaped(to));
  if (opset < 5)
    return nullptr;
  auto t = llvm::cast<mlir::RankedTensorType>(v.getType());
  Value s = intsConstantOf(b, loc, to);
  return ReshapeOp::create(b, loc, mlir::RankedTensorType::get(shape, t.getElementType()), v, s,
                           mlir::IntegerAttr());
}

namespace {

// Operand `index` of `op` reshaped to `shape` (reshapedTo); false when it cannot be.
bool reshapeOperand(mlir::Operation *op, unsigned index, llvm::ArrayRef<int64_t> shape,
                    int64_t opset) {
  mlir::OpBuilder b(op);
  mlir::Location loc = fuseNodeLocs({op->getLoc()}, {tensorNameOf(op, 0) + "/legacy_broadcast"});
  Value r = reshapedTo(b, loc, op->getOperand(index), shape, opset);
  if (r)
    op->setOperand(index, r);
  return bool(r);
}

// A binary op's B with broadcast=1: its dims from `axis` of A's on.
void rewriteBinary(mlir::Operation *op, int64_t opset) {
  auto flag = op->getAttrOfType<mlir::IntegerAttr>("broadcast");
  if (!flag || flag.getInt() == 0 || op->getNumOperands() != 2)
    return;
  auto a = llvm::dyn_cast<mlir::RankedTensorType>(op->getOperand(0).getType());
  auto bt = staticTensorType(op->getOperand(1));
  if (!a || !bt)
    return;
  int64_t ra = a.getRank(), rb = bt.getRank();
  auto axisAttr = op->getAttrOfType<mlir::IntegerAttr>("axis");
  if (!axisAttr)
    return; // trailing already: numpy's rule
  int64_t axis = axisAttr.getInt();
  if (axis < 0)
    axis += ra;
  if (axis < 0 || axis + rb > ra)
    return; // the reference interpreter names the mismatch
  if (axis + rb < ra) {
    llvm::SmallVector<int64_t> shape(bt.getShape());
    shape.resize(size_t(ra - axis), 1);
    if (!reshapeOperand(op, 1, shape, opset))
      return;
  }
  op->removeAttr("axis");
}

void rewritePRelu(PReluOp op, int64_t opset) {
  auto x = llvm::dyn_cast<mlir::RankedTensorType>(op->getOperand(0).getType());
  auto st = staticTensorType(op->getOperand(1));
  if (!x || !st || x.getRank() < 3 || st.getRank() != 1 || st.getDimSize(0) == 1 ||
      x.isDynamicDim(1) || st.getDimSize(0) != x.getDimSize(1))
    return;
  llvm::SmallVector<int64_t> shape(size_t(x.getRank() - 1), 1);
  shape[0] = st.getDimSize(0);
  reshapeOperand(op, 1, shape, opset);
}

struct LegacyBroadcastPass : impl::PlumbLegacyBroadcastBase<LegacyBroadcastPass> {
  void runOnOperation() override {
    auto module = getOperation()->getParentOfType<mlir::ModuleOp>();
    auto opset = module ? module->getAttrOfType<mlir::IntegerAttr>(kOpsetAttr) : nullptr;
    if (!opset || opset.getInt() >= 7)
      return;
    llvm::SmallVector<mlir::Operation *> ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (llvm::isa<PReluOp>(op) || op->hasAttr("broadcast"))
        ops.push_back(op);
    });
    for (mlir::Operation *op : ops) {
      if (auto p = llvm::dyn_cast<PReluOp>(op))
        rewritePRelu(p, opset.getInt());
      else
        rewriteBinary(op, opset.getInt());
    }
  }
};

} // namespace
} // namespace plumb
