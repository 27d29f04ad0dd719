// Sibling kernels: elementwise ops (or fusions of them) that read common values and would each
// be a kernel of their own, lowered as one kernel writing all their results. planSiblings
// groups them before the walk; the walk lowers a group at its first member (lowerSiblings).
// Llama's rotary tables (Cos and Sin of the angles) and each layer's q and k rotations are
// such groups.
#include "backends/cuda/lowering/Lowerer.h"

#include "ir/TensorAttr.h"

#include <functional>

using namespace mlir;

namespace plumb::cuda {

void Lowerer::planSiblings(func::FuncOp fn) {
  // An op that would be a generated kernel of its own: elementwise arithmetic (or a fusion of
  // elementwise ops and movement) of a static shape that no reader computes, reading no norm
  // or softmax (whose kernel would be a row kernel computing it).
  auto candidate = [&](Operation *op) {
    auto f = dyn_cast<FusionOp>(op);
    return op->getNumResults() == 1 && (f ? elementwiseBody(f) : arithmetic(op)) && !kept(op) &&
           !cpu::touchesRunTimeShape(op, runTime_) &&
           deviceFloat(op->getResult(0).getType()) && staticShape(op->getResult(0)) &&
           !deferrable(op, false) && !sharedWithRow(op) &&
           llvm::none_of(op->getOperands(), [](Value v) {
             Operation *d = v.getDefiningOp();
             return d && rowWork(d);
           });
  };
  Block &block = fn.getBody().front();
  for (Operation &x : block.without_terminator()) {
    if (siblingLeader_.count(&x) || !candidate(&x))
      continue;
    std::vector<Operation *> group = {&x};
    // Defined where the group's kernel runs, or computed or viewed by it from such values
    // (Llama's k rotation: the Concat of its halves comes after q's rotation, but k's kernel
    // computes it from the projection).
    std::function<bool(Value)> ready = [&](Value w) {
      Operation *d = w.getDefiningOp();
      if (!d || isa<NoneType>(w.getType()) || isa<ConstantOp>(d) || d->isBeforeInBlock(&x))
        return true; // a constant is lowered when first needed (operand)
      return (viewOnly(d) || deferrable(d, false)) && llvm::all_of(d->getOperands(), ready);
    };
    // Readers of what any member reads join in turn (q * cos, k * cos, k * sin, q * sin).
    for (size_t i = 0; i < group.size(); ++i)
      for (Value v : group[i]->getOperands()) {
        if (v.getDefiningOp<ConstantOp>() || isa<NoneType>(v.getType()))
          continue;
        for (Operation *y : v.getUsers())
          if (y->getBlock() == &block && x.isBeforeInBlock(y) && !siblingLeader_.count(y) &&
              !llvm::is_contained(group, y) && llvm::all_of(y->getOperands(), ready) &&
              candidate(y))
            group.push_back(y);
      }
    if (group.size() < 2)
      continue;
    llvm::sort(group, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    for (Operation *m : group)
      siblingLeader_[m] = &x;
    siblings_[&x] = group;
  }
}

void Lowerer::lowerSiblings(ArrayRef<Operation *> group) {
  // What a later member reads that comes after the leader (planSiblings allowed constants,
  // views and deferred ops of such): visited now, in order, and skipped by the walk.
  std::function<void(Value)> ahead = [&](Value v) {
    Operation *d = v.getDefiningOp();
    if (!d || !isa<func::FuncOp>(d->getParentOp()) || d->isBeforeInBlock(group.front()) ||
        llvm::is_contained(group, d) || visitedAhead_.count(d))
      return;
    for (Value w : d->getOperands())
      ahead(w);
    lowerOp(d);
    visitedAhead_.insert(d);
  };
  for (Operation *m : group)
    for (Value v : m->getOperands())
      ahead(v);
  // A fusion member's body reads its operands as lowerFusion has it (pending ones through
  // aliases); its ops join the group's.
  std::vector<std::vector<Operation *>> bodies;
  std::vector<Operation *> all;
  for (Operation *m : group) {
    auto f = dyn_cast<FusionOp>(m);
    if (!f) {
      bodies.push_back({m});
      all.push_back(m);
      continue;
    }
    bindArguments(f);
    bodies.push_back(fusionBodyOps(f, [&](Operation *op) { lowerOp(op); }));
    llvm::append_range(all, bodies.back());
  }
  if (lowerGenerated(all, "elementwise")) {
    stats_->siblingKernels++;
    stats_->siblingOps += int64_t(group.size());
  } else { // a kernel each
    for (auto [m, ops] : llvm::zip(group, bodies)) {
      auto f = dyn_cast<FusionOp>(m);
      lowerGroup(ops, f ? f.getKind() : onnxOpType(m));
    }
  }
  for (Operation *m : group)
    if (auto f = dyn_cast<FusionOp>(m))
      bindResults(f);
}

} // namespace plumb::cuda
