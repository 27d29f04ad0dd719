// plumb-decompose-transforms: ops that are products with a matrix known at compile time, as a
// MatMul with that matrix (computed here in double, as the reference kernels compute, and
// stored in the op's element type), for backends with a GEMM (CUDA: cuBLASLt instead of a host
// step). Shapes must be static and the steering operands constant.
//   AffineGrid(theta [N, s, s + 1], size): the base grid B [P, s + 1] of normalised (x, y[, z],
//     1) per output point, then B x theta^T: [N, P, s], reshaped to [N, spatial..., s].
//   DFT(x [..., L (axis), ..., c]): the axis moved next to c (a Transpose when it is not), the
//     rest flattened to rows, times W [L * c, bins * 2] holding each sample's twiddles (1/n
//     when inverse; zero rows past dft_length, which truncates; samples past L are the zeros
//     dft_length pads with), reshaped and moved back.
//   STFT(signal [B, T, c]): the frames as a Gather of constant indices [F, frame_length]
//     along T, times W with a constant window folded into its rows (a run-time window
//     multiplies the frames first).
// W holds at most 16 MiB of elements; a longer transform stays (an FFT would be the way).
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

#include <cmath>

namespace plumb {
#define GEN_PASS_DEF_PLUMBDECOMPOSETRANSFORMS
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;
constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kMaxMatrixElements = int64_t(16) << 20 >> 2;

struct Builder {
  mlir::OpBuilder b;
  mlir::Operation *op;
  std::string name;
  mlir::Type elt;
  DType dt;

  explicit Builder(mlir::Operation *o, mlir::Type e)
      : b(o), op(o), name(tensorNameOf(o, 0)), elt(e), dt(*dtypeOf(e)) {}
  mlir::Location loc(const std::string &what) { return fuseNodeLocs({op->getLoc()}, {name + "/" + what}); }
  mlir::RankedTensorType type(llvm::ArrayRef<int64_t> shape) { return mlir::RankedTensorType::get(shape, elt); }
  Value reshape(Value v, llvm::ArrayRef<int64_t> shape, mlir::Location at) {
    return ReshapeOp::create(b, at, type(shape), v, intsConstantOf(b, loc("shape"), std::vector<int64_t>(shape.begin(), shape.end())),
                             nullptr);
  }
  Value transpose(Value v, llvm::ArrayRef<int64_t> perm, mlir::Location at) {
    auto vt = llvm::cast<mlir::RankedTensorType>(v.getType());
    llvm::SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(vt.getDimSize(p));
    return TransposeOp::create(b, at, type(shape), v, b.getI64ArrayAttr(perm));
  }
  Value matrix(const std::string &what, int64_t rows, int64_t cols, const std::vector<double> &v) {
    return constantOf(b, loc(what), Tensor::fromVector(DType::F64, {rows, cols}, v).cast(dt));
  }
};

bool deviceFloat(mlir::Type t) { return t.isF32() || t.isF16() || t.isBF16(); }

// A one-element constant integer operand, or nullopt (absent or run-time).
std::optional<int64_t> scalarOperand(mlir::Operation *op, unsigned i) {
  if (op->getNumOperands() <= i || absent(op->getOperand(i)))
    return std::nullopt;
  std::optional<std::vector<int64_t>> v = constantInts(op->getOperand(i));
  return v && v->size() == 1 ? std::optional<int64_t>((*v)[0]) : std::nullopt;
}

// W [rows * c, bins * 2]: row (j, part) holds what sample j's real (part 0) or imaginary part
// adds to each bin's real and imaginary parts, times scale[j]; rows j >= len are zero.
std::vector<double> twiddles(int64_t rows, int64_t c, int64_t len, int64_t bins, bool inverse,
                             const std::vector<double> &scale) {
  std::vector<double> w(size_t(rows * c * bins * 2), 0.0);
  double sign = inverse ? 1.0 : -1.0, norm = inverse ? 1.0 / double(len) : 1.0;
  for (int64_t j = 0; j < std::min(rows, len); ++j)
    for (int64_t k = 0; k < bins; ++k) {
      double angle = sign * 2 * kPi * double((j * k) % len) / double(len);
      double cs = std::cos(angle) * norm * scale[size_t(j)], sn = std::sin(angle) * norm * scale[size_t(j)];
      double *re = &w[size_t((j * c) * bins * 2 + 2 * k)];
      re[0] = cs, re[1] = sn; // (x + 0i)(cos + i sin)
      if (c == 2) {
        double *im = &w[size_t((j * c + 1) * bins * 2 + 2 * k)];
        im[0] = -sn, im[1] = cs; // (0 + xi)(cos + i sin)
      }
    }
  return w;
}

void dft(DFTOp op, int64_t opset) {
  auto xt = staticTensorType(op.getInput());
  auto yt = staticTensorType(op.getOutput());
  if (!xt || !yt || !deviceFloat(xt.getElementType()) || yt.getElementType() != xt.getElementType())
    return;
  int64_t r = xt.getRank(), c = xt.getShape().back();
  std::optional<int64_t> axis = !absent(op.getAxisIn()) ? scalarOperand(op, 2)
                                : op.getAxisAttr()   ? std::optional<int64_t>(op.getAxisAttr().getInt())
                                                     : std::optional<int64_t>(opset >= 20 ? -2 : 1);
  if (r < 2 || (c != 1 && c != 2) || !axis || *axis < -r || *axis >= r)
    return;
  int64_t a = *axis < 0 ? *axis + r : *axis;
  if (a == r - 1)
    return;
  int64_t n = xt.getDimSize(a);
  std::optional<int64_t> len = absent(op.getDftLength()) ? std::optional<int64_t>(n) : scalarOperand(op, 1);
  bool inverse = op.getInverseAttr() && op.getInverseAttr().getInt() != 0;
  bool onesided = op.getOnesidedAttr() && op.getOnesidedAttr().getInt() != 0;
  if (!len || *len < 1)
    return;
  int64_t bins = onesided ? *len / 2 + 1 : *len;
  if (n * c * bins * 2 > kMaxMatrixElements || yt.getDimSize(a) != bins || yt.getShape().back() != 2)
    return;
  Builder m(op, xt.getElementType());
  // The transform axis next to the (real, imaginary) dim.
  llvm::SmallVector<int64_t> perm, back(static_cast<size_t>(r), 0);
  for (int64_t d = 0; d < r - 1; ++d)
    if (d != a)
      perm.push_back(d);
  perm.push_back(a);
  perm.push_back(r - 1);
  for (int64_t d = 0; d < r; ++d)
    back[size_t(perm[size_t(d)])] = d;
  bool moved = a != r - 2;
  Value x = moved ? m.transpose(op.getInput(), perm, m.loc("axis_last")) : op.getInput();
  int64_t rows = xt.getNumElements() / (n * c);
  llvm::SmallVector<int64_t> outMoved;
  for (int64_t p : perm)
    outMoved.push_back(p == a ? bins : p == r - 1 ? 2 : xt.getDimSize(p));
  Value flat = m.reshape(x, {rows, n * c}, m.loc("rows"));
  Value w = m.matrix("twiddles", n * c, bins * 2, twiddles(n, c, *len, bins, inverse, std::vector<double>(size_t(n), 1.0)));
  Value y = MatMulOp::create(m.b, m.loc("product"), m.type({rows, bins * 2}), flat, w);
  y = m.reshape(y, outMoved, moved ? m.loc("bins") : op.getLoc());
  if (moved)
    y = m.transpose(y, back, op.getLoc());
  op.getOutput().replaceAllUsesWith(y);
  op->erase();
}

void stft(STFTOp op) {
  auto st = staticTensorType(op.getSignal());
  auto yt = staticTensorType(op.getOutput());
  if (!st || !yt || st.getRank() != 3 || !deviceFloat(st.getElementType()) ||
      yt.getElementType() != st.getElementType())
    return;
  int64_t batch = st.getDimSize(0), length = st.getDimSize(1), c = st.getDimSize(2);
  Value window = op.getWindow();
  auto wt = absent(window) ? nullptr : staticTensorType(window);
  if ((!absent(window) && (!wt || wt.getRank() != 1 || wt.getElementType() != st.getElementType())))
    return;
  int64_t step = scalarOperand(op, 1).value_or(0);
  int64_t frame = !absent(op.getFrameLength()) ? scalarOperand(op, 3).value_or(0) : wt ? wt.getDimSize(0) : 0;
  bool onesided = !op.getOnesidedAttr() || op.getOnesidedAttr().getInt() != 0;
  if (step < 1 || frame < 1 || frame > length || (c != 1 && c != 2) || (onesided && c == 2) ||
      (wt && wt.getDimSize(0) != frame))
    return;
  int64_t frames = (length - frame) / step + 1, bins = onesided ? frame / 2 + 1 : frame;
  if (frame * c * bins * 2 > kMaxMatrixElements ||
      yt.getShape() != llvm::ArrayRef<int64_t>{batch, frames, bins, 2})
    return;
  std::optional<Tensor> constWindow = wt ? floatConstantOf(window) : std::nullopt;
  Builder m(op, st.getElementType());
  std::vector<int64_t> at;
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t j = 0; j < frame; ++j)
      at.push_back(f * step + j);
  Value index = constantOf(m.b, m.loc("frame_indices"), Tensor::fromVector(DType::I64, {frames, frame}, at));
  Value x = GatherOp::create(m.b, m.loc("frames"), m.type({batch, frames, frame, c}), op.getSignal(), index,
                             m.b.getI64IntegerAttr(1));
  std::vector<double> scale(size_t(frame), 1.0);
  if (constWindow)
    scale = constWindow->toDoubles();
  else if (wt)
    x = MulOp::create(m.b, m.loc("windowed"), m.type({batch, frames, frame, c}), x,
                      m.reshape(window, {frame, 1}, m.loc("window_column")));
  Value flat = m.reshape(x, {batch * frames, frame * c}, m.loc("rows"));
  Value w = m.matrix("twiddles", frame * c, bins * 2, twiddles(frame, c, frame, bins, false, scale));
  Value y = MatMulOp::create(m.b, m.loc("product"), m.type({batch * frames, bins * 2}), flat, w);
  op.getOutput().replaceAllUsesWith(m.reshape(y, {batch, frames, bins, 2}, op.getLoc()));
  op->erase();
}

// The normalised coordinates of `size` points: pixel corners (align_corners) or centres, as
// the reference computes them.
double baseCoord(int64_t i, int64_t size, bool alignCorners) {
  if (alignCorners)
    return size == 1 ? -1.0 : -1.0 + 2.0 * double(i) / double(size - 1);
  return (2.0 * double(i) + 1.0) / double(size) - 1.0;
}

void affineGrid(AffineGridOp op) {
  auto tt = staticTensorType(op.getTheta());
  auto yt = staticTensorType(op.getGrid());
  std::optional<std::vector<int64_t>> size = constantInts(op.getSize());
  if (!tt || !yt || !size || !deviceFloat(tt.getElementType()) || yt.getElementType() != tt.getElementType() ||
      (size->size() != 4 && size->size() != 5))
    return;
  int64_t s = int64_t(size->size()) - 2, batch = (*size)[0];
  if (tt.getShape() != llvm::ArrayRef<int64_t>{batch, s, s + 1})
    return;
  std::vector<int64_t> spatial(size->begin() + 2, size->end());
  int64_t points = 1;
  for (int64_t v : spatial)
    points *= v;
  if (points < 1 || points * (s + 1) > kMaxMatrixElements)
    return;
  llvm::SmallVector<int64_t> shape = {batch};
  shape.append(spatial.begin(), spatial.end());
  shape.push_back(s);
  if (yt.getShape() != llvm::ArrayRef<int64_t>(shape))
    return;
  bool align = op.getAlignCornersAttr() && op.getAlignCornersAttr().getInt() != 0;
  // B [P, s + 1]: per point (x, y[, z], 1), x along the innermost spatial dim.
  std::vector<double> base;
  std::vector<int64_t> idx(size_t(s), 0);
  for (int64_t p = 0; p < points; ++p) {
    for (int64_t d = 0; d < s; ++d)
      base.push_back(baseCoord(idx[size_t(s - 1 - d)], spatial[size_t(s - 1 - d)], align));
    base.push_back(1.0);
    for (int64_t d = s; d-- > 0;)
      if (++idx[size_t(d)] < spatial[size_t(d)])
        break;
      else
        idx[size_t(d)] = 0;
  }
  Builder m(op, tt.getElementType());
  Value b = m.matrix("base_grid", points, s + 1, base);
  Value thetaT = m.transpose(op.getTheta(), {0, 2, 1}, m.loc("theta_t"));
  Value y = MatMulOp::create(m.b, m.loc("product"), m.type({batch, points, s}), b, thetaT);
  op.getGrid().replaceAllUsesWith(m.reshape(y, shape, op.getLoc()));
  op->erase();
}

struct DecomposeTransformsPass : impl::PlumbDecomposeTransformsBase<DecomposeTransformsPass> {
  void runOnOperation() override {
    int64_t opset = moduleOpset(getOperation());
    llvm::SmallVector<mlir::Operation *> ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (llvm::isa<DFTOp, STFTOp, AffineGridOp>(op))
        ops.push_back(op);
    });
    for (mlir::Operation *op : ops) {
      if (auto d = llvm::dyn_cast<DFTOp>(op))
        dft(d, opset);
      else if (auto s = llvm::dyn_cast<STFTOp>(op))
        stft(s);
      else
        affineGrid(llvm::cast<AffineGridOp>(op));
    }
  }
};

} // namespace
} // namespace plumb
