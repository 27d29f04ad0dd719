// Strided views (Lowerer::pending_ ops no step computes): the splits, slices, transposes,
// expands, constant-index gathers and reshapes that the kernels reading them load through
// (readsThroughView, viewOnly), and the strides, offset and divisors each reader's kernel is
// given for them (stridedOf). The ops deferred into their reader's kernel are in Deferred.cpp.
#include "backends/cuda/lowering/Lowerer.h"

#include "backends/reference/Interpreter.h"
#include "backends/reference/kernels/Common.h"
#include "ir/TensorAttr.h"

#include <functional>
#include <tuple>

using namespace mlir;

namespace plumb::cuda {

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

} // namespace

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
