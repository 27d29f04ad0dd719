// plumb-decompose-quantize: QuantizeLinear and DequantizeLinear (per tensor, per axis or
// blocked; to and from 4-, 8- and 16-bit integers, float8 and float4e2m1) become the
// elementwise ops ONNX defines them by, so the quantize/dequantize pairs of a QDQ model are
// computed by generated kernels:
//   DequantizeLinear: y = (Cast(x) - Cast(zero_point)) * scale      (in the scale's type)
//   QuantizeLinear:   y = Cast(Clip(Round(x / scale) + zero_point, lo, hi))  (Round: half to
//                     even; [lo, hi] the output type's range: saturation)
// A per-axis scale/zero point [C] is reshaped to [C, 1, ..., 1] to broadcast along `axis`.
// Blocked (block_size b, weight-only int4/int8 LLM exports, MX formats): x viewed as [..,
// K/b, b, ..] and the parameters as [.., K/b, 1, ..], the result reshaped back.
// To float8 and float4: Cast(x / scale + zero_point) with the node's saturate (no Round: the
// Cast rounds to the nearest value; the zero point, 0 in practice, is left out when it is a
// constant of zeros, else added in the compute type, so a non-zero one rounds twice where the
// reference adds in double); from them as from integers. e8m0 (no quantization produces it)
// stays one op. DynamicQuantizeLinear becomes its whole-tensor min and max and the
// arithmetic on them (dynamicQuantize). The last op carries the node and its output's name.
// Constant weights were folded before, within the constant-folding cap; a larger one is
// dequantized by a kernel at run time.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "mlir/IR/Builders.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBDECOMPOSEQUANTIZE
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

std::optional<DType> elementDType(Value v) {
  auto t = llvm::dyn_cast<mlir::RankedTensorType>(v.getType());
  return t ? dtypeOf(t.getElementType()) : std::nullopt;
}

// The float8 types and float4e2m1 (not e8m0, which quantization does not produce).
bool float8(DType t) { return isSmallFloat(t) && t != DType::F8E8M0; }

// The range QuantizeLinear saturates to (4-, 8- and 16-bit integers); nullopt for others.
std::optional<std::pair<double, double>> quantRange(DType t) {
  bool quantized = t == DType::I4 || t == DType::U4 || t == DType::I8 || t == DType::U8 ||
                   t == DType::I16 || t == DType::U16;
  return quantized ? integerRange(t) : std::nullopt;
}

bool computeType(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

bool blocked(mlir::Operation *op) {
  auto a = op->getAttrOfType<mlir::IntegerAttr>("block_size");
  return a && a.getInt() != 0;
}

// Blocked (de)quantization (block_size b along `axis`, the scale and zero point [.., K/b, ..]):
// x viewed as [.., K/b, b, ..] and the parameters as [.., K/b, 1, ..] broadcast over each
// block; the result reshaped back. K must be a multiple of b (else nullopt: one op).
struct Blocks {
  std::vector<int64_t> x, param; // the split shapes
};
std::optional<Blocks> blocksOf(mlir::Operation *op, mlir::RankedTensorType x, Value scale, Value zp) {
  auto bs = op->getAttrOfType<mlir::IntegerAttr>("block_size");
  auto a = op->getAttrOfType<mlir::IntegerAttr>("axis");
  int64_t rank = x.getRank(), axis = a ? a.getInt() : 1, b = bs.getInt();
  axis = axis < 0 ? axis + rank : axis;
  if (axis < 0 || axis >= rank || b <= 0 || x.getDimSize(axis) % b != 0)
    return std::nullopt;
  llvm::SmallVector<int64_t> want(x.getShape());
  want[size_t(axis)] /= b;
  for (Value p : {scale, zp}) {
    auto t = absent(p) ? mlir::RankedTensorType() : staticTensorType(p);
    if (!absent(p) && (!t || llvm::ArrayRef<int64_t>(want) != t.getShape()))
      return std::nullopt;
  }
  Blocks blocks;
  for (int64_t d = 0; d < rank; ++d) {
    blocks.x.push_back(d == axis ? want[size_t(d)] : x.getDimSize(d));
    blocks.param.push_back(blocks.x.back());
    if (d == axis) {
      blocks.x.push_back(b);
      blocks.param.push_back(1);
    }
  }
  return blocks;
}

struct Builder {
  mlir::OpBuilder b;
  mlir::Operation *op;
  std::string name;
  mlir::RankedTensorType x;
  int64_t axis = 1;
  std::optional<Blocks> blocks; // view() with block_size

  Builder(mlir::Operation *o, mlir::RankedTensorType x)
      : b(o), op(o), name(tensorNameOf(o, 0)), x(x) {
    auto a = o->getAttrOfType<mlir::IntegerAttr>("axis");
    axis = a ? a.getInt() : 1;
  }

  mlir::Location loc(const std::string &suffix) {
    return fuseNodeLocs({op->getLoc()}, {name + "/" + suffix});
  }
  mlir::RankedTensorType like(mlir::RankedTensorType t, DType dt) {
    return mlir::RankedTensorType::get(t.getShape(), elementTypeOf(b.getContext(), dt));
  }
  // A scale or zero point that broadcasts against x: a scalar or one value as it is, a
  // per-axis [C] reshaped to [C, 1, ..., 1]; null when it is neither.
  Value broadcast(Value p, const std::string &what) {
    auto t = staticTensorType(p);
    if (!t)
      return nullptr;
    if (t.getNumElements() == 1 && t.getRank() <= 1)
      return p;
    int64_t rank = x.getRank(), a = axis < 0 ? axis + rank : axis;
    if (t.getRank() != 1 || a < 0 || a >= rank || t.getDimSize(0) != x.getDimSize(a))
      return nullptr;
    std::vector<int64_t> shape(size_t(rank - a), 1);
    shape[0] = t.getDimSize(0);
    if (auto c = p.getDefiningOp<ConstantOp>(); c && c.getValueAttr()) // reshaped here
      try {
        return constantOf(b, loc(what), tensorFromAttr(c.getValueAttr()).reshaped(Shape(shape.begin(), shape.end())));
      } catch (const plumb::Error &) {
        // data not loaded: a Reshape op below
      }
    return ReshapeOp::create(b, loc(what), mlir::RankedTensorType::get(shape, t.getElementType()), p,
                             intsConstantOf(b, loc(what + ".shape"), shape), nullptr);
  }
  // The scale and zero point broadcast against x (`z` null when there is none); false when
  // either does not broadcast.
  bool operands(Value scale, Value zp, Value &s, Value &z) {
    s = broadcast(scale, "scale");
    z = absent(zp) ? Value() : broadcast(zp, "zero_point");
    return s && (absent(zp) || z);
  }
  Value reshape(Value v, llvm::ArrayRef<int64_t> shape, const std::string &what) {
    auto t = llvm::cast<mlir::RankedTensorType>(v.getType());
    return ReshapeOp::create(b, loc(what), mlir::RankedTensorType::get(shape, t.getElementType()), v,
                             intsConstantOf(b, loc(what + ".shape"), std::vector<int64_t>(shape)),
                             nullptr);
  }
  // `v` (x) and the scale and zero point as the arithmetic reads them: with block_size, x as
  // blocks and the parameters one per block (blocksOf); else operands(). False when they do
  // not fit x.
  bool view(Value &v, Value scale, Value zp, Value &s, Value &z) {
    if (!blocked(op))
      return operands(scale, zp, s, z);
    blocks = blocksOf(op, x, scale, zp);
    if (!blocks)
      return false;
    v = reshape(v, blocks->x, "blocks");
    s = reshape(scale, blocks->param, "scale_blocks");
    z = absent(zp) ? Value() : reshape(zp, blocks->param, "zero_point_blocks");
    return true;
  }
  // The type of x's view (view()) with element type `dt`.
  mlir::RankedTensorType viewed(DType dt) {
    return like(blocks ? mlir::RankedTensorType::get(blocks->x, x.getElementType()) : x, dt);
  }
  // Where the op computing the result goes: the node's location, or a step before the
  // Reshape back from blocks (finish) that takes it.
  mlir::Location last(const std::string &suffix) { return blocks ? loc(suffix) : op->getLoc(); }
  // The node's result `y` (in the view's shape) replacing its output, and the node erased.
  void finish(Value y) {
    mlir::Value out = op->getResult(0);
    if (blocks)
      y = ReshapeOp::create(b, op->getLoc(), out.getType(), y,
                            intsConstantOf(b, loc("shape"), std::vector<int64_t>(x.getShape())), nullptr);
    out.replaceAllUsesWith(y);
    op->erase();
  }
  Value cast(Value v, DType to, mlir::Location l) {
    auto t = llvm::cast<mlir::RankedTensorType>(v.getType());
    return CastOp::create(b, l, like(t, to), v, b.getI64IntegerAttr(dtypeToOnnx(to)), nullptr, nullptr);
  }
  Value scalar(double v, DType dt, const std::string &what) {
    return scalarConstantOf(b, loc(what), v, dt);
  }
};

void dequantize(DequantizeLinearOp op) {
  auto xt = staticTensorType(op.getX());
  std::optional<DType> xd = elementDType(op.getX()), sd = elementDType(op.getXScale()),
                       yd = elementDType(op.getY());
  if (!xt || !xd || !(quantRange(*xd) || float8(*xd)) || !sd || !computeType(*sd) || yd != sd ||
      !staticTensorType(op.getY()))
    return;
  Value zp = op.getXZeroPoint();
  if (!absent(zp) && elementDType(zp) != xd)
    return;
  Builder q(op, xt);
  Value x = op.getX(), scale, zero;
  if (!q.view(x, op.getXScale(), zp, scale, zero))
    return;
  Value v = q.cast(x, *sd, q.loc("float"));
  if (zero)
    v = SubOp::create(q.b, q.loc("centred"), v.getType(), v, q.cast(zero, *sd, q.loc("zero_point_float")));
  q.finish(MulOp::create(q.b, q.last("scaled_blocks"), q.viewed(*sd), v, scale));
}

// Whether `v` is a constant of zeros.
bool zeros(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  try {
    return c && c.getValueAttr() &&
           llvm::all_of(tensorFromAttr(c.getValueAttr()).toDoubles(), [](double z) { return z == 0; });
  } catch (const plumb::Error &) {
    return false; // data not loaded
  }
}

void quantize(QuantizeLinearOp op) {
  auto xt = staticTensorType(op.getX());
  std::optional<DType> xd = elementDType(op.getX()), sd = elementDType(op.getYScale()),
                       yd = elementDType(op.getY());
  if (!xt || !xd || !computeType(*xd) || sd != xd || !yd || !(quantRange(*yd) || float8(*yd)) ||
      !staticTensorType(op.getY()))
    return;
  // 16-bit ranges are exact only in f32 arithmetic.
  if ((*yd == DType::I16 || *yd == DType::U16) && *xd != DType::F32)
    return;
  Value zp = op.getYZeroPoint();
  if (!absent(zp) && elementDType(zp) != yd)
    return;
  Builder q(op, xt);
  Value x = op.getX(), scale, zero;
  if (!q.view(x, op.getYScale(), absent(zp) || zeros(zp) ? Value() : zp, scale, zero))
    return;
  mlir::Type ft = q.viewed(*xd);
  Value v = DivOp::create(q.b, q.loc("scaled"), ft, x, scale);
  if (!float8(*yd))
    v = RoundOp::create(q.b, q.loc("rounded"), ft, v);
  if (zero)
    v = AddOp::create(q.b, q.loc("shifted"), ft, v, q.cast(zero, *xd, q.loc("zero_point_float")));
  if (float8(*yd)) { // no rounding to integers: the Cast rounds, saturating as the node says
    auto sat = op->getAttrOfType<mlir::IntegerAttr>("saturate");
    q.finish(CastOp::create(q.b, q.last("cast_blocks"), q.viewed(*yd), v,
                            q.b.getI64IntegerAttr(dtypeToOnnx(*yd)),
                            sat ? sat : q.b.getI64IntegerAttr(1), nullptr));
    return;
  }
  auto [lo, hi] = *quantRange(*yd);
  v = ClipOp::create(q.b, q.loc("saturated"), ft, v, q.scalar(lo, *xd, "low"), q.scalar(hi, *xd, "high"),
                     nullptr, nullptr);
  q.finish(q.cast(v, *yd, q.last("cast_blocks")));
}

// DynamicQuantizeLinear (f32 x) as the reference computes it: lo = min(0, min x), hi =
// max(0, max x) (NaN passed over), scale = (hi - lo) / 255, zero point = Clip(Round(0 - lo / scale), 0, 255)
// and y = Clip(Round(x / scale) + zero point, 0, 255), both as uint8. The two whole-tensor
// reductions keep their dims ([1, ..., 1], broadcast against x); a zero scale (x all zeros)
// divides by 1 instead, so y and the zero point are 0 as in the reference. The results
// carry the node's name and its outputs'.
void dynamicQuantize(DynamicQuantizeLinearOp op) {
  auto xt = staticTensorType(op.getX());
  if (!xt || xt.getRank() == 0 || !xt.getElementType().isF32())
    return;
  Builder q(op, xt);
  auto ones = q.like(mlir::RankedTensorType::get(std::vector<int64_t>(size_t(xt.getRank()), 1),
                                                 xt.getElementType()),
                     DType::F32);
  Value none = NoneOp::create(q.b, q.loc("axes"), q.b.getNoneType());
  Value zero = q.scalar(0, DType::F32, "zero");
  // The reference's min and max pass over NaN; as the range takes in 0 anyway, NaN read as 0
  // gives the same bounds (a device ReduceMin/ReduceMax would propagate it).
  auto nan = IsNaNOp::create(q.b, q.loc("nan"),
                             mlir::RankedTensorType::get(xt.getShape(), q.b.getI1Type()),
                             op.getX());
  Value ranged = WhereOp::create(q.b, q.loc("nan_as_zero"), xt, nan, zero, op.getX());
  auto reduce = [&](auto tag, const std::string &what) -> Value {
    using R = decltype(tag);
    return R::create(q.b, q.loc(what), ones, ranged, none, mlir::ArrayAttr(),
                     q.b.getI64IntegerAttr(1), nullptr);
  };
  Value lo = MinOp::create(q.b, q.loc("low"), ones,
                           mlir::ValueRange{reduce(ReduceMinOp(), "min"), zero});
  Value hi = MaxOp::create(q.b, q.loc("high"), ones,
                           mlir::ValueRange{reduce(ReduceMaxOp(), "max"), zero});
  Value scale = DivOp::create(q.b, q.loc("scale_of_range"), ones,
                              SubOp::create(q.b, q.loc("range"), ones, hi, lo),
                              q.scalar(255, DType::F32, "levels"));
  auto boolOnes = mlir::RankedTensorType::get(ones.getShape(), q.b.getI1Type());
  Value divisor = WhereOp::create(q.b, q.loc("divisor"), ones,
                                  EqualOp::create(q.b, q.loc("zero_scale"), boolOnes, scale, zero),
                                  q.scalar(1, DType::F32, "one"), scale);
  auto clip = [&](Value v, mlir::Type t, const std::string &what) {
    return ClipOp::create(q.b, q.loc(what), t, v, zero, q.scalar(255, DType::F32, what + ".high"),
                          nullptr, nullptr);
  };
  Value zpf = clip(RoundOp::create(q.b, q.loc("zero_point_rounded"), ones,
                                   SubOp::create(q.b, q.loc("zero_point_exact"), ones, zero,
                                                 DivOp::create(q.b, q.loc("low_scaled"), ones, lo,
                                                               divisor))),
                   ones, "zero_point_saturated");
  Value v = RoundOp::create(q.b, q.loc("rounded"), xt,
                            DivOp::create(q.b, q.loc("scaled"), xt, op.getX(), divisor));
  v = clip(AddOp::create(q.b, q.loc("shifted"), xt, v, zpf), xt, "saturated");
  auto scalarOf = [&](Value t, mlir::Type type, mlir::Location l) {
    return ReshapeOp::create(q.b, l, type, t, intsConstantOf(q.b, q.loc("scalar_shape"), {}),
                             nullptr);
  };
  auto output = [&](unsigned i) { return fuseNodeLocs({op->getLoc()}, {tensorNameOf(op, i)}); };
  Value y = q.cast(v, DType::U8, output(0));
  Value yScale = scalarOf(scale, op.getYScale().getType(), output(1));
  Value yZp = q.cast(scalarOf(zpf, mlir::RankedTensorType::get({}, xt.getElementType()),
                              q.loc("zero_point_scalar")),
                     DType::U8, output(2));
  op.getY().replaceAllUsesWith(y);
  op.getYScale().replaceAllUsesWith(yScale);
  op.getYZeroPoint().replaceAllUsesWith(yZp);
  op.erase();
}

struct DecomposeQuantizePass : impl::PlumbDecomposeQuantizeBase<DecomposeQuantizePass> {
  void runOnOperation() override {
    llvm::SmallVector<mlir::Operation *> ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (llvm::isa<QuantizeLinearOp, DequantizeLinearOp, DynamicQuantizeLinearOp>(op))
        ops.push_back(op);
    });
    for (mlir::Operation *op : ops) {
      if (auto d = llvm::dyn_cast<DequantizeLinearOp>(op))
        dequantize(d);
      else if (auto dq = llvm::dyn_cast<DynamicQuantizeLinearOp>(op))
        dynamicQuantize(dq);
      else
        quantize(llvm::cast<QuantizeLinearOp>(op));
    }
  }
};

} // namespace
} // namespace plumb
