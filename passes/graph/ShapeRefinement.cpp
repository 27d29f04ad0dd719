// plumb-shape-refinement: one sweep in SSA order that re-infers every op's result types from
// its (possibly just refined) operands, folds Shape/Size as soon as their input is static and
// folds small shape arithmetic as soon as its inputs are constant. Exporters compute reshape
// targets from the input shape (Shape -> Gather -> Unsqueeze -> Concat -> Reshape); with the
// graph inputs pinned, this turns the whole graph static, without running it. An If whose
// condition has become a constant (exporters branch on a dim: `if x.shape[0] == 1`) is
// replaced by the ops of the branch it takes, which the sweep then refines in turn. A Loop body
// whose carried values keep their shapes is refined from the initial values' types.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"

#include "mlir/IR/BuiltinTypes.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBSHAPEREFINEMENT
#include "passes/Passes.h.inc"

namespace {

using mlir::Operation;
using mlir::RankedTensorType;
using mlir::Type;

// The more precise of `known` (what the IR says now, e.g. from ONNX value_info) and
// `inferred`: static dims of either win. Null when the two contradict each other, in which
// case the IR is left as it is and the verifier or the walker reports the model.
Type refine(Type known, Type inferred) {
  auto k = llvm::dyn_cast<mlir::TensorType>(known);
  auto i = llvm::dyn_cast<mlir::TensorType>(inferred);
  if (!k || !i || k.getElementType() != i.getElementType())
    return k == i ? known : Type();
  if (!k.hasRank())
    return inferred;
  if (!i.hasRank())
    return known;
  if (k.getRank() != i.getRank())
    return Type();
  llvm::SmallVector<int64_t> dims;
  for (int64_t d = 0; d < k.getRank(); ++d) {
    int64_t a = k.getDimSize(d), b = i.getDimSize(d);
    if (a != mlir::ShapedType::kDynamic && b != mlir::ShapedType::kDynamic && a != b)
      return Type();
    dims.push_back(a != mlir::ShapedType::kDynamic ? a : b);
  }
  return RankedTensorType::get(dims, k.getElementType());
}

// Re-infers `op`'s result types, keeping whatever the IR knew that inference does not.
void reinfer(Operation *op) {
  auto iface = llvm::dyn_cast<ShapeInferenceOpInterface>(op);
  if (!iface)
    return;
  llvm::SmallVector<Type> before(op->getResultTypes());
  if (mlir::failed(iface.inferShapes())) {
    for (auto [r, t] : llvm::zip(op->getResults(), before))
      r.setType(t);
    return;
  }
  for (auto [r, t] : llvm::zip(op->getResults(), before)) {
    Type better = refine(t, r.getType());
    r.setType(better ? better : t);
  }
}

// When `op` is an If whose condition is a constant: moves the ops of the branch it takes
// before it, gives its users what that branch yields, erases it and returns the first moved
// op (or the op after the If when the branch only yields). Null otherwise.
Operation *inlineConstantIf(Operation *op) {
  auto ifOp = llvm::dyn_cast<IfOp>(op);
  if (!ifOp)
    return nullptr;
  std::optional<Tensor> cond = constantTensor(ifOp.getCond());
  if (!cond || cond->numel() != 1)
    return nullptr;
  mlir::Block &branch =
      (cond->getAsDouble(0) != 0 ? ifOp.getThenBranch() : ifOp.getElseBranch()).front();
  Operation *yield = branch.getTerminator();
  Operation *next = op->getNextNode();
  Operation *first = &branch.front() == yield ? next : &branch.front();
  op->getBlock()->getOperations().splice(op->getIterator(), branch.getOperations(),
                                         branch.begin(), yield->getIterator());
  for (auto [r, v] : llvm::zip(op->getResults(), yield->getOperands())) {
    // What the If's type knows (ONNX value_info, the graph's output type) and the branch's
    // value does not: kept, on a value the branch computed (the sweep refines it further).
    if (Type better = refine(v.getType(), r.getType()); better && v.getDefiningOp() &&
                                                         v.getDefiningOp()->getBlock() == op->getBlock())
      v.setType(better);
    r.replaceAllUsesWith(v);
  }
  op->erase();
  return first;
}

// A Loop whose carried values keep their shapes: the body's carried arguments take the initial
// values' static types and the body's ops are re-inferred from them. Kept only when what the
// body yields for each carried value has its argument's type again (a fixed point); otherwise
// (a value that grows from one iteration to the next) every body type is restored.
void refineLoopBody(LoopOp loop) {
  mlir::Block &body = loop.getBody().front();
  auto init = loop.getVInitial();
  if (body.getNumArguments() != 2 + init.size())
    return;
  std::vector<std::pair<mlir::Value, Type>> saved;
  for (mlir::BlockArgument a : body.getArguments())
    saved.push_back({a, a.getType()});
  body.walk([&](Operation *o) {
    for (mlir::Value r : o->getResults())
      saved.push_back({r, r.getType()});
  });
  bool changed = false;
  for (size_t i = 0; i < init.size(); ++i) {
    auto t = llvm::dyn_cast<RankedTensorType>(init[i].getType());
    mlir::BlockArgument arg = body.getArgument(unsigned(2 + i));
    Type better = t && t.hasStaticShape() ? refine(arg.getType(), t) : Type();
    if (better && better != arg.getType()) {
      arg.setType(better);
      changed = true;
    }
  }
  if (!changed)
    return;
  for (Operation &op : body)
    if (op.getNumRegions() == 0 && !llvm::isa<ConstantOp>(op))
      reinfer(&op);
  Operation *yield = body.getTerminator();
  for (size_t i = 0; i < init.size(); ++i)
    if (yield->getOperand(unsigned(1 + i)).getType() != body.getArgument(unsigned(2 + i)).getType()) {
      for (auto [v, t] : saved)
        v.setType(t);
      return;
    }
  reinfer(loop);
}

struct ShapeRefinement : impl::PlumbShapeRefinementBase<ShapeRefinement> {
  using PlumbShapeRefinementBase::PlumbShapeRefinementBase;

  void runOnOperation() override {
    mlir::func::FuncOp fn = getOperation();
    for (mlir::Block &block : fn.getBody()) {
      for (Operation *op = block.empty() ? nullptr : &block.front(); op;) {
        if (llvm::isa<IfOp>(op)) {
          Operation *inlined = inlineConstantIf(op);
          op = inlined ? inlined : op->getNextNode();
          continue;
        }
        if (auto loop = llvm::dyn_cast<LoopOp>(op))
          refineLoopBody(loop);
        Operation *next = op->getNextNode(); // folding may replace op
        // Other ops with regions (fusions, control flow) keep their types: their bodies are
        // refined where they are formed.
        if (op->getNumRegions() == 0 && !llvm::isa<ConstantOp>(op)) {
          reinfer(op);
          if (!foldShapeOp(op))
            foldConstantOp(op, maxBytes);
        }
        op = next;
      }
    }
    // The function's declared result types follow the values it returns now.
    auto ret = llvm::dyn_cast<mlir::func::ReturnOp>(fn.getBody().front().getTerminator());
    if (!ret)
      return;
    llvm::SmallVector<Type> results;
    for (auto [declared, v] : llvm::zip(fn.getFunctionType().getResults(), ret.getOperands())) {
      Type better = refine(declared, v.getType());
      if (!better || better != v.getType())
        return; // a result declared more precisely than computed: leave the signature
      results.push_back(better);
    }
    fn.setType(mlir::FunctionType::get(fn.getContext(), fn.getFunctionType().getInputs(),
                                       results));
  }
};

} // namespace
} // namespace plumb
