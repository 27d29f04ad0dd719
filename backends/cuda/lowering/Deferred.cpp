// Ops lowered later or never (Lowerer::pending_): those their one reader's generated kernel
// computes (composite kernels; row kernels with the elementwise ops before and after a norm;
// Einsum and CumSum with the ops before them), and the splits, slices, transposes, expands
// and reshapes the kernels reading them read through as strided views of one buffer (a fused
// QKV projection's Q, K and V; the pieces of a Split read by elementwise and movement
// kernels; an Einsum's reshaped operands).
#include "backends/cuda/lowering/Lowerer.h"

#include "backends/reference/Interpreter.h"
#include "backends/reference/kernels/Common.h"
#include "ir/TensorAttr.h"

#include <functional>
#include <tuple>

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

namespace {

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

bool isViewOp(Operation *op); // below

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
  if (op->getNumResults() != 1 || op->getResult(0).hasOneUse() || !arithmetic(op) ||
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
// A norm or softmax (rowWork) read once by elementwise arithmetic of its own shape is
// deferred into that reader, which becomes a row kernel: DiT's modulate, LN(x) * (1 + scale)
// + shift, is computed in the LayerNorm's last pass instead of a kernel of its own. An op
// reading such a deferred one (through arithmetic) is then lowered where it stands: its
// kernel is that row kernel.
bool Lowerer::deferrable(Operation *op) const {
  if (op->getNumResults() != 1 || !isa<func::FuncOp>(op->getParentOp()) || kept(op))
    return false;
  Value r = op->getResult(0);
  if (!deviceFloat(r.getType()))
    return false;
  if (!r.hasOneUse())
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
    if ((moves || rows) && steeringOperand(t, i) ? !constantTensor(v) : !loadable(v.getType()))
      return false;
  }
  Operation *user = *r.user_begin();
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
  for (Operation *u = user; !moves && isComposableMovement(onnxOpType(u).str());) {
    Value ur = u->getResult(0);
    if (!ur.hasOneUse())
      return false;
    u = *ur.user_begin();
  }
  if (auto f = dyn_cast<FusionOp>(user))
    return elementwiseBody(f) || (!moves && generatedBody(f));
  std::string u = onnxOpType(user).str();
  if (!moves && isRowOp(u) && isGeneratable(user))
    return true;
  // An Einsum's operand, or CumSum's data: computed where the kernel loads it (movement
  // only if no view: Mamba2's Concat of zeros and a chunk's states).
  if (takesPrologue(u) && isa<func::FuncOp>(user->getParentOp()) && (!moves || !isViewOp(op)))
    return u == "Einsum" || r.getUses().begin()->getOperandNumber() == 0;
  if (isa<TransposeOp>(user) && user->getResult(0).hasOneUse()) {
    auto f = dyn_cast<FusionOp>(*user->getResult(0).user_begin());
    if (f && f.getKind() == "attention")
      return false;
  }
  return isComposableMovement(u) || (isSupportedElementwise(u) && isGeneratable(user));
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


namespace {

// Whether an attention body reads `arg` as Q, K or V: only its MatMuls do (K maybe through
// the body's Transpose). Strided views are for those alone.
bool readAsQkv(BlockArgument arg) {
  auto matmul = [](Operation *u) { return isa<MatMulOp>(u); };
  return !arg.use_empty() && llvm::all_of(arg.getUsers(), [&](Operation *u) {
    return matmul(u) || (isa<TransposeOp>(u) && llvm::all_of(u->getUsers(), matmul));
  });
}

// The (strides, divisors) of `out`, a reshape of a view of shape `in` at strides `st` and
// divisors `dv` (dim k's index i is at (i / dv[k]) * st[k]), if it is a view of the same
// memory. Dims whose sizes multiply to the same number on both sides form a group; a group
// must be contiguous within itself on the `in` side (unit dims take any stride), all stride 0
// (a broadcast), or contiguous dims followed by stride-0 ones merged into one dim: a repeat
// (GQA's key/value heads expanded and merged with the head dim), whose index is divided by
// the repeat count.
std::optional<std::pair<std::vector<int64_t>, std::vector<int64_t>>>
reshapeStrides(const Shape &in, const std::vector<int64_t> &st, const std::vector<int64_t> &dv,
               const Shape &out) {
  std::vector<int64_t> dims, strides, divs;
  for (size_t k = 0; k < in.size(); ++k)
    if (in[k] != 1) {
      dims.push_back(in[k]);
      strides.push_back(st[k]);
      divs.push_back(dv[k]);
    }
  std::vector<int64_t> res(out.size(), 0), resDiv(out.size(), 1);
  size_t i = 0, o = 0;
  while (o < out.size()) {
    if (out[o] == 1) {
      ++o;
      continue;
    }
    if (i >= dims.size())
      return std::nullopt;
    size_t i0 = i, o0 = o;
    int64_t pi = dims[i], po = out[o];
    while (pi != po) {
      if (pi < po) {
        if (++i >= dims.size())
          return std::nullopt;
        pi *= dims[i];
      } else {
        if (++o >= out.size())
          return std::nullopt;
        po *= out[o];
      }
    }
    // The group's in dims i0..i: contiguous ones, then (for a repeat) stride-0 ones.
    size_t last = i + 1;
    while (last > i0 && strides[last - 1] == 0 && divs[last - 1] == 1)
      --last;
    int64_t repeat = 1;
    for (size_t k = last; k <= i; ++k)
      repeat *= dims[k];
    if (last == i0) { // all broadcast: stride 0 throughout
      ++i;
      ++o;
      continue;
    }
    if (i0 == i && o0 == o) { // one dim to one dim: kept as it is
      res[o] = strides[i];
      resDiv[o] = divs[i];
      ++i;
      ++o;
      continue;
    }
    for (size_t k = i0; k < last; ++k)
      if (divs[k] != 1 || (k + 1 < last && strides[k] != strides[k + 1] * dims[k + 1]))
        return std::nullopt;
    if (repeat != 1) {
      if (o0 != o) // a repeat split again: not one stride per dim
        return std::nullopt;
      res[o] = strides[last - 1];
      resDiv[o] = repeat;
    } else {
      int64_t stride = strides[i];
      for (size_t k = o + 1; k-- > o0;) {
        res[k] = stride;
        stride *= out[k];
      }
    }
    ++i;
    ++o;
  }
  if (i != dims.size())
    return std::nullopt;
  return std::make_pair(res, resDiv);
}

// Where each result of a Split starts along its axis; empty if the sizes are not constants
// (or, without them, the dim does not divide evenly).
std::vector<int64_t> splitStarts(Operation *op, int64_t dim) {
  std::vector<int64_t> sizes;
  if (op->getNumOperands() > 1 && !isa<NoneType>(op->getOperand(1).getType())) {
    std::optional<Tensor> c = constantTensor(op->getOperand(1));
    if (!c)
      return {};
    sizes = c->toInts();
  } else {
    sizes = ref::attrsOf(op).getInts("split");
  }
  int64_t n = int64_t(op->getNumResults());
  if (sizes.empty()) {
    if (dim % n != 0)
      return {};
    sizes.assign(size_t(n), dim / n);
  }
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (int64_t s : sizes) {
    starts.push_back(at);
    at += s;
  }
  return at == dim && int64_t(starts.size()) == n ? starts : std::vector<int64_t>{};
}

// The one index of a Gather whose indices are a constant of one element (a scalar drops
// the axis, a [1] keeps it), made non-negative against `dim`; nullopt otherwise.
std::optional<int64_t> constantIndex(Operation *gather, int64_t dim) {
  std::optional<Tensor> c = constantTensor(gather->getOperand(1));
  if (!c || c->numel() != 1 || c->shape().size() > 1)
    return std::nullopt;
  int64_t i = c->toInts().at(0);
  i = i < 0 ? i + dim : i;
  if (i < 0 || i >= dim)
    return std::nullopt;
  return i;
}

// `op`'s "axis" attribute (default 0) made non-negative against `rank`; nullopt outside it.
std::optional<int64_t> axisOf(Operation *op, int64_t rank) {
  int64_t axis = ref::attrsOf(op).getInt("axis", 0);
  axis = axis < 0 ? axis + rank : axis;
  return axis >= 0 && axis < rank ? std::optional<int64_t>(axis) : std::nullopt;
}

// Whether `op` can be a strided view of its data operand (a reshape may still turn out not
// to be one: stridedOf knows the strides it reads).
bool isViewOp(Operation *op) {
  std::string t = onnxOpType(op).str();
  if (t == "Gather") { // of one constant index: an offset
    std::optional<Tensor> index = constantTensor(op->getOperand(1));
    return index && index->numel() == 1;
  }
  if (t == "Slice")
    for (unsigned i = 1; i < op->getNumOperands(); ++i)
      if (i != 2 && !isa<NoneType>(op->getOperand(i).getType()) &&
          !constantTensor(op->getOperand(i)))
        return false;
  return t == "Split" || t == "Slice" || t == "Transpose" || t == "Expand" || isCopyOp(t);
}

} // namespace

bool Lowerer::readsThroughView(Operation *user, unsigned index) const {
  auto viewsItself = [](Operation *op) { // x viewed per group or channel by the generator
    return isa<GroupNormalizationOp, InstanceNormalizationOp>(op);
  };
  if (auto f = dyn_cast<FusionOp>(user)) {
    if (f.getKind() == "attention")
      return readAsQkv(f.getBody().front().getArgument(index));
    if (residualArgument(f, index))
      return true;
    return generatedBody(f) &&
           llvm::none_of(f.getBody().front().without_terminator(),
                         [&](Operation &b) { return viewsItself(&b); });
  }
  if (!isa<func::FuncOp>(user->getParentOp()))
    return false;
  std::string t = onnxOpType(user).str();
  if (t == "Einsum" || t == "Concat")
    return true;
  if (isMovement(t) || t == "CumSum")
    return index == 0;
  return isGeneratable(user) && !viewsItself(user); // elementwise and row kernels
}

// Whether every result of `op` (a Split, a Slice with positive steps, a Transpose, an Expand,
// a Gather of one constant index or a reshape, of any element type: BERT's int64 attention
// mask unsqueezed before its Cast, at the top level) is read only
// through more of them by kernels that read views (readsThroughView): attention its Q, K and
// V, elementwise kernels, movement kernels, Einsum and CumSum. Then no step computes it and
// each reader's kernel loads through the strides (lowerGenerated); a reader that does not
// become such a kernel after all gets it lowered on its own (operand()).
bool Lowerer::viewOnly(Operation *op) const {
  if (!isViewOp(op) || !isa<func::FuncOp>(op->getParentOp()) || op->getNumResults() == 0)
    return false;
  std::function<bool(Operation *)> feeds = [&](Operation *o) {
    for (Value r : o->getResults()) {
      auto type = dyn_cast<TensorType>(r.getType()); // any element type: views move bytes
      if (r.use_empty() || !type || !dtypeOf(type.getElementType()))
        return false;
      for (OpOperand &use : r.getUses()) {
        Operation *u = use.getOwner();
        if (!readsThroughView(u, use.getOperandNumber()) &&
            !(isViewOp(u) && isa<func::FuncOp>(u->getParentOp()) && feeds(u)))
          return false;
      }
    }
    return true;
  };
  return feeds(op);
}

std::optional<Lowerer::Strided> Lowerer::stridedOf(Value v) {
  v = canonical(v); // a deferred fusion's result: its body's
  if (ids_.count(v)) {
    Shape shape = shapeOf(v);
    return Strided{v, 0, ref::stridesOf(shape), std::vector<int64_t>(shape.size(), 1)};
  }
  auto p = pending_.find(v);
  if (p == pending_.end())
    return std::nullopt;
  Operation *op = p->second;
  std::string t = onnxOpType(op).str();
  if (!isViewOp(op)) { // computed by a kernel after all: the view starts at its buffer
    operand(v);
    Shape shape = shapeOf(v);
    return Strided{v, 0, ref::stridesOf(shape), std::vector<int64_t>(shape.size(), 1)};
  }
  std::optional<Strided> s = stridedOf(op->getOperand(0));
  if (!s)
    return std::nullopt;
  Shape in = shapeOf(op->getOperand(0)), out = shapeOf(v);
  int64_t rank = int64_t(in.size());
  if (isCopyOp(t)) {
    auto st = reshapeStrides(in, s->strides, s->divisors, out);
    if (!st)
      return std::nullopt;
    std::tie(s->strides, s->divisors) = *st;
    return s;
  }
  if (t == "Transpose") {
    std::vector<int64_t> perm = ref::attrsOf(op).getInts("perm"), st, dv;
    if (perm.empty())
      for (int64_t k = rank; k-- > 0;)
        perm.push_back(k);
    for (int64_t k : perm) {
      st.push_back(s->strides.at(size_t(k)));
      dv.push_back(s->divisors.at(size_t(k)));
    }
    s->strides = st;
    s->divisors = dv;
    return s;
  }
  if (t == "Expand") { // new leading dims and grown unit dims read one element: stride 0
    if (out.size() < in.size())
      return std::nullopt;
    size_t lead = out.size() - in.size();
    std::vector<int64_t> st(lead, 0), dv(lead, 1);
    for (size_t k = 0; k < in.size(); ++k) {
      bool grown = in[k] == 1 && out[lead + k] != 1;
      st.push_back(grown ? 0 : s->strides[k]);
      dv.push_back(grown ? 1 : s->divisors[k]);
    }
    s->strides = st;
    s->divisors = dv;
    return s;
  }
  if (t == "Gather") {
    std::optional<int64_t> a = axisOf(op, rank);
    if (!a)
      return std::nullopt;
    int64_t axis = *a;
    std::optional<int64_t> i = constantIndex(op, in[size_t(axis)]);
    if (!i)
      return std::nullopt;
    s->offset += (*i / s->divisors[size_t(axis)]) * s->strides[size_t(axis)];
    if (out.size() + 1 == in.size()) { // a scalar index drops the axis
      s->strides.erase(s->strides.begin() + axis);
      s->divisors.erase(s->divisors.begin() + axis);
    }
    return s;
  }
  if (t == "Split") {
    std::optional<int64_t> a = axisOf(op, rank);
    if (!a)
      return std::nullopt;
    int64_t axis = *a;
    std::vector<int64_t> starts = splitStarts(op, in[size_t(axis)]);
    if (starts.empty() || s->divisors[size_t(axis)] != 1)
      return std::nullopt;
    s->offset += starts[cast<OpResult>(v).getResultNumber()] * s->strides[size_t(axis)];
    return s;
  }
  // Slice: constant starts, axes and positive steps (ends are in the result's shape).
  auto ints = [&](unsigned i) -> std::optional<std::vector<int64_t>> {
    if (op->getNumOperands() <= i || isa<NoneType>(op->getOperand(i).getType()))
      return std::vector<int64_t>{};
    std::optional<Tensor> c = constantTensor(op->getOperand(i));
    if (!c)
      return std::nullopt;
    return c->toInts();
  };
  auto starts = ints(1), axes = ints(3), steps = ints(4);
  if (!starts || !axes || !steps)
    return std::nullopt;
  for (size_t i = 0; i < starts->size(); ++i) {
    int64_t a = axes->empty() ? int64_t(i) : axes->at(i);
    a = a < 0 ? a + rank : a;
    int64_t step = steps->empty() ? 1 : steps->at(i);
    if (a < 0 || a >= rank || step <= 0 || s->divisors[size_t(a)] != 1)
      return std::nullopt;
    int64_t st = starts->at(i), dim = in[size_t(a)];
    st = std::clamp<int64_t>(st < 0 ? st + dim : st, 0, dim);
    s->offset += st * s->strides[size_t(a)];
    s->strides[size_t(a)] *= step;
  }
  return s;
}

} // namespace plumb::cuda
