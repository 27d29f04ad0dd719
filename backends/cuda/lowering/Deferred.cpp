// Ops lowered later or never (Lowerer::pending_): those their one reader's generated kernel
// computes (composite kernels), and the splits, slices and reshapes an attention kernel reads
// Q, K or V through as strided views of one buffer (a fused QKV projection).
#include "backends/cuda/lowering/Lowerer.h"

#include "backends/reference/Interpreter.h"
#include "backends/reference/kernels/Common.h"
#include "ir/TensorAttr.h"

#include <functional>

using namespace mlir;

namespace plumb::cuda {

// An op its one reader's generated kernel can compute (a composite kernel): composable
// movement (constant steering operands) or a generatable elementwise op, on floats, read once
// by an elementwise fusion, an elementwise op or composable movement (not a head transpose an
// attention kernel reads through: it needs its operand's buffer).
bool Lowerer::deferrable(Operation *op) const {
  if (op->getNumResults() != 1 || !isa<func::FuncOp>(op->getParentOp()) || kept(op))
    return false;
  Value r = op->getResult(0);
  if (!r.hasOneUse() || !deviceFloat(r.getType()))
    return false;
  std::string t = onnxOpType(op).str();
  bool moves = isComposableMovement(t);
  if (!moves && !(isSupportedElementwise(t) && isGeneratable(op)))
    return false;
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    if (isa<NoneType>(v.getType()))
      continue;
    if (moves && steeringOperand(t, i) ? !constantTensor(v) : !deviceFloat(v.getType()))
      return false;
  }
  Operation *user = *r.user_begin();
  if (auto f = dyn_cast<FusionOp>(user))
    return f.getKind() == "elementwise";
  std::string u = onnxOpType(user).str();
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
  std::function<void(Operation *)> visit = [&](Operation *op) {
    std::string t = onnxOpType(op).str();
    if (!isComposableMovement(t) && !isSupportedElementwise(t))
      return; // only a composite kernel computes what it reads
    for (Value v : op->getOperands()) {
      auto p = pending_.find(canonical(v));
      if (p == pending_.end() || p->second->getNumResults() != 1 || !seen.insert(p->second).second)
        continue; // a Split left pending for attention views is never computed inside
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

bool isAttention(Operation *op) {
  auto f = dyn_cast<FusionOp>(op);
  return f && f.getKind() == "attention";
}

// The strides of `out`, a reshape of a view of shape `in` at strides `st`, if it is a view of
// the same memory: each group of dims whose sizes multiply to the same number on both sides
// must be contiguous within itself on the `in` side (unit dims take any stride).
std::optional<std::vector<int64_t>> reshapeStrides(const Shape &in, const std::vector<int64_t> &st,
                                                   const Shape &out) {
  std::vector<int64_t> dims, strides;
  for (size_t k = 0; k < in.size(); ++k)
    if (in[k] != 1) {
      dims.push_back(in[k]);
      strides.push_back(st[k]);
    }
  std::vector<int64_t> res(out.size(), 0);
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
    for (size_t k = i0; k < i; ++k)
      if (strides[k] != strides[k + 1] * dims[k + 1])
        return std::nullopt;
    int64_t stride = strides[i];
    for (size_t k = o + 1; k-- > o0;) {
      res[k] = stride;
      stride *= out[k];
    }
    ++i;
    ++o;
  }
  if (i != dims.size())
    return std::nullopt;
  return res;
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

bool isViewOp(Operation *op) {
  std::string t = onnxOpType(op).str();
  return t == "Split" || t == "Slice" || t == "Transpose" || t == "Gather" || isCopyOp(t);
}

} // namespace

// Whether every result of `op` (a Split, a Slice with positive steps, a Transpose, a Gather
// of one constant index or a reshape, on floats, at the top level) is read only through more
// of them by attention bodies: then no step computes it and the attention kernel reads Q, K
// or V through all of them (lowerFusion keeps the view only for an argument the body's
// MatMuls read).
bool Lowerer::viewOnly(Operation *op) const {
  if (!isViewOp(op) || !isa<func::FuncOp>(op->getParentOp()) || op->getNumResults() == 0)
    return false;
  std::function<bool(Operation *)> feeds = [&](Operation *o) {
    for (Value r : o->getResults()) {
      if (r.use_empty() || !deviceFloat(r.getType()))
        return false;
      for (Operation *u : r.getUsers())
        if (!isAttention(u) && !(isViewOp(u) && isa<func::FuncOp>(u->getParentOp()) && feeds(u)))
          return false;
    }
    return true;
  };
  return feeds(op);
}

std::optional<Lowerer::Strided> Lowerer::stridedOf(Value v) {
  if (ids_.count(v))
    return Strided{v, 0, ref::stridesOf(shapeOf(v))};
  auto p = pending_.find(v);
  if (p == pending_.end())
    return std::nullopt;
  Operation *op = p->second;
  std::string t = onnxOpType(op).str();
  if (!isViewOp(op))
    return std::nullopt;
  std::optional<Strided> s = stridedOf(op->getOperand(0));
  if (!s)
    return std::nullopt;
  Shape in = shapeOf(op->getOperand(0)), out = shapeOf(v);
  int64_t rank = int64_t(in.size());
  if (isCopyOp(t)) {
    std::optional<std::vector<int64_t>> st = reshapeStrides(in, s->strides, out);
    if (!st)
      return std::nullopt;
    s->strides = *st;
    return s;
  }
  if (t == "Transpose") {
    std::vector<int64_t> perm = ref::attrsOf(op).getInts("perm"), st;
    if (perm.empty())
      for (int64_t k = rank; k-- > 0;)
        perm.push_back(k);
    for (int64_t k : perm)
      st.push_back(s->strides.at(size_t(k)));
    s->strides = st;
    return s;
  }
  if (t == "Gather") {
    int64_t axis = ref::attrsOf(op).getInt("axis", 0);
    axis = axis < 0 ? axis + rank : axis;
    if (axis < 0 || axis >= rank)
      return std::nullopt;
    std::optional<int64_t> i = constantIndex(op, in[size_t(axis)]);
    if (!i)
      return std::nullopt;
    s->offset += *i * s->strides[size_t(axis)];
    if (out.size() + 1 == in.size()) // a scalar index drops the axis
      s->strides.erase(s->strides.begin() + axis);
    return s;
  }
  if (t == "Split") {
    int64_t axis = ref::attrsOf(op).getInt("axis", 0);
    axis = axis < 0 ? axis + rank : axis;
    if (axis < 0 || axis >= rank)
      return std::nullopt;
    std::vector<int64_t> starts = splitStarts(op, in[size_t(axis)]);
    if (starts.empty())
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
    if (a < 0 || a >= rank || step <= 0)
      return std::nullopt;
    int64_t st = starts->at(i), dim = in[size_t(a)];
    st = std::clamp<int64_t>(st < 0 ? st + dim : st, 0, dim);
    s->offset += st * s->strides[size_t(a)];
    s->strides[size_t(a)] *= step;
  }
  return s;
}

} // namespace plumb::cuda
