// Helpers the fusion matchers share: fusible ops, constants, use checks, top-level walk.
#pragma once

#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>
#include <string>

namespace plumb {

// A group of ops a matcher wants outlined, and the kind that names it.
struct FusionMatch {
  llvm::SmallVector<mlir::Operation *> ops;
  std::string kind;

  void add(mlir::Operation *op) { ops.push_back(op); }
  void add(llvm::ArrayRef<mlir::Operation *> more) { ops.append(more.begin(), more.end()); }
  bool contains(mlir::Operation *op) const { return llvm::is_contained(ops, op); }
};

// An op that may join a fusion: a plumb compute op at function level (never inside a fusion
// body, so fusions do not nest), and not a constant, none, fusion or yield.
bool isFusible(mlir::Operation *op);

// The user of `v` when `v` has exactly one use and its user is a fusible OpTy.
template <typename OpTy> OpTy soleUser(mlir::Value v) {
  if (!v || !v.hasOneUse())
    return nullptr;
  mlir::Operation *user = *v.user_begin();
  return isFusible(user) ? llvm::dyn_cast<OpTy>(user) : nullptr;
}

// The fusible OpTy defining `v` (null otherwise).
template <typename OpTy> OpTy fusibleDef(mlir::Value v) {
  mlir::Operation *def = v ? v.getDefiningOp() : nullptr;
  return def && isFusible(def) ? llvm::dyn_cast<OpTy>(def) : nullptr;
}

// The operand of two-operand `op` that is not `v`; null when `v` is not an operand.
mlir::Value otherOperand(mlir::Operation *op, mlir::Value v);

// A residual Add: `cur` (an anchor's result) plus a same-shaped tensor that is no constant and
// is computed before `anchor`, so a kernel can add it as it writes (a conv's post-op, a GEMM's
// C); of two converging anchors the later takes the Add.
bool isResidualAdd(AddOp add, mlir::Value cur, mlir::Operation *anchor);

// Whether `v` is defined by plumb.Constant.
bool isConstant(mlir::Value v);
// The value of a one-element constant (any float or integer type).
std::optional<double> scalarConstant(mlir::Value v);
// Whether `v` is a one-element constant within `relTol` of `expected`.
bool isScalarNear(mlir::Value v, double expected, double relTol = 1e-3);
// Whether axis `axis` of a tensor like `v` is its last axis (-1, or rank - 1 when ranked).
bool isLastAxis(int64_t axis, mlir::Value v);

// Whether every use of `v` is by one of `ops`.
bool usesAllIn(mlir::Value v, llvm::ArrayRef<mlir::Operation *> ops);

// Calls `visit` on each top-level op of `fn` in block order, and on the ops of each If branch
// and Loop or Scan body after their op (each fusion then stays within its block, and a body's
// plan gets the same fused steps as the graph's). Works on a snapshot, so `visit` may
// outline; ops already moved into a fusion are skipped.
void forEachTopLevelOp(mlir::func::FuncOp fn, llvm::function_ref<void(mlir::Operation *)> visit);

// Outlines `m` (any order, duplicates allowed); false when outlining refused.
bool applyFusion(mlir::RewriterBase &rewriter, const FusionMatch &m);

} // namespace plumb
