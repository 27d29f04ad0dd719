// Helpers the fusion matchers share (see Match.h).
#include "passes/fusion/Match.h"

#include "ir/TensorAttr.h"
#include "passes/fusion/Outline.h"

#include <cmath>

using namespace mlir;

namespace plumb {

bool isFusible(Operation *op) {
  if (!op || !isa_and_nonnull<PlumbDialect>(op->getDialect()))
    return false;
  if (isa<ConstantOp, NoneOp, FusionOp, YieldOp>(op))
    return false;
  return !op->getParentOfType<FusionOp>();
}

Value otherOperand(Operation *op, Value v) {
  if (!op || op->getNumOperands() != 2)
    return {};
  if (op->getOperand(0) == v)
    return op->getOperand(1);
  if (op->getOperand(1) == v)
    return op->getOperand(0);
  return {};
}

bool isConstant(Value v) { return v && v.getDefiningOp<ConstantOp>(); }

bool isResidualAdd(AddOp add, Value cur, Operation *anchor) {
  Value other = otherOperand(add, cur);
  if (!other || other == cur || isConstant(other) || add.getType() != cur.getType())
    return false;
  auto a = dyn_cast<RankedTensorType>(other.getType());
  auto b = dyn_cast<RankedTensorType>(cur.getType());
  if (!a || !b || a.getShape() != b.getShape())
    return false;
  Operation *def = other.getDefiningOp();
  return !def || (def->getBlock() == anchor->getBlock() && def->isBeforeInBlock(anchor));
}

std::optional<double> scalarConstant(Value v) {
  auto cst = v ? v.getDefiningOp<ConstantOp>() : nullptr;
  if (!cst)
    return std::nullopt;
  if (std::optional<APFloat> f = cst.getValueFloat())
    return f->convertToDouble();
  if (IntegerAttr i = cst.getValueIntAttr())
    return double(i.getInt());
  ElementsAttr attr = cst.getValueAttr();
  if (!attr || attr.getNumElements() != 1)
    return std::nullopt;
  // tensorFromAttr throws for element types plumb does not know; such a constant is no match.
  try {
    return tensorFromAttr(attr).getAsDouble(0);
  } catch (...) {
    return std::nullopt;
  }
}

bool isScalarNear(Value v, double expected, double relTol) {
  std::optional<double> c = scalarConstant(v);
  return c && std::abs(*c - expected) <= relTol * std::abs(expected);
}

bool isLastAxis(int64_t axis, Value v) {
  if (axis == -1)
    return true;
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && axis == type.getRank() - 1;
}

bool usesAllIn(Value v, ArrayRef<Operation *> ops) {
  return llvm::all_of(v.getUsers(), [&](Operation *u) { return llvm::is_contained(ops, u); });
}

void forEachTopLevelOp(func::FuncOp fn, llvm::function_ref<void(Operation *)> visit) {
  std::function<void(Block &)> walk = [&](Block &block) {
    SmallVector<Operation *> snapshot;
    for (Operation &op : block)
      snapshot.push_back(&op);
    for (Operation *op : snapshot) {
      if (op->getBlock() != &block)
        continue;
      visit(op);
      if (isa<IfOp, LoopOp, ScanOp>(op) && op->getBlock() == &block)
        for (Region &r : op->getRegions())
          for (Block &body : r)
            walk(body);
    }
  };
  for (Block &block : fn.getBody())
    walk(block);
}

bool applyFusion(RewriterBase &rewriter, const FusionMatch &m) {
  return succeeded(outlineIntoFusion(rewriter, m.ops, m.kind));
}

} // namespace plumb
