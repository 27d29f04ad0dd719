// plumb-decompose-batchnorm: an inference BatchNormalization that no Conv took in
// (plumb-fold-conv-bn) as the elementwise ops it stands for, in the reference kernel's order:
//   y = (x - mean) / sqrt(var + epsilon) * scale + B
// with the [C] parameters reshaped to [C, 1, ..., 1] (per channel: axis 1). With a constant
// variance, sqrt(var + epsilon) is folded by the reference kernels, so it holds the value the
// reference computes. For backends that generate elementwise kernels: the CUDA backend ran a
// BatchNormalization after anything but a Conv on the host (pre-activation blocks, DenseNet's
// BN after a Concat, BatchNorm1d after a Linear); now its ops are one kernel, or are computed
// by their reader's.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBDECOMPOSEBATCHNORM
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

void decompose(BatchNormalizationOp bn, int64_t opset) {
  if (!bn.getTrainingOutputs().empty() ||
      (bn.getTrainingModeAttr() && bn.getTrainingModeAttr().getInt() != 0) ||
      (opset < 9 && bn.getSpatialAttr() && bn.getSpatialAttr().getInt() == 0))
    return;
  auto xt = staticTensorType(bn.getX());
  if (!xt || xt.getRank() < 2 || bn.getY().getType() != xt)
    return;
  std::optional<DType> dt = dtypeOf(xt.getElementType());
  if (!dt || !isFloat(*dt))
    return;
  int64_t c = xt.getDimSize(1);
  Value params[] = {bn.getScale(), bn.getB(), bn.getInputMean(), bn.getInputVar()};
  for (Value p : params) {
    auto pt = staticTensorType(p);
    if (!pt || pt.getRank() != 1 || pt.getDimSize(0) != c ||
        pt.getElementType() != xt.getElementType() || (opset < 5 && !constantTensor(p)))
      return; // before opset 5 only a constant can be reshaped here (reshapedTo)
  }
  mlir::OpBuilder b(bn);
  std::string name = tensorNameOf(bn, 0);
  auto loc = [&](const std::string &what) {
    return fuseNodeLocs({bn->getLoc()}, {name + "/" + what});
  };
  llvm::SmallVector<int64_t> shape(size_t(xt.getRank() - 1), 1);
  shape[0] = c;
  Value scale = reshapedTo(b, loc("scale"), params[0], shape, opset);
  Value bias = reshapedTo(b, loc("bias"), params[1], shape, opset);
  Value mean = reshapedTo(b, loc("mean"), params[2], shape, opset);
  Value var = reshapedTo(b, loc("var"), params[3], shape, opset);
  auto pt = mlir::RankedTensorType::get(shape, xt.getElementType());
  // Before opset 7 a binary op broadcasts only with broadcast=1 (B onto A, trailing).
  auto legacy = [&](mlir::Operation *op) {
    if (opset < 7)
      op->setAttr("broadcast", b.getI64IntegerAttr(1));
    return op;
  };
  double eps = bn.getEpsilonAttr() ? bn.getEpsilonAttr().getValueAsDouble() : 1e-5;
  Value epsilon = scalarConstantOf(b, loc("epsilon"), eps, *dt);
  mlir::Operation *shifted = legacy(AddOp::create(b, loc("var_plus_epsilon"), pt, var, epsilon));
  mlir::Operation *stddev = SqrtOp::create(b, loc("stddev"), pt, shifted->getResult(0));
  Value centered = legacy(SubOp::create(b, loc("centered"), xt, bn.getX(), mean))->getResult(0);
  Value normalized =
      legacy(DivOp::create(b, loc("normalized"), xt, centered, stddev->getResult(0)))->getResult(0);
  Value scaled = legacy(MulOp::create(b, loc("scaled"), xt, normalized, scale))->getResult(0);
  Value y = legacy(AddOp::create(b, bn->getLoc(), xt, scaled, bias))->getResult(0);
  bn.getY().replaceAllUsesWith(y);
  bn->erase();
  if (foldConstantOp(shifted, int64_t(1) << 20))
    foldConstantOp(stddev, int64_t(1) << 20);
}

struct DecomposeBatchNormPass : impl::PlumbDecomposeBatchNormBase<DecomposeBatchNormPass> {
  void runOnOperation() override {
    auto module = getOperation()->getParentOfType<mlir::ModuleOp>();
    auto opset = module ? module->getAttrOfType<mlir::IntegerAttr>(kOpsetAttr) : nullptr;
    llvm::SmallVector<BatchNormalizationOp> ops;
    getOperation().walk([&](BatchNormalizationOp op) { ops.push_back(op); });
    for (BatchNormalizationOp op : ops)
      decompose(op, opset ? opset.getInt() : 17);
  }
};

} // namespace
} // namespace plumb
