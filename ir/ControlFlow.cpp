// Verifiers and shape inference for the ops of PlumbOpsControl.td: control flow with
// regions (If, Loop, Scan, SequenceMap), sequences, optionals and training optimizers.
#include "ir/PlumbDialect.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace plumb {

int64_t moduleOpset(Operation *op) {
  if (auto module = op->getParentOfType<ModuleOp>())
    if (auto a = module->getAttrOfType<IntegerAttr>(kOpsetAttr))
      return a.getInt();
  return 17;
}

// The least precise type that both `a` and `b` are instances of: equal types stay, tensors
// of one element type keep the dims they agree on, sequences join their element types.
// Null when they cannot be joined (different element types or kinds).
Type joinTypes(Type a, Type b) {
  if (!a || a == b)
    return b ? b : a;
  if (!b)
    return a;
  auto ta = dyn_cast<TensorType>(a), tb = dyn_cast<TensorType>(b);
  if (ta && tb) {
    if (ta.getElementType() != tb.getElementType())
      return {};
    auto ra = dyn_cast<RankedTensorType>(ta), rb = dyn_cast<RankedTensorType>(tb);
    if (!ra || !rb || ra.getRank() != rb.getRank())
      return UnrankedTensorType::get(ta.getElementType());
    SmallVector<int64_t> dims;
    for (auto [x, y] : llvm::zip(ra.getShape(), rb.getShape()))
      dims.push_back(x == y ? x : ShapedType::kDynamic);
    return RankedTensorType::get(dims, ta.getElementType());
  }
  auto sa = dyn_cast<SeqType>(a), sb = dyn_cast<SeqType>(b);
  if (sa && sb) {
    auto e = dyn_cast_or_null<TensorType>(joinTypes(sa.getElementType(), sb.getElementType()));
    return e ? SeqType::get(a.getContext(), e) : Type();
  }
  auto oa = dyn_cast<OptType>(a), ob = dyn_cast<OptType>(b);
  if (oa || ob) {
    Type e = joinTypes(oa ? oa.getElementType() : a, ob ? ob.getElementType() : b);
    return e ? OptType::get(a.getContext(), e) : Type();
  }
  return {};
}

namespace {

YieldOp yieldOf(Region &r) { return cast<YieldOp>(r.front().getTerminator()); }

LogicalResult checkYield(Operation *op, Region &r, const char *what, size_t expected) {
  if (r.empty() || !isa<YieldOp>(r.front().getTerminator()))
    return op->emitOpError() << what << " must end in plumb.yield";
  size_t n = yieldOf(r).getValues().size();
  if (n != expected)
    return op->emitOpError() << what << " yields " << n << " values, expected " << expected;
  return success();
}

LogicalResult checkArgs(Operation *op, Region &r, size_t expected) {
  size_t n = r.front().getNumArguments();
  if (n != expected)
    return op->emitOpError() << "body has " << n << " arguments, expected " << expected;
  return success();
}

// A tensor type with a dim of unknown extent inserted at `axis` (unranked stays unranked).
Type withAxis(Type t, int64_t axis) {
  auto ranked = dyn_cast<RankedTensorType>(t);
  if (!ranked) {
    auto tt = dyn_cast<TensorType>(t);
    return tt ? Type(UnrankedTensorType::get(tt.getElementType())) : Type();
  }
  SmallVector<int64_t> dims(ranked.getShape());
  int64_t r = int64_t(dims.size()) + 1;
  if (axis < 0)
    axis += r;
  if (axis < 0 || axis >= r)
    return UnrankedTensorType::get(ranked.getElementType());
  dims.insert(dims.begin() + axis, ShapedType::kDynamic);
  return RankedTensorType::get(dims, ranked.getElementType());
}

SmallVector<int64_t> intsAttr(Operation *op, StringRef name) {
  SmallVector<int64_t> out;
  if (auto a = op->getAttrOfType<ArrayAttr>(name))
    for (Attribute x : a)
      out.push_back(cast<IntegerAttr>(x).getInt());
  return out;
}

void setType(Operation *op, unsigned i, Type t) {
  if (i < op->getNumResults() && t)
    op->getResult(i).setType(t);
}

TensorType elementOf(Type seq) {
  auto s = dyn_cast<SeqType>(seq);
  return s ? s.getElementType() : TensorType();
}

void inferScan(ScanOp op) {
  bool v8 = moduleOpset(op) < 9;
  size_t numInputs = op->getNumOperands() - (v8 ? 1 : 0);
  if (op->getNumOperands() < (v8 ? 1u : 0u) ||
      size_t(op.getNumScanInputs()) > numInputs)
    return; // malformed: the verifier says so
  size_t numStates = numInputs - size_t(op.getNumScanInputs());
  auto yields = yieldOf(op.getBody()).getValues();
  SmallVector<int64_t> outAxes = intsAttr(op, "scan_output_axes");
  for (unsigned i = 0; i < op->getNumResults() && i < yields.size(); ++i) {
    if (i < numStates) {
      // Opset 8 states carry a batch axis the body does not see.
      Type init = op->getOperand(i + (v8 ? 1 : 0)).getType();
      setType(op, i, v8 ? init : joinTypes(init, yields[i].getType()));
      continue;
    }
    size_t k = i - numStates;
    int64_t axis = v8 ? 0 : (k < outAxes.size() ? outAxes[k] : 0);
    Type t = withAxis(yields[i].getType(), axis);
    setType(op, i, v8 ? withAxis(t, 0) : t);
  }
}

void inferLoop(LoopOp op) {
  auto yields = yieldOf(op.getBody()).getValues();
  size_t n = op.getVInitial().size();
  for (unsigned i = 0; i < op->getNumResults() && i + 1 < yields.size(); ++i) {
    Type y = yields[i + 1].getType();
    if (i >= n) {
      setType(op, i, withAxis(y, 0));
      continue;
    }
    // The final value is what the body yields: an optional initial value that the body
    // replaces by a plain one (test_loop16_seq_none) makes a plain result.
    Type init = op.getVInitial()[i].getType();
    if (auto o = dyn_cast<OptType>(init); o && !isa<OptType>(y))
      init = o.getElementType();
    setType(op, i, joinTypes(init, y));
  }
}

// Adagrad (X, G, H), Adam (X, G, V, H), Momentum (X, G, V): results are the groups after R
// and T without the gradients.
void inferOptimizer(Operation *op, unsigned groups) {
  // A malformed node (too few inputs, or results that do not match) keeps its types: the
  // verifier (checkOptimizer) names the problem.
  unsigned in = op->getNumOperands();
  if (in < 2 + groups || (in - 2) % groups != 0 ||
      op->getNumResults() != (groups - 1) * ((in - 2) / groups))
    return;
  unsigned n = (in - 2) / groups;
  unsigned out = 0;
  for (unsigned g = 0; g < groups; ++g) {
    if (g == 1)
      continue;
    for (unsigned i = 0; i < n; ++i)
      setType(op, out++, op->getOperand(2 + g * n + i).getType());
  }
}

LogicalResult checkOptimizer(Operation *op, unsigned groups) {
  unsigned in = op->getNumOperands();
  if (in < 2 + groups || (in - 2) % groups != 0)
    return op->emitOpError() << "expects R, T and " << groups << " groups of n tensors, got " << in
                             << " inputs";
  unsigned n = (in - 2) / groups;
  if (op->getNumResults() != (groups - 1) * n)
    return op->emitOpError() << "has " << op->getNumResults() << " results, expected "
                             << (groups - 1) * n;
  return success();
}

} // namespace

// Shape inference for the ops above; false when `t` is none of them.
bool inferControlFlowOps(Operation *op, StringRef t) {
  MLIRContext *ctx = op->getContext();
  Builder b(ctx);
  auto i1 = RankedTensorType::get({}, b.getI1Type());
  if (auto ifOp = dyn_cast<IfOp>(op)) {
    auto th = yieldOf(ifOp.getThenBranch()).getValues();
    auto el = yieldOf(ifOp.getElseBranch()).getValues();
    for (unsigned i = 0; i < op->getNumResults() && i < th.size() && i < el.size(); ++i)
      setType(op, i, joinTypes(th[i].getType(), el[i].getType()));
  } else if (auto loop = dyn_cast<LoopOp>(op)) {
    inferLoop(loop);
  } else if (auto scan = dyn_cast<ScanOp>(op)) {
    inferScan(scan);
  } else if (auto map = dyn_cast<SequenceMapOp>(op)) {
    auto yields = yieldOf(map.getBody()).getValues();
    for (unsigned i = 0; i < op->getNumResults() && i < yields.size(); ++i)
      if (auto tt = dyn_cast<TensorType>(yields[i].getType()))
        setType(op, i, SeqType::get(ctx, tt));
  } else if (t == "SequenceConstruct") {
    Type e;
    for (Value v : op->getOperands())
      e = joinTypes(e, v.getType());
    if (auto tt = dyn_cast_or_null<TensorType>(e))
      setType(op, 0, SeqType::get(ctx, tt));
  } else if (t == "SequenceEmpty") {
    auto dt = op->getAttrOfType<IntegerAttr>("dtype");
    Type e = elementTypeFromOnnx(ctx, dt ? int32_t(dt.getInt()) : 1);
    if (e)
      setType(op, 0, SeqType::get(ctx, UnrankedTensorType::get(e)));
  } else if (t == "SequenceAt") {
    setType(op, 0, elementOf(op->getOperand(0).getType()));
  } else if (t == "SequenceInsert") {
    auto e = dyn_cast_or_null<TensorType>(
        joinTypes(elementOf(op->getOperand(0).getType()), op->getOperand(1).getType()));
    if (e)
      setType(op, 0, SeqType::get(ctx, e));
  } else if (t == "SequenceErase") {
    setType(op, 0, op->getOperand(0).getType());
  } else if (t == "SequenceLength") {
    setType(op, 0, RankedTensorType::get({}, b.getI64Type()));
  } else if (t == "SplitToSequence") {
    auto in = dyn_cast<TensorType>(op->getOperand(0).getType());
    if (!in)
      return true;
    TensorType e = UnrankedTensorType::get(in.getElementType());
    if (auto ranked = dyn_cast<RankedTensorType>(in)) {
      SmallVector<int64_t> dims(ranked.getShape());
      auto axisAttr = op->getAttrOfType<IntegerAttr>("axis");
      int64_t axis = axisAttr ? axisAttr.getInt() : 0;
      if (axis < 0)
        axis += int64_t(dims.size());
      if (axis >= 0 && axis < int64_t(dims.size())) {
        auto keep = op->getAttrOfType<IntegerAttr>("keepdims");
        bool drop = isa<NoneType>(op->getOperand(1).getType()) && (!keep || keep.getInt() == 0);
        if (drop)
          dims.erase(dims.begin() + axis);
        else
          dims[size_t(axis)] =
              isa<NoneType>(op->getOperand(1).getType()) ? 1 : ShapedType::kDynamic;
        e = RankedTensorType::get(dims, in.getElementType());
      }
    }
    setType(op, 0, SeqType::get(ctx, e));
  } else if (t == "ConcatFromSequence") {
    if (TensorType e = elementOf(op->getOperand(0).getType()))
      setType(op, 0, UnrankedTensorType::get(e.getElementType()));
  } else if (t == "Optional") {
    Type in = op->getOperand(0).getType();
    if (!isa<NoneType>(in))
      setType(op, 0, OptType::get(ctx, in));
    else if (auto ta = op->getAttrOfType<TypeAttr>("type"))
      setType(op, 0, OptType::get(ctx, ta.getValue()));
  } else if (t == "OptionalHasElement") {
    setType(op, 0, i1);
  } else if (t == "OptionalGetElement") {
    Type in = op->getOperand(0).getType();
    auto o = dyn_cast<OptType>(in);
    setType(op, 0, o ? o.getElementType() : in);
  } else if (t == "Adagrad" || t == "Momentum") {
    inferOptimizer(op, 3);
  } else if (t == "Adam") {
    inferOptimizer(op, 4);
  } else {
    return false;
  }
  return true;
}

} // namespace plumb

using namespace plumb;

LogicalResult IfOp::verify() {
  if (auto c = dyn_cast<RankedTensorType>(getCond().getType()); c && c.getNumElements() != 1)
    return emitOpError() << "cond must hold one element, got " << c;
  if (failed(checkArgs(*this, getThenBranch(), 0)) || failed(checkArgs(*this, getElseBranch(), 0)))
    return failure();
  if (failed(checkYield(*this, getThenBranch(), "then_branch", getNumResults())) ||
      failed(checkYield(*this, getElseBranch(), "else_branch", getNumResults())))
    return failure();
  return success();
}

LogicalResult LoopOp::verify() {
  size_t n = getVInitial().size();
  if (getNumResults() < n)
    return emitOpError() << "has " << getNumResults() << " results for " << n
                         << " loop-carried values";
  if (failed(checkArgs(*this, getBody(), 2 + n)))
    return failure();
  return checkYield(*this, getBody(), "body", 1 + getNumResults());
}

LogicalResult ScanOp::verify() {
  size_t inputs = getInitialStateAndScanInputs().size() - (moduleOpset(*this) < 9 ? 1 : 0);
  int64_t m = getNumScanInputs();
  if (m < 1 || m > int64_t(inputs))
    return emitOpError() << "num_scan_inputs " << m << " out of [1, " << inputs << "]";
  if (failed(checkArgs(*this, getBody(), inputs)))
    return failure();
  size_t states = inputs - size_t(m);
  if (getNumResults() < states)
    return emitOpError() << "has " << getNumResults() << " results for " << states << " states";
  return checkYield(*this, getBody(), "body", getNumResults());
}

LogicalResult SequenceMapOp::verify() {
  if (failed(checkArgs(*this, getBody(), 1 + getAdditionalInputs().size())))
    return failure();
  return checkYield(*this, getBody(), "body", getNumResults());
}

LogicalResult AdagradOp::verify() { return checkOptimizer(*this, 3); }
LogicalResult AdamOp::verify() { return checkOptimizer(*this, 4); }
LogicalResult MomentumOp::verify() { return checkOptimizer(*this, 3); }
