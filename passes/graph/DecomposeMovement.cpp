// plumb-decompose-movement: ops that only move elements, as the movement ops they stand for,
// for backends with kernels for those (CUDA: movement and window kernels instead of a host
// step). Both need static shapes and constant steering operands.
//   CenterCropPad(x, shape): a Slice of the axes cropped (from (in - out) / 2), then a Pad
//     with zeros of the axes grown ((out - in) / 2 before, the rest after), as the reference
//     centres them.
//   MaxUnpool(X, I): zeros of the unpooled shape (an Expand of a 0 scalar) with X scattered
//     at MaxPool's flat indices, plane by plane (ScatterElements along the rows of [N * C,
//     plane], each index less its plane's offset: MaxPool's indices stay in their plane),
//     reshaped, then padded with zeros at the end of each dim up to a larger output_shape
//     (the reference keeps each element's multi-index). The scatter kernel costs outputs x
//     indices per plane; a large unpool stays on the host. A MaxUnpool of a MaxPool's
//     Indices with the same window (SegNet, ENet) is not rewritten but marked
//     plumb.indices_in_window: the window kernel gathers each output from the windows that
//     cover it, a few per element.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBDECOMPOSEMOVEMENT
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

// Marks a MaxUnpool whose indices come from a MaxPool of the same window: the CUDA window
// kernel (codegen/Window.cpp) gathers each output from the few windows covering it, which is
// right only for indices inside their window.
constexpr llvm::StringLiteral kIndicesInWindow = "plumb.indices_in_window";

// The most index checks a MaxUnpool's scatter may cost (outputs x indices per plane).
constexpr int64_t kMaxScatterChecks = int64_t(1) << 28;

struct Builder {
  mlir::OpBuilder b;
  mlir::Operation *op;
  std::string name;

  explicit Builder(mlir::Operation *o) : b(o), op(o), name(tensorNameOf(o, 0)) {}
  mlir::Location loc(const std::string &what) { return fuseNodeLocs({op->getLoc()}, {name + "/" + what}); }
  mlir::RankedTensorType like(mlir::Value v, llvm::ArrayRef<int64_t> shape) {
    return mlir::RankedTensorType::get(shape, llvm::cast<mlir::RankedTensorType>(v.getType()).getElementType());
  }
  Value ints(const std::string &what, const std::vector<int64_t> &v) { return intsConstantOf(b, loc(what), v); }
  Value none(const std::string &what) { return NoneOp::create(b, loc(what), b.getNoneType()); }
  // `x` padded with zeros by `pads` (ONNX order: every dim's begin, then every end).
  Value padded(Value x, const std::vector<int64_t> &pads, llvm::ArrayRef<int64_t> shape,
               mlir::Location at, int64_t opset) {
    if (opset < 11)
      return PadOp::create(b, at, like(x, shape), x, none("pads"), none("fill"), none("axes"), nullptr,
                           b.getI64ArrayAttr(pads), nullptr);
    return PadOp::create(b, at, like(x, shape), x, ints("pads", pads), none("fill"), none("axes"),
                         nullptr, nullptr, nullptr);
  }
};

void centerCropPad(CenterCropPadOp op, int64_t opset) {
  auto xt = staticTensorType(op.getInputData());
  auto yt = staticTensorType(op.getOutputData());
  std::optional<std::vector<int64_t>> target = constantInts(op.getShape());
  if (!xt || !yt || !target)
    return;
  int64_t rank = xt.getRank();
  std::vector<int64_t> axes;
  if (auto a = op.getAxesAttr())
    for (mlir::Attribute v : a)
      axes.push_back(llvm::cast<mlir::IntegerAttr>(v).getInt());
  else
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  if (axes.size() != target->size())
    return;
  llvm::SmallVector<int64_t> cropped(xt.getShape());
  std::vector<int64_t> starts, ends, sliced, pads(size_t(2 * rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank || (*target)[i] < 0)
      return;
    int64_t in = xt.getDimSize(a), out = (*target)[i];
    if (in > out) {
      starts.push_back((in - out) / 2);
      ends.push_back((in - out) / 2 + out);
      sliced.push_back(a);
      cropped[size_t(a)] = out;
    } else if (out > in) {
      pads[size_t(a)] = (out - in) / 2;
      pads[size_t(a + rank)] = out - in - (out - in) / 2;
    }
  }
  llvm::SmallVector<int64_t> result(cropped);
  for (int64_t d = 0; d < rank; ++d)
    result[size_t(d)] += pads[size_t(d)] + pads[size_t(d + rank)];
  if (llvm::ArrayRef<int64_t>(result) != yt.getShape() || xt.getElementType() != yt.getElementType())
    return; // a result type of its own (stale, or declared otherwise): leave it
  Builder m(op);
  Value y = op.getInputData();
  bool grows = llvm::any_of(pads, [](int64_t p) { return p != 0; });
  if (!sliced.empty())
    y = SliceOp::create(m.b, grows ? m.loc("cropped") : op.getLoc(), m.like(y, cropped), y,
                        m.ints("starts", starts), m.ints("ends", ends), m.ints("axes", sliced), m.none("steps"),
                        nullptr, nullptr, nullptr);
  if (grows)
    y = m.padded(y, pads, yt.getShape(), op.getLoc(), opset);
  op.getOutputData().replaceAllUsesWith(y);
  op->erase();
}

// Whether I is the Indices of a MaxPool with the unpool's window (kernel, strides, pads; no
// dilation, storage order, auto_pad or ceil_mode): then every index lies in its window.
bool indicesOfSameWindow(MaxUnpoolOp op) {
  auto pool = op.getI().getDefiningOp<MaxPoolOp>();
  if (!pool || pool.getIndices() != op.getI())
    return false;
  auto ints = [](mlir::Operation *o, llvm::StringRef name) {
    std::vector<int64_t> v;
    if (auto a = o->getAttrOfType<mlir::ArrayAttr>(name))
      for (mlir::Attribute e : a)
        v.push_back(llvm::cast<mlir::IntegerAttr>(e).getInt());
    return v;
  };
  auto allOnes = [](const std::vector<int64_t> &v) { return llvm::all_of(v, [](int64_t x) { return x == 1; }); };
  auto allZeros = [](const std::vector<int64_t> &v) { return llvm::all_of(v, [](int64_t x) { return x == 0; }); };
  auto intAttr = [](mlir::Operation *o, llvm::StringRef name) {
    auto a = o->getAttrOfType<mlir::IntegerAttr>(name);
    return a ? a.getInt() : 0;
  };
  auto autoPad = pool->getAttrOfType<mlir::StringAttr>("auto_pad");
  std::vector<int64_t> ps = ints(pool, "strides"), us = ints(op, "strides"), pp = ints(pool, "pads"),
                       up = ints(op, "pads");
  return ints(pool, "kernel_shape") == ints(op, "kernel_shape") &&
         (ps == us || (allOnes(ps) && allOnes(us))) && (pp == up || (allZeros(pp) && allZeros(up))) &&
         allOnes(ints(pool, "dilations")) && intAttr(pool, "storage_order") == 0 &&
         intAttr(pool, "ceil_mode") == 0 && (!autoPad || autoPad.getValue() == "NOTSET");
}

void maxUnpool(MaxUnpoolOp op, int64_t opset) {
  if (indicesOfSameWindow(op)) { // the window kernel gathers from each output's few windows
    op->setAttr(kIndicesInWindow, mlir::IntegerAttr::get(mlir::IntegerType::get(op.getContext(), 64), 1));
    return;
  }
  auto xt = staticTensorType(op.getX());
  auto it = staticTensorType(op.getI());
  auto yt = staticTensorType(op.getOutput());
  if (!xt || !it || !yt || xt.getShape() != it.getShape() || xt.getRank() < 3 ||
      yt.getRank() != xt.getRank() || !dtypeOf(xt.getElementType()))
    return;
  int64_t nd = xt.getRank() - 2;
  auto attrInts = [](mlir::ArrayAttr a, std::vector<int64_t> fallback) {
    if (!a)
      return fallback;
    std::vector<int64_t> v;
    for (mlir::Attribute e : a)
      v.push_back(llvm::cast<mlir::IntegerAttr>(e).getInt());
    return v;
  };
  std::vector<int64_t> k = attrInts(op.getKernelShapeAttr(), {});
  std::vector<int64_t> strides = attrInts(op.getStridesAttr(), std::vector<int64_t>(size_t(nd), 1));
  std::vector<int64_t> pads = attrInts(op.getPadsAttr(), std::vector<int64_t>(size_t(2 * nd), 0));
  if (int64_t(k.size()) != nd || int64_t(strides.size()) != nd || int64_t(pads.size()) != 2 * nd)
    return;
  llvm::SmallVector<int64_t> inferred = {xt.getDimSize(0), xt.getDimSize(1)};
  for (int64_t d = 0; d < nd; ++d)
    inferred.push_back((xt.getDimSize(d + 2) - 1) * strides[size_t(d)] + k[size_t(d)] - pads[size_t(d)] -
                       pads[size_t(d + nd)]);
  std::vector<int64_t> grow(size_t(2 * xt.getRank()), 0);
  for (int64_t d = 0; d < xt.getRank(); ++d) {
    if (inferred[size_t(d)] < 0 || yt.getDimSize(d) < inferred[size_t(d)])
      return;
    grow[size_t(d + xt.getRank())] = yt.getDimSize(d) - inferred[size_t(d)];
  }
  // Per (n, c) plane: MaxPool's indices stay in their plane, so each is scattered along its
  // plane's row, the plane's offset taken off. The scatter kernel checks every index of a row
  // for each output element (planes x out x in checks): past kMaxScatterChecks the op stays.
  int64_t planes = xt.getDimSize(0) * xt.getDimSize(1), total = 1;
  for (int64_t v : inferred)
    total *= v;
  if (planes < 1 || total % planes != 0)
    return;
  int64_t out = total / planes, in = xt.getNumElements() / planes;
  if (double(planes) * double(out) * double(in) > double(kMaxScatterChecks))
    return;
  Builder m(op);
  Value zero = scalarConstantOf(m.b, m.loc("zero"), 0.0, *dtypeOf(xt.getElementType()));
  Value zeros = ExpandOp::create(m.b, m.loc("zeros"), m.like(op.getX(), {planes, out}), zero,
                                 m.ints("zeros.shape", {planes, out}));
  std::vector<int64_t> starts;
  for (int64_t p = 0; p < planes; ++p)
    starts.push_back(p * out);
  Value where = reshapedTo(m.b, m.loc("plane_indices"), op.getI(), {planes, in}, opset);
  Value offsets = constantOf(m.b, m.loc("plane_offsets"), Tensor::fromVector(DType::I64, {planes, 1}, starts));
  where = SubOp::create(m.b, m.loc("in_plane_indices"), m.like(where, {planes, in}), where, offsets);
  Value values = reshapedTo(m.b, m.loc("plane_values"), op.getX(), {planes, in}, opset);
  Value scattered = ScatterElementsOp::create(m.b, m.loc("scattered"), m.like(op.getX(), {planes, out}), zeros,
                                              where, values, m.b.getI64IntegerAttr(1), nullptr);
  bool grows = llvm::any_of(grow, [](int64_t p) { return p != 0; });
  Value y = reshapedTo(m.b, grows ? m.loc("unpooled") : op.getLoc(), scattered, inferred, opset);
  if (grows)
    y = m.padded(y, grow, yt.getShape(), op.getLoc(), opset);
  op.getOutput().replaceAllUsesWith(y);
  op->erase();
}

struct DecomposeMovementPass : impl::PlumbDecomposeMovementBase<DecomposeMovementPass> {
  void runOnOperation() override {
    int64_t opset = moduleOpset(getOperation());
    llvm::SmallVector<mlir::Operation *> ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (llvm::isa<CenterCropPadOp, MaxUnpoolOp>(op))
        ops.push_back(op);
    });
    for (mlir::Operation *op : ops) {
      if (auto c = llvm::dyn_cast<CenterCropPadOp>(op))
        centerCropPad(c, opset);
      else
        maxUnpool(llvm::cast<MaxUnpoolOp>(op), opset);
    }
  }
};

} // namespace
} // namespace plumb
