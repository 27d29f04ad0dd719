// Planning of cpu.attention steps: matches the body of an "attention" fusion (Q·Kᵀ, scale,
// mask, Softmax, ·V) and resolves its operands and result through view-like ops (Transpose,
// Reshape, Split...) to strided views of buffers that exist anyway.
#include "backends/cpu/lowering/Attention.h"

#include "backends/reference/Interpreter.h"
#include "ir/TensorAttr.h"

#include <numeric>

using namespace mlir;

namespace plumb::cpu {
namespace {

// A strided view of any rank into the dense buffer of `base`.
struct View {
  Value base;
  int64_t offset = 0;
  std::vector<int64_t> dims, strides;
};

std::optional<std::vector<int64_t>> staticShape(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape())
    return std::nullopt;
  return std::vector<int64_t>(t.getShape().begin(), t.getShape().end());
}

View plainView(Value v, const std::vector<int64_t> &shape) {
  View r{v, 0, shape, std::vector<int64_t>(shape.size())};
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    r.strides[i] = s;
    s *= shape[i];
  }
  return r;
}

// The same elements seen with `shape` (row-major reinterpretation), where strides allow it:
// each group of new dims must come from old dims that are contiguous with each other.
bool reshapeView(View &v, const std::vector<int64_t> &shape) {
  std::vector<size_t> olds, news;
  for (size_t i = 0; i < v.dims.size(); ++i)
    if (v.dims[i] != 1)
      olds.push_back(i);
  for (size_t j = 0; j < shape.size(); ++j)
    if (shape[j] != 1)
      news.push_back(j);
  std::vector<int64_t> strides(shape.size(), 0);
  size_t i = 0, j = 0;
  while (i < olds.size() && j < news.size()) {
    size_t j0 = j;
    int64_t po = v.dims[olds[i]], pn = shape[news[j]];
    while (po != pn) {
      if (po < pn) {
        if (++i >= olds.size() || v.strides[olds[i - 1]] != v.strides[olds[i]] * v.dims[olds[i]])
          return false;
        po *= v.dims[olds[i]];
      } else {
        if (++j >= news.size())
          return false;
        pn *= shape[news[j]];
      }
    }
    int64_t st = v.strides[olds[i]];
    for (size_t k = j + 1; k-- > j0;) {
      strides[news[k]] = st;
      st *= shape[news[k]];
    }
    ++i, ++j;
  }
  if (i != olds.size() || j != news.size())
    return false;
  v.dims = shape;
  v.strides = strides;
  return true;
}

bool isViewOp(Operation *op) {
  return isa<TransposeOp, ReshapeOp, SqueezeOp, UnsqueezeOp, FlattenOp, IdentityOp, SplitOp>(op);
}

std::vector<int64_t> permOf(TransposeOp t, size_t rank) {
  std::vector<int64_t> perm;
  if (std::optional<ArrayAttr> attr = t.getPerm())
    for (Attribute a : *attr)
      perm.push_back(cast<IntegerAttr>(a).getInt());
  else
    for (size_t i = rank; i-- > 0;)
      perm.push_back(int64_t(i));
  return perm;
}

// Applies one view op (whose result `res` is the next value of the chain) to `v`.
bool applyViewOp(Operation *op, Value res, View &v) {
  std::optional<std::vector<int64_t>> shape = staticShape(res);
  if (!shape)
    return false;
  if (auto t = dyn_cast<TransposeOp>(op)) {
    std::vector<int64_t> perm = permOf(t, v.dims.size());
    if (perm.size() != v.dims.size())
      return false;
    View r = v;
    for (size_t i = 0; i < perm.size(); ++i) {
      if (perm[i] < 0 || size_t(perm[i]) >= v.dims.size())
        return false;
      r.dims[i] = v.dims[size_t(perm[i])];
      r.strides[i] = v.strides[size_t(perm[i])];
    }
    v = r;
    return v.dims == *shape;
  }
  if (auto s = dyn_cast<SplitOp>(op)) {
    int64_t rank = int64_t(v.dims.size());
    int64_t axis = s.getAxis() ? int64_t(*s.getAxis()) : 0;
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank)
      return false;
    unsigned idx = cast<OpResult>(res).getResultNumber();
    int64_t start = 0;
    for (unsigned k = 0; k < idx; ++k) {
      std::optional<std::vector<int64_t>> ks = staticShape(op->getResult(k));
      if (!ks || int64_t(ks->size()) != rank)
        return false;
      start += (*ks)[size_t(axis)];
    }
    if (start + (*shape)[size_t(axis)] > v.dims[size_t(axis)])
      return false;
    v.offset += start * v.strides[size_t(axis)];
    v.dims[size_t(axis)] = (*shape)[size_t(axis)];
    return v.dims == *shape;
  }
  return reshapeView(v, *shape);
}

// `value` as a view of the nearest value up its chain of single-use view ops that is not
// in `blocked` (and whose view math works); `chain` gets the ops the view skips.
View viewOf(Value value, const llvm::DenseSet<Operation *> &blocked,
            std::vector<Operation *> &chain) {
  std::vector<std::pair<Operation *, Value>> walk;
  Value cur = value;
  while (Operation *def = cur.getDefiningOp()) {
    if (!cur.hasOneUse() || !isViewOp(def) || blocked.count(def) || !staticShape(cur))
      break;
    walk.push_back({def, cur});
    cur = def->getOperand(0);
  }
  std::optional<std::vector<int64_t>> shape = staticShape(cur);
  if (!shape) { // cannot happen for the fusion's own input (checked by the caller)
    walk.clear();
    cur = value;
    shape = staticShape(value);
  }
  View v = plainView(cur, *shape);
  chain.clear();
  for (auto it = walk.rbegin(); it != walk.rend(); ++it) {
    if (applyViewOp(it->first, it->second, v)) {
      chain.push_back(it->first);
    } else {
      v = plainView(it->second, *staticShape(it->second));
      chain.clear();
    }
  }
  return v;
}

bool isArgOrConstant(Value v) {
  return isa<BlockArgument>(v) || v.getDefiningOp<ConstantOp>();
}

bool isF32(Value v) {
  auto t = dyn_cast<TensorType>(v.getType());
  return t && t.getElementType().isF32();
}

// What the body says, before any view is resolved.
struct Body {
  BlockArgument q, k, v;
  bool kTransposed = false;
  AttentionLowering l;
};

Operation *soleUser(Value v) {
  return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
}

std::optional<Body> matchBody(FusionOp f, int64_t opset) {
  Block &block = f.getBody().front();
  if (f.getNumResults() != 1)
    return std::nullopt;
  std::vector<Operation *> ops;
  for (Operation &op : block.without_terminator())
    if (!isa<ConstantOp, NoneOp>(&op))
      ops.push_back(&op);
  if (ops.empty())
    return std::nullopt;
  MatMulOp mm1; // the first MatMul (a Transpose of K may come before it)
  for (Operation *op : ops)
    if ((mm1 = dyn_cast<MatMulOp>(op)))
      break;
  if (!mm1 || !isF32(mm1.getA()) || !isF32(mm1.getB()))
    return std::nullopt;
  Body b;
  size_t matched = 1;
  auto qArg = dyn_cast<BlockArgument>(mm1.getA());
  Value kVal = mm1.getB();
  if (auto t = kVal.getDefiningOp<TransposeOp>()) {
    auto rank = staticShape(t.getData());
    std::vector<int64_t> perm = rank ? permOf(t, rank->size()) : std::vector<int64_t>();
    size_t r = perm.size();
    if (r < 2 || !kVal.hasOneUse())
      return std::nullopt;
    for (size_t i = 0; i + 2 < r; ++i)
      if (perm[i] != int64_t(i))
        return std::nullopt;
    if (perm[r - 2] != int64_t(r - 1) || perm[r - 1] != int64_t(r - 2))
      return std::nullopt;
    kVal = t.getData();
    b.kTransposed = true;
    ++matched;
  }
  auto kArg = dyn_cast<BlockArgument>(kVal);
  if (!qArg || !kArg)
    return std::nullopt;
  b.q = qArg, b.k = kArg;
  Value cur = mm1.getResult();
  Operation *next = soleUser(cur);
  if (next && isa<DivOp, MulOp>(next)) {
    bool div = isa<DivOp>(next);
    unsigned other = next->getOperand(0) == cur ? 1 : 0;
    if (div && other != 1)
      return std::nullopt;
    if (std::optional<double> c = constantScalar(next->getOperand(other))) {
      b.l.scaleOp = div ? "div" : "mul";
      b.l.scale = *c;
      cur = next->getResult(0), next = soleUser(cur), ++matched;
    }
  }
  if (next && isa<AddOp>(next)) {
    Value m = next->getOperand(0) == cur ? next->getOperand(1) : next->getOperand(0);
    if (!isArgOrConstant(m) || !isF32(m))
      return std::nullopt;
    b.l.mask = "add", b.l.maskValue = m;
    cur = next->getResult(0), next = soleUser(cur), ++matched;
  } else if (auto w = dyn_cast_or_null<WhereOp>(next)) {
    bool keep = w.getX() == cur;
    Value fill = keep ? w.getY() : w.getX();
    if (w.getCondition() == cur || !isArgOrConstant(w.getCondition()) || !isArgOrConstant(fill) ||
        !isF32(fill))
      return std::nullopt;
    b.l.mask = keep ? "where" : "where_not";
    b.l.maskValue = w.getCondition(), b.l.fill = fill;
    cur = w.getResult(), next = soleUser(cur), ++matched;
  }
  auto sm = dyn_cast_or_null<SoftmaxOp>(next);
  auto scoresShape = staticShape(cur);
  if (!sm || staticShape(mm1.getResult()) != scoresShape || !scoresShape || scoresShape->size() < 2 || scoresShape->size() > 4)
    return std::nullopt;
  int64_t rank = int64_t(scoresShape->size());
  IntegerAttr axis = sm.getAxisAttr();
  if (axis ? (axis.getInt() != -1 && axis.getInt() != rank - 1) : opset < 13)
    return std::nullopt;
  auto mm2 = dyn_cast_or_null<MatMulOp>(soleUser(sm.getResult()));
  if (!mm2 || mm2.getA() != sm.getResult() || !isa<BlockArgument>(mm2.getB()))
    return std::nullopt;
  matched += 2;
  auto yield = cast<YieldOp>(block.getTerminator());
  if (matched != ops.size() || yield.getValues()[0] != mm2.getResult() ||
      !mm2.getResult().hasOneUse())
    return std::nullopt;
  b.v = cast<BlockArgument>(mm2.getB());
  auto qs = staticShape(b.q), vs = staticShape(b.v), os = staticShape(mm2.getResult());
  if (!qs || !vs || !os || qs->size() < 2 || vs->size() < 2 || os->size() != size_t(rank) ||
      !isF32(b.v) || !isF32(mm2.getResult()))
    return std::nullopt;
  const std::vector<int64_t> &sc = *scoresShape;
  std::vector<int64_t> batch(sc.begin(), sc.end() - 2);
  while (batch.size() < 2)
    batch.insert(batch.begin(), 1);
  b.l.dims = {batch[0], batch[1], sc[size_t(rank - 2)], sc[size_t(rank - 1)], qs->back(),
              vs->back()};
  return b;
}

// `v` (a view of a [batch..., rows, cols] value) as [offset, 4 strides] for the kernel's
// [B0, B1, rows, cols], with stride 0 along batch dims the operand broadcasts.
std::optional<std::vector<int64_t>> kernelView(const View &v, int64_t b0, int64_t b1) {
  size_t r = v.dims.size();
  if (r < 2 || r > 4)
    return std::nullopt;
  std::vector<int64_t> dims(4 - r, 1), strides(4 - r, 0);
  dims.insert(dims.end(), v.dims.begin(), v.dims.end());
  strides.insert(strides.end(), v.strides.begin(), v.strides.end());
  int64_t batch[2] = {b0, b1};
  for (size_t i = 0; i < 2; ++i) {
    if (dims[i] == 1)
      strides[i] = 0;
    else if (dims[i] != batch[i])
      return std::nullopt;
  }
  for (size_t i = 2; i < 4; ++i)
    if (dims[i] == 1)
      strides[i] = i == 3 ? 1 : dims[3];
  if (strides[3] != 1 && strides[2] != 1)
    return std::nullopt; // sgemm needs one contiguous matrix dim
  return std::vector<int64_t>{v.offset, strides[0], strides[1], strides[2], strides[3]};
}

// The op after the fusion that can be written directly: a Transpose keeping the last axis
// last, then any contiguous reshapes. Fills the output view; returns the value written.
Value absorbOutput(FusionOp f, const AttentionLowering &l, std::vector<Operation *> &absorbed,
                   std::vector<int64_t> &outView) {
  Value res = f.getResult(0);
  std::vector<int64_t> shape = *staticShape(res);
  View v = plainView(res, shape);
  std::vector<int64_t> stride4;
  Operation *user = soleUser(res);
  if (auto t = dyn_cast_or_null<TransposeOp>(user)) {
    std::vector<int64_t> perm = permOf(t, shape.size());
    auto ts = staticShape(t.getResult());
    if (ts && perm.size() == shape.size() && perm.back() == int64_t(shape.size() - 1)) {
      View tv = plainView(t.getResult(), *ts);
      for (size_t j = 0; j < perm.size(); ++j)
        v.strides[size_t(perm[j])] = tv.strides[j];
      absorbed.push_back(t);
      res = t.getResult();
    }
  }
  while (Operation *u = soleUser(res)) {
    if (!isa<ReshapeOp, SqueezeOp, UnsqueezeOp, FlattenOp, IdentityOp>(u) ||
        !staticShape(u->getResult(0)))
      break;
    absorbed.push_back(u);
    res = u->getResult(0);
  }
  std::optional<std::vector<int64_t>> kv = kernelView(v, l.dims[0], l.dims[1]);
  if (!kv || (*kv)[4] != 1) {
    absorbed.clear();
    kv = kernelView(plainView(f.getResult(0), shape), l.dims[0], l.dims[1]);
    res = f.getResult(0);
  }
  outView = *kv;
  return res;
}

std::optional<std::vector<int64_t>> operandView(Value arg, FusionOp f, bool transpose,
                                                const llvm::DenseSet<Operation *> &blocked,
                                                std::vector<Operation *> &chain, Value &base,
                                                int64_t b0, int64_t b1) {
  Value outside = f.getInputs()[cast<BlockArgument>(arg).getArgNumber()];
  if (!staticShape(outside))
    return std::nullopt;
  View v = viewOf(outside, blocked, chain);
  if (transpose) {
    size_t r = v.dims.size();
    std::swap(v.dims[r - 1], v.dims[r - 2]);
    std::swap(v.strides[r - 1], v.strides[r - 2]);
  }
  base = v.base;
  return kernelView(v, b0, b1);
}

} // namespace

AttentionPlan planAttentions(func::FuncOp fn) {
  int64_t opset = 17;
  if (auto module = fn->getParentOfType<ModuleOp>())
    if (auto a = module->getAttrOfType<IntegerAttr>(kOpsetAttr))
      opset = a.getInt();
  struct Candidate {
    FusionOp fusion;
    Body body;
    std::vector<Operation *> outOps;
  };
  std::vector<Candidate> cands;
  llvm::DenseSet<Operation *> blocked;
  for (Operation &op : fn.getBody().front()) {
    auto f = dyn_cast<FusionOp>(&op);
    if (!f || f.getKind() != "attention")
      continue;
    std::optional<Body> b = matchBody(f, opset);
    if (!b)
      continue;
    Candidate c{f, *b, {}};
    c.body.l.result = absorbOutput(f, c.body.l, c.outOps, c.body.l.outView);
    for (Operation *o : c.outOps)
      blocked.insert(o);
    cands.push_back(std::move(c));
  }
  // Resolve operand views; a Split is skipped only when every one of its results is read
  // through views, else it runs and the views start at its results.
  AttentionPlan plan;
  for (bool changed = true; changed;) {
    changed = false;
    plan = AttentionPlan();
    for (Candidate &c : cands) {
      AttentionLowering l = c.body.l;
      std::vector<Operation *> cq, ck, cv;
      auto q = operandView(c.body.q, c.fusion, false, blocked, cq, l.q.base, l.dims[0], l.dims[1]);
      auto k = operandView(c.body.k, c.fusion, c.body.kTransposed, blocked, ck, l.kt.base,
                           l.dims[0], l.dims[1]);
      auto v = operandView(c.body.v, c.fusion, false, blocked, cv, l.v.base, l.dims[0], l.dims[1]);
      if (!q || !k || !v)
        continue;
      l.q.view = *q, l.kt.view = *k, l.v.view = *v;
      for (auto *chain : {&cq, &ck, &cv, &c.outOps})
        for (Operation *o : *chain)
          plan.absorbed.insert(o);
      plan.fusions[c.fusion] = l;
    }
    for (Operation *o : plan.absorbed) {
      if (!isa<SplitOp>(o) || blocked.count(o))
        continue;
      for (Value r : o->getResults())
        if (!r.hasOneUse() || !plan.absorbed.count(*r.getUsers().begin())) {
          blocked.insert(o);
          changed = true;
          break;
        }
    }
  }
  return plan;
}

} // namespace plumb::cpu
