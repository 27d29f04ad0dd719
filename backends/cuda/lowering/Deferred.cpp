// Ops lowered later or never (Lowerer::pending_) that their one reader's generated kernel
// computes: composite kernels; row kernels with the elementwise ops before and after a norm;
// Einsum and CumSum with the ops before them. The splits, slices, transposes, expands and
// reshapes read through as strided views of one buffer (a fused QKV projection's Q, K and V;
// the pieces of a Split; an Einsum's reshaped operands) are in Views.cpp.
#include "backends/cuda/lowering/Lowerer.h"

#include "ir/TensorAttr.h"

#include <functional>

using namespace mlir;

namespace plumb::cuda {

bool generatedBody(FusionOp f) {
  if (f.getKind() == "attention")
    return false;
  return llvm::all_of(f.getBody().front().without_terminator(), [](Operation &op) {
    return isa<NoneOp>(op) || isComposableMovement(onnxOpType(&op).str()) || isGeneratable(&op);
  });
}

bool residualArgument(FusionOp f, unsigned index) {
  StringRef kind = f.getKind();
  if (!(kind.starts_with("matmul") || kind.starts_with("gemm")) || !kind.contains("+add"))
    return false;
  BlockArgument arg = f.getBody().front().getArgument(index);
  if (!arg.hasOneUse() || !isa<AddOp>(*arg.user_begin()))
    return false;
  Operation *add = *arg.user_begin();
  Value other = add->getOperand(0) == arg ? add->getOperand(1) : add->getOperand(0);
  Operation *def = other.getDefiningOp(); // the bias Add, or the GEMM when there is none
  return def && (kind.contains("+bias") ? isa<AddOp>(def) : isa<MatMulOp, GemmOp>(def));
}

bool elementwiseBody(FusionOp f) {
  if (f.getKind() == "elementwise")
    return true;
  if (f.getKind() == "attention")
    return false;
  return llvm::all_of(f.getBody().front().without_terminator(), [](Operation &op) {
    std::string t = onnxOpType(&op).str();
    return isComposableMovement(t) || (isSupportedElementwise(t) && isGeneratable(&op));
  });
}

// Whether `op` is a row kernel's work that the elementwise kernel reading it can take in as
// its reductions (an epilogue): a norm, Softmax or row reduction, or a fusion of such and
// elementwise ops ("layer_norm", "rms_norm"); no movement (a row kernel computes none).
bool rowWork(Operation *op) {
  auto f = dyn_cast<FusionOp>(op);
  if (!f)
    return isRowOp(onnxOpType(op).str()) && isGeneratable(op);
  if (!generatedBody(f))
    return false;
  bool reduces = false;
  for (Operation &b : f.getBody().front().without_terminator()) {
    if (isa<NoneOp>(b))
      continue;
    std::string t = onnxOpType(&b).str();
    if (!isRowOp(t) && !isSupportedElementwise(t))
      return false;
    reduces |= isRowOp(t);
  }
  return reduces;
}

// Whether `op` is floating-point elementwise arithmetic a generated kernel computes: a
// generatable elementwise op, or a fusion of them alone (an activation, "elementwise").
bool arithmetic(Operation *op) {
  auto f = dyn_cast<FusionOp>(op);
  if (!f)
    return isSupportedElementwise(onnxOpType(op).str()) && isGeneratable(op);
  return f.getKind() != "attention" &&
         llvm::all_of(f.getBody().front().without_terminator(), [](Operation &b) {
           return isa<NoneOp>(b) ||
                  (isSupportedElementwise(onnxOpType(&b).str()) && isGeneratable(&b));
         });
}

namespace {

// The one op reading `r`, which may read it more than once (x * x); null when none or several
// do. A value its one reader reads twice is computed once in that reader's kernel.
Operation *soleReader(Value r) {
  if (r.use_empty())
    return nullptr;
  Operation *first = *r.user_begin();
  return llvm::all_of(r.getUsers(), [&](Operation *u) { return u == first; }) ? first : nullptr;
}

// Whether a kernel computing a deferred op can load an operand of type `t`: floats, and
// booleans (Mamba2's causal mask under a Where).
bool loadable(Type t) {
  auto tt = dyn_cast<TensorType>(t);
  return deviceFloat(t) || (tt && tt.getElementType().isInteger(1));
}

// Whether `op` reads, through composable movement, deferred arithmetic or movement that is no
// view (a Pad): an Einsum or CumSum kernel computes the movement between, where a pure view
// of a buffer is read in place.
bool readsComputed(Operation *op, const llvm::DenseMap<Value, Operation *> &pending,
                   const std::function<Value(Value)> &canonical) {
  for (Value v : op->getOperands()) {
    auto p = pending.find(canonical(v));
    if (p == pending.end() || p->second->getNumResults() != 1)
      continue;
    bool moves = isComposableMovement(onnxOpType(p->second).str());
    if (arithmetic(p->second) ||
        (moves && (!isViewOp(p->second) || readsComputed(p->second, pending, canonical))))
      return true;
  }
  return false;
}

} // namespace

bool Lowerer::sharedWithRow(Operation *op) const {
  if (op->getNumResults() != 1 || soleReader(op->getResult(0)) || !arithmetic(op) ||
      !isa<func::FuncOp>(op->getParentOp()))
    return false;
  Value r = op->getResult(0);
  std::optional<SmallVector<int64_t>> shape = staticShape(r);
  bool any = false;
  for (Operation *u : r.getUsers()) {
    if (!rowWork(u) || u->getNumResults() != 1)
      continue;
    if (staticShape(u->getResult(0)) != shape)
      return false;
    any = true;
  }
  return shape && any;
}

bool Lowerer::lowerPulled(Operation *op) {
  std::vector<Operation *> all = withPending({op});
  llvm::SmallPtrSet<Operation *, 16> pulled(all.begin(), all.end() - 1);
  bool any = false;
  for (Value v : op->getOperands()) {
    Operation *def = canonical(v).getDefiningOp(); // a deferred fusion's: its body's
    if (def && pulled.count(def) && pending_.count(canonical(v))) {
      operand(v);
      any = true;
    }
  }
  return any;
}

bool Lowerer::readsPendingRow(Operation *op) const {
  for (Value v : op->getOperands()) {
    auto p = pending_.find(canonical(v));
    if (p == pending_.end() || p->second->getNumResults() != 1)
      continue;
    Operation *q = p->second;
    if (rowWork(q) || (arithmetic(q) && readsPendingRow(q)))
      return true;
  }
  return false;
}

// An op its one reader's generated kernel can compute (a composite kernel): composable
// movement (constant steering operands) or a generatable elementwise op, with float results
// (bool operands too: a mask under a Where), read once by an elementwise body, an elementwise
// op or composable movement (not a head transpose an attention kernel reads through: it
// needs its operand's buffer). An elementwise op may also be read by a row kernel (a
// LayerNorm, RMSNorm or Softmax, alone or as a fusion body), which recomputes it in each pass
// over the row: BERT's residual Add before each LayerNorm; read by a row kernel and others
// too, it is written by the first kernel computing it (sharedWithRow). An elementwise op, or
// movement that is no view, read once by an Einsum (any operand) or CumSum (its data) is
// computed where that kernel loads it (ValueWriter). A fusion of elementwise ops alone (an
// activation: SiLU, GELU) is deferred like one such op: its reader's kernel computes its body.
// "Read once" means by one op: a reader taking it twice (s * s) computes it once.
// A norm or softmax (rowWork) read once by elementwise arithmetic of its own shape is
// deferred into that reader, which becomes a row kernel: DiT's modulate, LN(x) * (1 + scale)
// + shift, is computed in the LayerNorm's last pass instead of a kernel of its own. An op
// reading such a deferred one (through arithmetic) is then lowered where it stands: its
// kernel is that row kernel.
bool Lowerer::deferrable(Operation *op, bool converging) const {
  if (op->getNumResults() != 1 || !isa<func::FuncOp>(op->getParentOp()) || kept(op) ||
      siblingLeader_.count(op))
    return false;
  Value r = op->getResult(0);
  if (!deviceFloat(r.getType()))
    return false;
  Operation *user = readerOf(r, converging);
  if (!user)
    return sharedWithRow(op) && llvm::all_of(op->getOperandTypes(), loadable) &&
           !readsPendingRow(op);
  std::string t = onnxOpType(op).str();
  bool moves = isComposableMovement(t), rows = rowWork(op);
  if (isa<FusionOp>(op)) {
    if (!(arithmetic(op) || rows) || !llvm::all_of(op->getOperandTypes(), loadable))
      return false;
  } else if (!moves && !rows && !arithmetic(op)) {
    return false;
  }
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    if (isa<NoneType>(v.getType()))
      continue;
    // A Cast to float loads any integer (LLaMA's position ids, cast for the rotary angles).
    bool cast = t == "Cast" && isa<IntegerType>(getElementTypeOrSelf(v.getType()));
    if ((moves || rows) && steeringOperand(t, i) ? !constantTensor(v)
                                                 : !(loadable(v.getType()) || cast))
      return false;
  }
  if (rows) {
    std::optional<SmallVector<int64_t>> shape = staticShape(r);
    return shape && arithmetic(user) && user->getNumResults() == 1 &&
           isa<func::FuncOp>(user->getParentOp()) && deviceFloat(user->getResult(0).getType()) &&
           staticShape(user->getResult(0)) == shape;
  }
  if (!moves && readsPendingRow(op))
    return false;
  // Arithmetic is computed once per element read: not under movement that several kernels
  // read (each would compute it again), only movement itself is recomputed.
  // Nor when that movement ends in an attention kernel, which reads views only (GQA's
  // repeated K heads): the op would be lowered on its own when attention asks for it anyway.
  for (Operation *u = user; !moves && isComposableMovement(onnxOpType(u).str());) {
    if (!(u = readerOf(u->getResult(0), converging)))
      return false;
    if (auto f = dyn_cast<FusionOp>(u); f && f.getKind() == "attention")
      return false;
  }
  if (auto f = dyn_cast<FusionOp>(user))
    return elementwiseBody(f) || (!moves && generatedBody(f));
  std::string u = onnxOpType(user).str();
  if (!moves && isRowOp(u) && isGeneratable(user))
    return true;
  // An Einsum's operand, or CumSum's data: computed where the kernel loads it (movement
  // only if no view: Mamba2's Concat of zeros and a chunk's states).
  if (takesPrologue(u) && isa<func::FuncOp>(user->getParentOp()) && (!moves || !isViewOp(op)))
    return u == "Einsum" ||
           llvm::all_of(r.getUses(), [](OpOperand &use) { return use.getOperandNumber() == 0; });
  if (isa<TransposeOp>(user) && user->getResult(0).hasOneUse()) {
    auto f = dyn_cast<FusionOp>(*user->getResult(0).user_begin());
    if (f && f.getKind() == "attention")
      return false;
  }
  return isComposableMovement(u) || (isSupportedElementwise(u) && isGeneratable(user));
}

Operation *Lowerer::readerOf(Value r, bool converging) const {
  if (Operation *u = soleReader(r); u || !converging || r.use_empty())
    return u;
  Operation *common = nullptr;
  for (Operation *u : r.getUsers()) {
    Operation *k = u;
    if (auto it = siblingLeader_.find(u); it != siblingLeader_.end())
      k = it->second;
    else if (deferrable(u, false))
      k = soleReader(u->getResult(0));
    if (!k || (common && k != common))
      return nullptr;
    common = k;
  }
  return common;
}

std::vector<Operation *> Lowerer::withPending(ArrayRef<Operation *> ops) const {
  std::vector<Operation *> all;
  llvm::SmallPtrSet<Operation *, 8> seen;
  // A row kernel computes elementwise producers in its passes, but no movement; it is one
  // when `ops` reduce rows or read a deferred norm or softmax (an epilogue). An Einsum or
  // CumSum computes elementwise producers where it loads them, and reads movement as views.
  bool row = llvm::any_of(ops, [&](Operation *op) {
    return isRowOp(onnxOpType(op).str()) || readsPendingRow(op);
  });
  bool window =
      llvm::any_of(ops, [](Operation *op) { return takesPrologue(onnxOpType(op).str()); });
  std::function<void(Operation *)> visit = [&](Operation *op) {
    std::string t = onnxOpType(op).str();
    if (!isComposableMovement(t) && !isSupportedElementwise(t) && !(row && isRowOp(t)) &&
        !takesPrologue(t))
      return; // only composite, row, Einsum and CumSum kernels compute what they read
    for (Value v : op->getOperands()) {
      auto p = pending_.find(canonical(v));
      if (p == pending_.end() || p->second->getNumResults() != 1)
        continue; // a Split left pending as views is never computed inside
      if (auto f = dyn_cast<FusionOp>(p->second)) { // its body, in order, after what it reads
        if (!seen.insert(f).second)
          continue;
        for (Operation &b : f.getBody().front().without_terminator())
          if (!isa<NoneOp>(b)) {
            visit(&b);
            all.push_back(&b);
          }
        continue;
      }
      std::string pt = onnxOpType(p->second).str();
      // An Einsum or CumSum computes movement that is no view or reads what it computes
      // (readsComputed); it reads the rest in place.
      bool computable =
          isSupportedElementwise(pt) ||
          (row ? rowWork(p->second)
               : isComposableMovement(pt) &&
                     (!window || !isViewOp(p->second) ||
                      readsComputed(p->second, pending_, [&](Value x) { return canonical(x); })));
      if (!computable || !seen.insert(p->second).second)
        continue; // a Gather read as a view is not computed inside either
      visit(p->second);
      all.push_back(p->second); // after what it reads
    }
  };
  for (Operation *op : ops)
    visit(op);
  all.insert(all.end(), ops.begin(), ops.end());
  return all;
}

} // namespace plumb::cuda
