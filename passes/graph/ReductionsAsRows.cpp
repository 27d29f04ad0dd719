// plumb-reductions-as-rows: reductions in the one form a row kernel computes, a reduction over
// the trailing axes of a tensor keeping its dims (a block per row; ReduceMean/Sum/Max/Min/
// Prod/LogSumExp). Other forms become it:
// - dropped dims (keepdims = 0): the kept-dims result, then a Reshape (same elements, same
//   order);
// - other axes: a Transpose putting the reduced axes last (kept axes in order first), read in
//   place by the kernel as a strided view; the reduced axes of the result are 1s, so a Reshape
//   (not a Transpose) gives the original shape back;
// - ReduceSumSquare, ReduceL1, ReduceL2 and ReduceLogSum: their ONNX definitions, a ReduceSum
//   of x*x or |x| (computed in the row kernel's pass over the row), then Sqrt or Log;
// - a reduction of nothing (noop_with_empty_axes with no or empty axes): its input;
// - Softmax and LogSoftmax (opset 13 on: one axis) over an axis that is not the last: the
//   axis swapped with the last one, the op over the last axis, swapped back;
// - LpNormalization and MeanVarianceNormalization: their reductions (in row form) and the
//   elementwise ops that apply them; Hardmax: the one-hot of an ArgMax (a row-parallel
//   kernel of its own) by an Equal with the positions and a Cast; a LayerNormalization whose
//   Mean/InvStdDev outputs are read: its function body.
// The last op carries the node and its output's name, so parity checks find it. For the CUDA
// backend, whose generated kernels reduce rows only (anything else ran on the host).
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

#include <numeric>

namespace plumb {
#define GEN_PASS_DEF_PLUMBREDUCTIONSASROWS
#include "passes/Passes.h.inc"

namespace {

using mlir::Operation;
using mlir::Value;

// A static floating-point tensor (f64, f32, f16, bf16: the generated kernels compute f64 in
// double, the others in float).
mlir::RankedTensorType rowsType(Value v) {
  auto t = llvm::dyn_cast<mlir::RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape() || t.getRank() == 0)
    return nullptr;
  std::optional<DType> dt = dtypeOf(t.getElementType());
  return dt && (*dt == DType::F64 || *dt == DType::F32 || *dt == DType::F16 || *dt == DType::BF16) ? t : nullptr;
}

// An op's axis attribute (`def` when absent) in [0, rank); nullopt when out of range.
template <typename Attr> std::optional<int64_t> axisIn(const Attr &attr, int64_t def, int64_t rank) {
  int64_t a = attr ? int64_t(*attr) : def;
  if (a < -rank || a >= rank)
    return std::nullopt;
  return a < 0 ? a + rank : a;
}

// The axes `op` (any Reduce*) reduces, normalised and sorted; nullopt when they are not
// constant, repeat, or are empty with noop_with_empty_axes (the identity).
std::optional<std::vector<int64_t>> reducedAxes(Operation *op, int64_t rank) {
  Value in = op->getOperand(1);
  std::vector<int64_t> axes;
  if (!absent(in)) {
    std::optional<std::vector<int64_t>> c = constantInts(in);
    if (!c)
      return std::nullopt;
    axes = *c;
    auto noop = op->getAttrOfType<mlir::IntegerAttr>("noop_with_empty_axes");
    if (axes.empty() && noop && noop.getInt() != 0)
      return std::nullopt;
  } else if (auto attr = op->getAttrOfType<mlir::ArrayAttr>("axes")) {
    for (mlir::Attribute a : attr)
      axes.push_back(llvm::cast<mlir::IntegerAttr>(a).getInt());
  }
  if (axes.empty()) { // all axes
    axes.resize(size_t(rank));
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (int64_t &a : axes) {
    if (a < -rank || a >= rank)
      return std::nullopt;
    a = a < 0 ? a + rank : a;
  }
  llvm::sort(axes);
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return std::nullopt;
  return axes;
}

struct Rewriter {
  mlir::OpBuilder b;
  Operation *op;
  int64_t opset;
  std::string name; // the output tensor's, for the new ops' locations

  Rewriter(Operation *o, int64_t opset) : b(o), op(o), opset(opset), name(tensorNameOf(o, 0)) {}

  mlir::Location loc(const std::string &suffix) {
    return fuseNodeLocs({op->getLoc()}, {name + "/" + suffix});
  }
  mlir::RankedTensorType like(mlir::RankedTensorType t, llvm::ArrayRef<int64_t> shape) {
    return mlir::RankedTensorType::get(shape, t.getElementType());
  }
  Value transpose(Value x, const std::vector<int64_t> &perm, const std::string &suffix) {
    auto t = llvm::cast<mlir::RankedTensorType>(x.getType());
    llvm::SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(t.getDimSize(p));
    return TransposeOp::create(b, loc(suffix), like(t, shape), x, b.getI64ArrayAttr(perm));
  }
  template <typename OpT> Value unary(Value x, const std::string &suffix) {
    return OpT::create(b, loc(suffix), x.getType(), x);
  }
  // A reduction over `axes` (normalised, sorted) of `x`, keeping dims, with the axes where
  // this opset has them (an input from opset 13 for ReduceSum, 18 for the others; an
  // attribute before).
  template <typename OpT>
  Value reduce(Value x, const std::vector<int64_t> &axes, const std::string &suffix) {
    auto t = llvm::cast<mlir::RankedTensorType>(x.getType());
    llvm::SmallVector<int64_t> shape(t.getShape());
    for (int64_t a : axes)
      shape[size_t(a)] = 1;
    bool input = std::is_same_v<OpT, ReduceSumOp> ? opset >= 13 : opset >= 18;
    Value axesIn = input ? intsConstantOf(b, loc(suffix + ".axes"), axes)
                         : NoneOp::create(b, loc(suffix + ".axes"), b.getNoneType()).getResult();
    return OpT::create(b, loc(suffix), like(t, shape), x, axesIn,
                       input ? mlir::ArrayAttr() : b.getI64ArrayAttr(axes),
                       b.getI64IntegerAttr(1), nullptr);
  }
  // The same over the last `k` axes.
  template <typename OpT> Value reduce(Value x, int64_t k, const std::string &suffix) {
    int64_t rank = llvm::cast<mlir::RankedTensorType>(x.getType()).getRank();
    std::vector<int64_t> axes(static_cast<size_t>(k));
    std::iota(axes.begin(), axes.end(), rank - k);
    return reduce<OpT>(x, axes, suffix);
  }
  // `v` as the op's result: reshaped to its type when the shapes differ; the last op takes
  // the node's location (its name and output tensor's).
  void finish(Value v) {
    auto want = llvm::cast<mlir::RankedTensorType>(op->getResult(0).getType());
    if (v.getType() != want)
      v = ReshapeOp::create(b, op->getLoc(), want, v,
                            intsConstantOf(b, loc("shape"), std::vector<int64_t>(want.getShape())),
                            nullptr);
    else
      v.getDefiningOp()->setLoc(op->getLoc());
    op->getResult(0).replaceAllUsesWith(v);
    op->erase();
  }
};

// Rewrites a Reduce* op in row form; false (untouched) when it is one already or cannot be.
// A Reduce* that reduces nothing: noop_with_empty_axes set, with its axes an input (ReduceSum
// from opset 13, the others from 18) left out or empty. Its result is its input, as the
// reference computes it; reading the absent axes as "all axes" would reduce everything.
bool reducesNothing(Operation *op, int64_t opset) {
  auto noop = op->getAttrOfType<mlir::IntegerAttr>("noop_with_empty_axes");
  if (!noop || noop.getInt() == 0 || opset < (llvm::isa<ReduceSumOp>(op) ? 13 : 18))
    return false;
  Value axes = op->getOperand(1);
  if (absent(axes))
    return true;
  std::optional<std::vector<int64_t>> c = constantInts(axes);
  return c && c->empty();
}

bool rewriteReduce(Operation *op, int64_t opset) {
  if (reducesNothing(op, opset) && op->getResult(0).getType() == op->getOperand(0).getType()) {
    op->getResult(0).replaceAllUsesWith(op->getOperand(0));
    op->erase();
    return true;
  }
  Value x = op->getOperand(0);
  auto t = rowsType(x);
  auto result = llvm::dyn_cast<mlir::RankedTensorType>(op->getResult(0).getType());
  if (!t || !result || !result.hasStaticShape())
    return false;
  int64_t rank = t.getRank();
  std::optional<std::vector<int64_t>> axes = reducedAxes(op, rank);
  if (!axes)
    return false;
  int64_t k = int64_t(axes->size());
  bool trailing = true;
  for (int64_t i = 0; i < k; ++i)
    trailing &= (*axes)[size_t(i)] == rank - k + i;
  auto keep = op->getAttrOfType<mlir::IntegerAttr>("keepdims");
  bool keepdims = !keep || keep.getInt() != 0;
  bool plain = llvm::isa<ReduceMeanOp, ReduceSumOp, ReduceMaxOp, ReduceMinOp, ReduceProdOp,
                         ReduceLogSumExpOp>(op);
  if (plain && trailing && keepdims)
    return false; // the row form already
  Rewriter r(op, opset);
  if (!trailing) { // kept axes in order, then the reduced ones
    std::vector<int64_t> perm;
    for (int64_t d = 0; d < rank; ++d)
      if (!std::binary_search(axes->begin(), axes->end(), d))
        perm.push_back(d);
    perm.insert(perm.end(), axes->begin(), axes->end());
    x = r.transpose(x, perm, "reduced_last");
  }
  Value y;
  if (llvm::isa<ReduceMeanOp>(op))
    y = r.reduce<ReduceMeanOp>(x, k, "rows");
  else if (llvm::isa<ReduceSumOp>(op))
    y = r.reduce<ReduceSumOp>(x, k, "rows");
  else if (llvm::isa<ReduceMaxOp>(op))
    y = r.reduce<ReduceMaxOp>(x, k, "rows");
  else if (llvm::isa<ReduceMinOp>(op))
    y = r.reduce<ReduceMinOp>(x, k, "rows");
  else if (llvm::isa<ReduceProdOp>(op))
    y = r.reduce<ReduceProdOp>(x, k, "rows");
  else if (llvm::isa<ReduceLogSumExpOp>(op))
    y = r.reduce<ReduceLogSumExpOp>(x, k, "rows");
  else if (llvm::isa<ReduceSumSquareOp, ReduceL2Op>(op)) {
    Value sq = MulOp::create(r.b, r.loc("squares"), x.getType(), x, x);
    y = r.reduce<ReduceSumOp>(sq, k, "rows");
    if (llvm::isa<ReduceL2Op>(op))
      y = r.unary<SqrtOp>(y, "root");
  } else if (llvm::isa<ReduceL1Op>(op)) {
    y = r.reduce<ReduceSumOp>(r.unary<AbsOp>(x, "magnitudes"), k, "rows");
  } else if (llvm::isa<ReduceLogSumOp>(op)) {
    y = r.unary<LogOp>(r.reduce<ReduceSumOp>(x, k, "rows"), "log");
  } else {
    return false;
  }
  r.finish(y);
  return true;
}

// Softmax/LogSoftmax over one axis that is not the last (opset 13 on; before, the axis starts
// the flattened trailing dims, rows already): the axis swapped with the last and back.
template <typename OpT> bool rewriteSoftmax(OpT op, int64_t opset) {
  auto t = rowsType(op->getOperand(0));
  if (opset < 13 || !t)
    return false;
  int64_t rank = t.getRank();
  std::optional<int64_t> a = axisIn(op.getAxis(), -1, rank);
  if (!a || *a == rank - 1)
    return false;
  int64_t axis = *a;
  Rewriter r(op, opset);
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[size_t(axis)], perm.back());
  Value x = r.transpose(op->getOperand(0), perm, "axis_last");
  Value s = OpT::create(r.b, r.loc("rows"), x.getType(), x, r.b.getI64IntegerAttr(-1));
  r.finish(r.transpose(s, perm, "axis_back"));
  return true;
}

// Hardmax as the one-hot of ArgMax along its axis: Cast(Equal(positions, ArgMax(x, axis,
// keepdims)), x's type), positions an i64 constant 0..n-1 along the axis (1s elsewhere).
// Opset 13 on (one axis), or the last axis before (where the coerced rows are that axis).
bool rewriteHardmax(HardmaxOp op, int64_t opset) {
  Value x = op->getOperand(0);
  auto t = rowsType(x);
  if (!t || op->getResult(0).getType() != t)
    return false;
  int64_t rank = t.getRank();
  std::optional<int64_t> a = axisIn(op.getAxis(), opset >= 13 ? -1 : 1, rank);
  if (!a || (opset < 13 && *a != rank - 1))
    return false;
  int64_t axis = *a;
  Rewriter r(op, opset);
  int64_t n = t.getDimSize(axis);
  llvm::SmallVector<int64_t> kept(t.getShape());
  kept[size_t(axis)] = 1;
  Value argmax = ArgMaxOp::create(r.b, r.loc("argmax"), mlir::RankedTensorType::get(kept, r.b.getI64Type()),
                                  x, r.b.getI64IntegerAttr(axis), r.b.getI64IntegerAttr(1),
                                  r.b.getI64IntegerAttr(0));
  Shape along(static_cast<size_t>(rank), 1);
  along[size_t(axis)] = n;
  std::vector<int64_t> positions(static_cast<size_t>(n));
  std::iota(positions.begin(), positions.end(), 0);
  Value pos = constantOf(r.b, r.loc("positions"), Tensor::fromVector(DType::I64, along, positions));
  Value hit = EqualOp::create(r.b, r.loc("is_max"), mlir::RankedTensorType::get(t.getShape(), r.b.getI1Type()),
                              pos, argmax);
  r.finish(CastOp::create(r.b, r.loc("one_hot"), t, hit,
                          r.b.getI64IntegerAttr(dtypeToOnnx(*dtypeOf(t.getElementType()))), nullptr,
                          nullptr));
  return true;
}

// A LayerNormalization whose Mean or InvStdDev output is read (the row kernel computes Y
// alone) as the ONNX function body: mean = ReduceMean(x), d = x - mean, InvStdDev =
// 1 / Sqrt(ReduceMean(d * d) + epsilon), Y = d * InvStdDev * Scale + B, over the trailing
// axes from `axis`; the statistics cast to stash_type when X is of another type (computed in
// X's type, as the reference computes them).
bool rewriteLayerNormStats(LayerNormalizationOp op, int64_t opset) {
  if (llvm::all_of(op->getResults().drop_front(), [](Value r) { return r.use_empty(); }))
    return false;
  Value x = op.getX();
  auto t = rowsType(x);
  if (!t || op.getY().getType() != t)
    return false;
  int64_t rank = t.getRank();
  std::optional<int64_t> axis = axisIn(op.getAxis(), -1, rank);
  if (!axis)
    return false;
  for (Value r : op->getResults().drop_front()) {
    auto st = llvm::dyn_cast<mlir::RankedTensorType>(r.getType());
    if (!st || !st.hasStaticShape() || !rowsType(r))
      return false;
  }
  Rewriter r(op, opset);
  Value mean = r.reduce<ReduceMeanOp>(x, rank - *axis, "mean");
  Value d = SubOp::create(r.b, r.loc("centered"), t, x, mean);
  Value var = r.reduce<ReduceMeanOp>(MulOp::create(r.b, r.loc("squares"), t, d, d), rank - *axis, "variance");
  float eps = op.getEpsilon() ? op.getEpsilon()->convertToFloat() : 1e-5f;
  Value shifted = AddOp::create(r.b, r.loc("variance_eps"), var.getType(), var,
                                scalarConstantOf(r.b, r.loc("epsilon"), eps, *dtypeOf(t.getElementType())));
  Value inv = r.unary<ReciprocalOp>(r.unary<SqrtOp>(shifted, "stddev"), "inv_stddev");
  Value y = MulOp::create(r.b, r.loc("normalized"), t, d, inv);
  y = MulOp::create(r.b, r.loc("scaled"), t, y, op.getScale());
  if (!absent(op.getB()))
    y = AddOp::create(r.b, r.loc("shifted"), t, y, op.getB());
  Value stats[2] = {mean, inv};
  for (unsigned i = 1; i < op->getNumResults(); ++i) {
    Value out = op->getResult(i), v = stats[i - 1];
    mlir::Location l = fuseNodeLocs({op->getLoc()}, {tensorNameOf(op, i)});
    if (out.getType() != v.getType()) {
      DType to = *dtypeOf(llvm::cast<mlir::RankedTensorType>(out.getType()).getElementType());
      v = CastOp::create(r.b, l, out.getType(), v, r.b.getI64IntegerAttr(dtypeToOnnx(to)), nullptr,
                         nullptr);
    } else {
      v.getDefiningOp()->setLoc(l);
    }
    out.replaceAllUsesWith(v);
  }
  r.finish(y);
  return true;
}

// LpNormalization (p 1 or 2) and MeanVarianceNormalization as the reductions and elementwise
// ops they are defined by, the reductions then in row form:
//   LpNormalization: x / ReduceL1|L2(x, axis);
//   MVN: d = x - ReduceMean(x, axes); d / (Sqrt(ReduceMean(d * d, axes)) + 1e-9) (the
//   reference's variance, E[(x - mean)^2], not the ONNX function's E[x^2] - E[x]^2).
bool rewriteNormalization(Operation *op, int64_t opset) {
  Value x = op->getOperand(0);
  auto t = rowsType(x);
  if (!t || op->getResult(0).getType() != t)
    return false;
  int64_t rank = t.getRank();
  std::vector<int64_t> axes;
  auto normalised = [&](std::optional<int64_t> a) {
    if (a)
      axes.push_back(*a);
    return a.has_value();
  };
  Rewriter r(op, opset);
  llvm::SmallVector<Operation *, 2> reductions;
  Value y;
  if (auto lp = llvm::dyn_cast<LpNormalizationOp>(op)) {
    int64_t p = lp.getP() ? int64_t(*lp.getP()) : 2;
    if ((p != 1 && p != 2) || !normalised(axisIn(lp.getAxis(), -1, rank)))
      return false;
    Value norm = p == 2 ? r.reduce<ReduceL2Op>(x, axes, "norm") : r.reduce<ReduceL1Op>(x, axes, "norm");
    reductions.push_back(norm.getDefiningOp());
    y = DivOp::create(r.b, r.loc("normalized"), t, x, norm);
  } else {
    auto mvn = llvm::cast<MeanVarianceNormalizationOp>(op);
    std::vector<int64_t> given = {0, 2, 3};
    if (auto attr = mvn.getAxes()) {
      given.clear();
      for (mlir::Attribute a : *attr)
        given.push_back(llvm::cast<mlir::IntegerAttr>(a).getInt());
    }
    for (int64_t a : given)
      if (!normalised(axisIn(std::optional<int64_t>(a), 0, rank)))
        return false;
    llvm::sort(axes);
    if (axes.empty() || std::adjacent_find(axes.begin(), axes.end()) != axes.end())
      return false;
    Value mean = r.reduce<ReduceMeanOp>(x, axes, "mean");
    Value d = SubOp::create(r.b, r.loc("centered"), t, x, mean);
    Value sq = MulOp::create(r.b, r.loc("squares"), t, d, d);
    Value var = r.reduce<ReduceMeanOp>(sq, axes, "variance");
    Value sd = r.unary<SqrtOp>(var, "stddev");
    Value eps = scalarConstantOf(r.b, r.loc("epsilon"), 1e-9, *dtypeOf(t.getElementType()));
    Value den = AddOp::create(r.b, r.loc("denominator"), sd.getType(), sd, eps);
    y = DivOp::create(r.b, r.loc("normalized"), t, d, den);
    reductions = {mean.getDefiningOp(), var.getDefiningOp()};
  }
  r.finish(y);
  for (Operation *red : reductions)
    rewriteReduce(red, opset);
  return true;
}

struct ReductionsAsRowsPass : impl::PlumbReductionsAsRowsBase<ReductionsAsRowsPass> {
  void runOnOperation() override {
    int64_t opset = 17;
    if (auto module = getOperation()->getParentOfType<mlir::ModuleOp>())
      if (auto a = module->getAttrOfType<mlir::IntegerAttr>(kOpsetAttr))
        opset = a.getInt();
    llvm::SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (llvm::isa<ReduceMeanOp, ReduceSumOp, ReduceMaxOp, ReduceMinOp, ReduceProdOp,
                    ReduceLogSumExpOp, ReduceSumSquareOp, ReduceL1Op, ReduceL2Op, ReduceLogSumOp,
                    SoftmaxOp, LogSoftmaxOp, HardmaxOp, LpNormalizationOp,
                    MeanVarianceNormalizationOp, LayerNormalizationOp>(op) &&
          llvm::isa<mlir::func::FuncOp>(op->getParentOp()))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (auto s = llvm::dyn_cast<SoftmaxOp>(op))
        rewriteSoftmax(s, opset);
      else if (auto l = llvm::dyn_cast<LogSoftmaxOp>(op))
        rewriteSoftmax(l, opset);
      else if (auto ln = llvm::dyn_cast<LayerNormalizationOp>(op))
        rewriteLayerNormStats(ln, opset);
      else if (auto h = llvm::dyn_cast<HardmaxOp>(op))
        rewriteHardmax(h, opset);
      else if (llvm::isa<LpNormalizationOp, MeanVarianceNormalizationOp>(op))
        rewriteNormalization(op, opset);
      else
        rewriteReduce(op, opset);
    }
  }
};

} // namespace
} // namespace plumb
