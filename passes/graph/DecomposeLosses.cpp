// plumb-decompose-losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss as the ops
// they stand for, in the reference kernels' order (backends/reference/kernels/Losses.cpp).
// With input [N, C, d...] and target [N, d...]:
//   logp    = LogSoftmax over C                      (SoftmaxCrossEntropyLoss only)
//   ignored = target == ignore_index                 (when ignore_index is set)
//   t       = Where(ignored, 0, target)              an index every class row has
//   t       = Where(t < 0, C, t)                     a negative target out of range
//   picked  = GatherElements(logp, t[:, None], axis 1), reshaped to [N, d...]
//   weight  = Gather(weight, t) or 1, and 0 where ignored
//   loss    = Where(ignored, 0, -picked * weight)
// then "none" keeps it, "sum" sums it, "mean" divides its sum by the weights' (the element
// count when no weight and no ignore_index: a constant). An all-ignored batch gives 0/0 = NaN
// as the reference does. A target outside [0, C) that is not ignored, which the reference
// refuses, is an index outside GatherElements' range, whose check fails the run on the CUDA
// backend. For backends that generate kernels (CUDA: gathers, a row kernel and elementwise
// kernels instead of a host step).
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBDECOMPOSELOSSES
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

// Whether `op` is in the form decomposed: a static float input [N, C, d...] of a type the
// generated kernels compute, a target [N, d...], a [C] weight of the input's type, a known
// reduction and the loss type that reduction gives.
bool decomposable(mlir::Operation *op) {
  auto xt = staticTensorType(op->getOperand(0));
  auto tt = staticTensorType(op->getOperand(1));
  if (!xt || !tt || xt.getRank() < 2 || xt.getDimSize(1) < 1 || !dtypeOf(tt.getElementType()))
    return false;
  mlir::Type elt = xt.getElementType();
  if (!elt.isF64() && !elt.isF32() && !elt.isF16() && !elt.isBF16())
    return false;
  llvm::SmallVector<int64_t> perItem(xt.getShape());
  perItem.erase(perItem.begin() + 1);
  if (tt.getShape() != llvm::ArrayRef<int64_t>(perItem))
    return false;
  Value weight = op->getNumOperands() > 2 ? op->getOperand(2) : Value();
  if (!absent(weight)) {
    auto wt = staticTensorType(weight);
    if (!wt || wt.getRank() != 1 || wt.getDimSize(0) != xt.getDimSize(1) || wt.getElementType() != elt)
      return false;
  }
  auto reduction = op->getAttrOfType<mlir::StringAttr>("reduction");
  std::string how = reduction ? reduction.getValue().str() : "mean";
  auto lossType = staticTensorType(op->getResult(0));
  if (!lossType || lossType.getElementType() != elt)
    return false;
  if (how == "none")
    return lossType.getShape() == llvm::ArrayRef<int64_t>(perItem);
  return (how == "sum" || how == "mean") && lossType.getRank() == 0;
}

using LocOf = std::function<mlir::Location(const std::string &)>;

// The loss of `op` (decomposable) over the log-probabilities `logp` ([N, C, d...]).
Value nllOf(mlir::OpBuilder &b, mlir::Operation *op, Value logp, const LocOf &loc) {
  auto xt = llvm::cast<mlir::RankedTensorType>(logp.getType());
  Value target = op->getOperand(1);
  Value weight = op->getNumOperands() > 2 ? op->getOperand(2) : Value();
  auto tt = llvm::cast<mlir::RankedTensorType>(target.getType());
  auto reduction = op->getAttrOfType<mlir::StringAttr>("reduction");
  std::string how = reduction ? reduction.getValue().str() : "mean";
  auto ignoreAttr = op->getAttrOfType<mlir::IntegerAttr>("ignore_index");
  mlir::Type elt = xt.getElementType();
  DType dt = *dtypeOf(elt), tdt = *dtypeOf(tt.getElementType());
  llvm::SmallVector<int64_t> perItem(tt.getShape()); // [N, d...]
  auto floats = mlir::RankedTensorType::get(perItem, elt);
  auto bools = mlir::RankedTensorType::get(perItem, b.getI1Type());
  // The loss ops exist from opset 12, where Reshape takes its shape as an input.
  const int64_t opset = 13;

  Value ignored, t = target;
  if (ignoreAttr) {
    Value ignore = scalarConstantOf(b, loc("ignore_index"), double(ignoreAttr.getInt()), tdt);
    ignored = EqualOp::create(b, loc("ignored"), bools, target, ignore);
    t = WhereOp::create(b, loc("target_kept"), tt, ignored, scalarConstantOf(b, loc("class0"), 0.0, tdt),
                        target);
  }
  // A negative target (not ignored) made C: GatherElements would read it from the end, where
  // the reference refuses it; past the classes, the kernel's index check fails the run.
  Value negative = LessOp::create(b, loc("target_negative"), bools, t,
                                  scalarConstantOf(b, loc("zero_class"), 0.0, tdt));
  t = WhereOp::create(b, loc("target_checked"), tt, negative,
                      scalarConstantOf(b, loc("classes"), double(xt.getDimSize(1)), tdt), t);
  llvm::SmallVector<int64_t> column(perItem);
  column.insert(column.begin() + 1, 1); // [N, 1, d...]
  Value index = reshapedTo(b, loc("target_column"), t, column, opset);
  Value picked = GatherElementsOp::create(b, loc("picked"), mlir::RankedTensorType::get(column, elt),
                                          logp, index, b.getI64IntegerAttr(1));
  picked = reshapedTo(b, loc("picked_items"), picked, perItem, opset);
  Value loss = NegOp::create(b, loc("negated"), floats, picked);
  Value weights; // per item; null for all ones
  if (!absent(weight)) {
    weights = GatherOp::create(b, loc("item_weights"), floats, weight, t, b.getI64IntegerAttr(0));
    loss = MulOp::create(b, loc("weighted"), floats, loss, weights);
  }
  if (ignored) {
    Value zero = scalarConstantOf(b, loc("zero"), 0.0, dt);
    loss = WhereOp::create(b, how == "none" ? op->getLoc() : loc("kept"), floats, ignored, zero, loss);
    weights = WhereOp::create(b, loc("kept_weights"), floats, ignored, zero,
                              weights ? weights : scalarConstantOf(b, loc("one"), 1.0, dt));
  }
  if (how == "none")
    return loss;
  auto scalar = mlir::RankedTensorType::get({}, elt);
  auto sum = [&](Value v, mlir::Location l, const std::string &what) -> Value {
    return ReduceSumOp::create(b, l, scalar, v, NoneOp::create(b, loc(what + ".axes"), b.getNoneType()),
                               nullptr, b.getI64IntegerAttr(0), nullptr);
  };
  if (how == "sum")
    return sum(loss, op->getLoc(), "sum");
  Value total = sum(loss, loc("total"), "total");
  Value count = weights ? sum(weights, loc("weight_sum"), "weight_sum")
                        : scalarConstantOf(b, loc("count"), double(floats.getNumElements()), dt);
  return DivOp::create(b, op->getLoc(), scalar, total, count);
}

// LogSoftmax of `x` over axis 1. Past rank 2 over the last axis between transposes, which means
// the same at every opset (before 13, LogSoftmax flattens from its axis on).
Value logSoftmaxOverClasses(mlir::OpBuilder &b, Value x, mlir::Location outLoc, const LocOf &loc) {
  auto xt = llvm::cast<mlir::RankedTensorType>(x.getType());
  int64_t rank = xt.getRank();
  if (rank == 2)
    return LogSoftmaxOp::create(b, outLoc, xt, x, b.getI64IntegerAttr(1));
  llvm::SmallVector<int64_t> perm, back(size_t(rank), 0), shape;
  for (int64_t i = 0; i < rank; ++i)
    if (i != 1)
      perm.push_back(i);
  perm.push_back(1);
  for (int64_t i = 0; i < rank; ++i) {
    back[size_t(perm[size_t(i)])] = i;
    shape.push_back(xt.getDimSize(perm[size_t(i)]));
  }
  auto last = mlir::RankedTensorType::get(shape, xt.getElementType());
  Value moved = TransposeOp::create(b, loc("classes_last"), last, x, b.getI64ArrayAttr(perm));
  Value lsm = LogSoftmaxOp::create(b, loc("log_prob_last"), last, moved, b.getI64IntegerAttr(rank - 1));
  return TransposeOp::create(b, outLoc, xt, lsm, b.getI64ArrayAttr(back));
}

void decompose(mlir::Operation *op) {
  if (!decomposable(op))
    return;
  mlir::OpBuilder b(op);
  std::string name = tensorNameOf(op, 0);
  LocOf loc = [&](const std::string &what) { return fuseNodeLocs({op->getLoc()}, {name + "/" + what}); };
  Value logp = op->getOperand(0);
  bool logProbRead = op->getNumResults() > 1;
  if (llvm::isa<SoftmaxCrossEntropyLossOp>(op))
    logp = logSoftmaxOverClasses(b, logp,
                                 logProbRead ? fuseNodeLocs({op->getLoc()}, {tensorNameOf(op, 1)})
                                             : loc("log_prob"),
                                 loc);
  op->getResult(0).replaceAllUsesWith(nllOf(b, op, logp, loc));
  if (logProbRead)
    op->getResult(1).replaceAllUsesWith(logp);
  op->erase();
}

struct DecomposeLossesPass : impl::PlumbDecomposeLossesBase<DecomposeLossesPass> {
  void runOnOperation() override {
    llvm::SmallVector<mlir::Operation *> ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (llvm::isa<NegativeLogLikelihoodLossOp, SoftmaxCrossEntropyLossOp>(op))
        ops.push_back(op);
    });
    for (mlir::Operation *op : ops)
      decompose(op);
  }
};

} // namespace
} // namespace plumb
