// plumb's own shape and type inference (ShapeInferenceOpInterface): result element types
// always, shapes wherever operand shapes, attributes and constant operands determine them.
#include "ir/PlumbDialect.h"
#include "ir/ShapeRules.h"

#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <limits>
#include <utility>

using namespace mlir;

namespace plumb {
namespace {

using namespace shape_rules;

const llvm::StringSet<> &sameShapeOps() {
  static const llvm::StringSet<> s = {
      "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Sin", "Cos", "Tan", "Asin", "Acos",
      "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Tanh", "Erf", "Sigmoid", "Relu",
      "Floor", "Ceil", "Round", "Sign", "Softplus", "Softsign", "Mish", "Identity", "Not",
      "BitwiseNot", "HardSwish", "LeakyRelu", "Elu", "Celu", "Selu", "ThresholdedRelu",
      "HardSigmoid", "Gelu", "Clip", "CumSum", "Softmax", "LogSoftmax", "Hardmax",
      "BatchNormalization", "InstanceNormalization", "GroupNormalization", "RMSNormalization",
      "LpNormalization", "MeanVarianceNormalization", "Trilu", "ScatterND", "ScatterElements",
      "Dropout", "LRN", "Shrink", "ReverseSequence", "Scatter", "RotaryEmbedding",
      "Swish", "TensorScatter"};
  return s;
}

const llvm::StringSet<> &broadcastOps() {
  static const llvm::StringSet<> s = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "And", "Or",
                                      "Xor", "BitShift", "BitwiseAnd", "BitwiseOr",
                                      "BitwiseXor", "PRelu", "Min", "Max", "Sum", "Mean"};
  return s;
}

const llvm::StringSet<> &compareOps() {
  static const llvm::StringSet<> s = {"Equal", "Less", "Greater", "LessOrEqual",
                                      "GreaterOrEqual"};
  return s;
}

// Element-type and shape rules for ops whose result 0 keeps operand 0's element type.
std::optional<Dims> inferShapeDefault(Operation *op, StringRef t) {
  if (sameShapeOps().contains(t))
    return dimsOf(op->getOperand(0));
  if (broadcastOps().contains(t))
    return broadcast(SmallVector<Value>(op->getOperands()));
  if (t.starts_with("Reduce"))
    return inferReduce(op);
  if (t == "MatMul")
    return inferMatMul(op->getOperand(0), op->getOperand(1));
  if (t == "Gemm") {
    auto a = dimsOf(op->getOperand(0)), b = dimsOf(op->getOperand(1));
    if (!a || !b || a->size() != 2 || b->size() != 2)
      return std::nullopt;
    return Dims{(*a)[attrInt(op, "transA", 0) ? 1 : 0], (*b)[attrInt(op, "transB", 0) ? 0 : 1]};
  }
  if (t == "Conv" || t == "DeformConv")
    return inferConv(op);
  if (t == "ConvTranspose")
    return inferConvTranspose(op);
  if (t == "MaxPool" || t == "AveragePool" || t == "LpPool") {
    auto in = dimsOf(op->getOperand(0));
    if (!in || in->size() < 3)
      return std::nullopt;
    return inferWindow(op, attrInts(op, "kernel_shape"), (*in)[1], attrInt(op, "ceil_mode", 0));
  }
  if (t == "GlobalAveragePool" || t == "GlobalMaxPool") {
    auto in = dimsOf(op->getOperand(0));
    if (!in || in->size() < 2)
      return std::nullopt;
    Dims out{(*in)[0], (*in)[1]};
    out.append(in->size() - 2, 1);
    return out;
  }
  if (t == "Reshape")
    return inferReshape(op);
  if (t == "Transpose")
    return inferTranspose(op);
  if (t == "Slice")
    return inferSlice(op);
  if (t == "Squeeze" || t == "Unsqueeze")
    return inferSqueeze(op, t == "Unsqueeze");
  if (t == "Concat")
    return inferConcat(op);
  if (t == "Gather")
    return inferGather(op);
  if (t == "GatherElements")
    return dimsOf(op->getOperand(1));
  if (t == "Expand" || t == "Tile")
    return inferExpandTile(op, t == "Tile");
  if (t == "Pad")
    return inferPad(op);
  if (t == "Resize")
    return inferResize(op);
  if (t == "Flatten") {
    auto in = dimsOf(op->getOperand(0));
    if (!in)
      return std::nullopt;
    int64_t axis = normAxis(attrInt(op, "axis", 1), int64_t(in->size()));
    int64_t a = 1, b = 1;
    for (size_t i = 0; i < in->size(); ++i) {
      int64_t &acc = int64_t(i) < axis ? a : b;
      acc = (acc == kDyn || (*in)[i] == kDyn) ? kDyn : acc * (*in)[i];
    }
    return Dims{a, b};
  }
  if (t == "Where")
    return broadcast(SmallVector<Value>(op->getOperands()));
  if (t == "DepthToSpace" || t == "SpaceToDepth") {
    auto in = dimsOf(op->getOperand(0));
    int64_t bs = attrInt(op, "blocksize", 1);
    if (!in || in->size() != 4 || llvm::is_contained(*in, kDyn))
      return std::nullopt;
    if (t == "DepthToSpace")
      return Dims{(*in)[0], (*in)[1] / (bs * bs), (*in)[2] * bs, (*in)[3] * bs};
    return Dims{(*in)[0], (*in)[1] * bs * bs, (*in)[2] / bs, (*in)[3] / bs};
  }
  return std::nullopt;
}

// Element type of ONNX attribute tensors such as ConstantOfShape's `value`.
Type elementsType(Attribute a) {
  auto e = dyn_cast_or_null<ElementsAttr>(a);
  return e ? e.getShapedType().getElementType() : Type();
}


// Element type named by an `output_datatype` attribute (default float).
Type outputDatatype(Operation *op) {
  return elementTypeFromOnnx(op->getContext(), int32_t(attrInt(op, "output_datatype", 1)));
}

// A size from an attribute or constant, dynamic when it is not a valid extent.
int64_t extentOr(int64_t v) { return v >= 0 ? v : kDyn; }

// Shapes of RNN/GRU/LSTM results: Y, Y_h (and LSTM's Y_c), all of X's element type.
void inferRecurrent(Operation *op) {
  Type e = elemOf(op->getOperand(0));
  auto x = dimsOf(op->getOperand(0));
  auto dir = op->getAttrOfType<StringAttr>("direction");
  int64_t dirs = dir && dir.getValue() == "bidirectional" ? 2 : 1;
  int64_t hidden = extentOr(attrInt(op, "hidden_size", kDyn));
  bool batchFirst = attrInt(op, "layout", 0) != 0;
  std::optional<Dims> y, state;
  if (x && x->size() == 3) {
    int64_t seq = (*x)[batchFirst ? 1 : 0], batch = (*x)[batchFirst ? 0 : 1];
    y = batchFirst ? Dims{batch, seq, dirs, hidden} : Dims{seq, dirs, batch, hidden};
    state = batchFirst ? Dims{batch, dirs, hidden} : Dims{dirs, batch, hidden};
  }
  for (unsigned i = 0; i < op->getNumResults(); ++i)
    setResult(op, i, i == 0 ? y : state, e);
}

// Unique: Y keeps X's type (1-D without axis, X's rank with one unknown dim with it); the
// index outputs are i64, inverse_indices one per input element or slice.
void inferUnique(Operation *op) {
  auto in = dimsOf(op->getOperand(0));
  auto axisAttr = op->getAttrOfType<IntegerAttr>("axis");
  std::optional<Dims> y = Dims{kDyn};
  Dims inverse{kDyn};
  if (axisAttr && in) {
    int64_t a = normAxis(axisAttr.getInt(), int64_t(in->size()));
    y = *in;
    if (a >= 0 && a < int64_t(in->size())) {
      inverse = Dims{(*in)[size_t(a)]};
      (*y)[size_t(a)] = kDyn;
    }
  } else if (axisAttr) {
    y.reset();
  } else if (in && !llvm::is_contained(*in, kDyn)) {
    inverse = Dims{ShapedType::getNumElements(*in)};
  }
  setResult(op, 0, y, elemOf(op->getOperand(0)));
  Type i64 = IntegerType::get(op->getContext(), 64);
  for (unsigned i = 1; i < op->getNumResults(); ++i)
    setResult(op, i, i == 2 ? inverse : Dims{kDyn}, i64);
}

// Quantisation ops: results typed by a zero point, a scale or fixed types.
bool inferQuantize(Operation *op, StringRef t) {
  Builder b(op->getContext());
  Type u8 = b.getIntegerType(8, false);
  auto x = dimsOf(op->getOperand(0));
  if (t == "QuantizeLinear") {
    Type e = isAbsent(op, 2) ? Type(u8) : elemOf(op->getOperand(2));
    if (op->hasAttr("output_dtype"))
      e = elementTypeFromOnnx(op->getContext(), int32_t(attrInt(op, "output_dtype", 2)));
    setResult(op, 0, x, e);
  } else if (t == "DequantizeLinear") {
    Type e = elemOf(op->getOperand(1));
    if (op->hasAttr("output_dtype") && attrInt(op, "output_dtype", 0) != 0)
      e = elementTypeFromOnnx(op->getContext(), int32_t(attrInt(op, "output_dtype", 1)));
    setResult(op, 0, x, e);
  } else if (t == "DynamicQuantizeLinear") {
    setResult(op, 0, x, u8);
    setResult(op, 1, Dims{}, b.getF32Type());
    setResult(op, 2, Dims{}, u8);
  } else if (t == "MatMulInteger") {
    setResult(op, 0, inferMatMul(op->getOperand(0), op->getOperand(1)), b.getI32Type());
  } else if (t == "ConvInteger") {
    setResult(op, 0, inferConv(op), b.getI32Type());
  } else if (t == "QLinearMatMul") {
    setResult(op, 0, inferMatMul(op->getOperand(0), op->getOperand(3)), elemOf(op->getOperand(7)));
  } else if (t == "QLinearConv") {
    setResult(op, 0, inferConv(op, 3), elemOf(op->getOperand(7)));
  } else {
    return false;
  }
  return true;
}

// Result types of the ops of PlumbOpsExtra.td whose results are not all "operand 0's element
// type, shape from inferShapeDefault". Returns false for other ops.
bool inferExtraOps(Operation *op, StringRef t) {
  Builder b(op->getContext());
  Type e0 = elemOf(op->getOperand(0));
  if (t == "NegativeLogLikelihoodLoss" || t == "SoftmaxCrossEntropyLoss") {
    auto r = op->getAttrOfType<StringAttr>("reduction");
    bool none = r && r.getValue() == "none";
    setResult(op, 0, none ? dimsOf(op->getOperand(1)) : Dims{}, e0);
    setResult(op, 1, dimsOf(op->getOperand(0)), e0); // SoftmaxCrossEntropyLoss's log_prob
  } else if (t == "RNN" || t == "GRU" || t == "LSTM") {
    inferRecurrent(op);
  } else if (t == "Unique") {
    inferUnique(op);
  } else if (t == "Attention") {
    // Y, present_key, present_value, qk_matmul_output: all Q's element type. 4-D heads:
    // Y [B, Hq, S, Dv], present [B, Hkv, past + T, D|Dv], qk [B, Hq, S, past + T]; 3-D
    // [B, S, hidden]: Y [B, S, Hq * Dv] with the heads from q_num_heads/kv_num_heads.
    std::optional<Dims> q = dimsOf(op->getOperand(0)), k = dimsOf(op->getOperand(1)),
                        v = dimsOf(op->getOperand(2)), past = dimsOf(op->getOperand(4));
    std::optional<Dims> shapes[4];
    auto plus = [](int64_t a, int64_t b) { return a == kDyn || b == kDyn ? kDyn : a + b; };
    if (q && k && v && q->size() == 4 && k->size() == 4 && v->size() == 4) {
      int64_t total = past && past->size() == 4 ? plus((*past)[2], (*k)[2])
                      : llvm::isa<mlir::NoneType>(op->getOperand(4).getType()) ? (*k)[2] : kDyn;
      shapes[0] = Dims{(*q)[0], (*q)[1], (*q)[2], (*v)[3]};
      shapes[1] = Dims{(*k)[0], (*k)[1], total, (*k)[3]};
      shapes[2] = Dims{(*v)[0], (*v)[1], total, (*v)[3]};
      shapes[3] = Dims{(*q)[0], (*q)[1], (*q)[2], total};
    } else if (q && v && q->size() == 3 && v->size() == 3) {
      int64_t hq = attrInt(op, "q_num_heads", 0), hkv = attrInt(op, "kv_num_heads", 0);
      if (hq > 0 && hkv > 0 && (*v)[2] != kDyn)
        shapes[0] = Dims{(*q)[0], (*q)[1], hq * ((*v)[2] / hkv)};
    }
    for (unsigned i = 0; i < op->getNumResults(); ++i)
      setResult(op, i, i < 4 ? shapes[i] : std::nullopt, e0);
  } else if (inferQuantize(op, t)) {
    return true;
  } else if (t == "CenterCropPad") {
    // The input's dims with the target sizes (a constant) on the axes (all when absent).
    std::optional<Dims> d = dimsOf(op->getOperand(0));
    auto target = constInts(op->getOperand(1));
    if (d) {
      int64_t r = int64_t(d->size());
      SmallVector<int64_t> axes = attrInts(op, "axes");
      if (axes.empty())
        for (int64_t a = 0; a < r; ++a)
          axes.push_back(a);
      for (size_t i = 0; i < axes.size(); ++i) {
        int64_t a = normAxis(axes[i], r);
        if (a >= 0 && a < r)
          (*d)[size_t(a)] = target && target->size() == axes.size() ? extentOr((*target)[i]) : kDyn;
      }
    }
    setResult(op, 0, d, e0);
  } else if (t == "MaxUnpool") {
    // output_shape when constant, else (in - 1) * stride + kernel - pads per spatial dim.
    std::optional<Dims> d = dimsOf(op->getOperand(0));
    bool shapeGiven = op->getNumOperands() > 2 && !llvm::isa<mlir::NoneType>(op->getOperand(2).getType());
    auto given = shapeGiven ? constInts(op->getOperand(2)) : std::nullopt;
    if (given) {
      d = Dims(given->begin(), given->end());
    } else if (shapeGiven) {
      d.reset(); // a run-time output_shape
    } else if (d && d->size() >= 3) {
      size_t nd = d->size() - 2;
      SmallVector<int64_t> k = attrInts(op, "kernel_shape"), st = attrInts(op, "strides"),
                           pads = attrInts(op, "pads");
      for (size_t i = 0; i < nd; ++i) {
        int64_t in = (*d)[i + 2], s = i < st.size() ? st[i] : 1;
        int64_t p = pads.size() == 2 * nd ? pads[i] + pads[i + nd] : 0;
        (*d)[i + 2] = in == kDyn || i >= k.size() ? kDyn : (in - 1) * s + k[i] - p;
      }
    }
    setResult(op, 0, d, e0);
  } else if (t == "Col2Im") {
    // [N, C * prod(block), L] -> [N, C, image...] (constant image_shape and block_shape).
    auto in = dimsOf(op->getOperand(0));
    auto image = constInts(op->getOperand(1)), block = constInts(op->getOperand(2));
    std::optional<Dims> d;
    if (in && in->size() == 3 && image && block && block->size() == image->size()) {
      int64_t k = 1;
      for (int64_t v : *block)
        k *= v;
      d = Dims{(*in)[0], (*in)[1] == kDyn || k < 1 ? kDyn : (*in)[1] / k};
      for (int64_t v : *image)
        d->push_back(extentOr(v));
    }
    setResult(op, 0, d, e0);
  } else if (t == "AffineGrid") {
    // size [N, C, H, W] -> [N, H, W, 2]; [N, C, D, H, W] -> [N, D, H, W, 3] (a constant size).
    auto size = constInts(op->getOperand(1));
    std::optional<Dims> d;
    if (size && (size->size() == 4 || size->size() == 5)) {
      d = Dims{extentOr((*size)[0])};
      for (size_t i = 2; i < size->size(); ++i)
        d->push_back(extentOr((*size)[i]));
      d->push_back(int64_t(size->size()) - 2);
    }
    setResult(op, 0, d, e0);
  } else if (t == "NonMaxSuppression") {
    setResult(op, 0, Dims{kDyn, 3}, b.getI64Type());
  } else if (t == "Det") {
    std::optional<Dims> d = dimsOf(op->getOperand(0));
    if (d && d->size() >= 2)
      d->resize(d->size() - 2);
    else
      d.reset();
    setResult(op, 0, d, e0);
  } else if (t == "HannWindow" || t == "HammingWindow" || t == "BlackmanWindow") {
    auto n = constInts(op->getOperand(0));
    setResult(op, 0, Dims{n && n->size() == 1 ? extentOr((*n)[0]) : kDyn}, outputDatatype(op));
  } else if (t == "MelWeightMatrix") {
    setResult(op, 0, Dims{kDyn, kDyn}, outputDatatype(op));
  } else if (t == "TfIdfVectorizer") {
    auto in = dimsOf(op->getOperand(0));
    int64_t width = 0;
    for (int64_t i : attrInts(op, "ngram_indexes"))
      width = std::max(width, i + 1);
    std::optional<Dims> d;
    if (in && (in->size() == 1 || in->size() == 2))
      d = in->size() == 1 ? Dims{width} : Dims{(*in)[0], width};
    setResult(op, 0, d, b.getF32Type());
  } else if (t == "DFT" || t == "STFT") {
    // The rank and the trailing (real, imaginary) dim are certain; the transformed lengths
    // follow from the constant operands (dft_length and axis, whose default is 1 before
    // opset 20 and -2 from it; frame_step and frame_length or the window's length).
    auto in = dimsOf(op->getOperand(0));
    std::optional<Dims> d;
    auto scalarOf = [&](unsigned i) -> std::optional<int64_t> {
      if (op->getNumOperands() <= i || llvm::isa<mlir::NoneType>(op->getOperand(i).getType()))
        return std::nullopt;
      auto v = constInts(op->getOperand(i));
      return v && v->size() == 1 ? std::optional<int64_t>((*v)[0]) : std::nullopt;
    };
    auto given = [&](unsigned i) {
      return op->getNumOperands() > i && !llvm::isa<mlir::NoneType>(op->getOperand(i).getType());
    };
    if (in && !in->empty()) {
      d.emplace(t == "STFT" ? 4 : in->size(), kDyn);
      d->back() = 2;
    }
    bool onesided = attrInt(op, "onesided", t == "STFT" ? 1 : 0) != 0;
    if (d && t == "DFT" && in->size() >= 2) {
      int64_t r = int64_t(in->size());
      std::optional<int64_t> axis = given(2) ? scalarOf(2)
                                    : op->hasAttr("axis") ? std::optional<int64_t>(attrInt(op, "axis", 1))
                                                          : std::optional<int64_t>(moduleOpset(op) >= 20 ? -2 : 1);
      if (axis && normAxis(*axis, r) >= 0 && normAxis(*axis, r) < r - 1) {
        int64_t a = normAxis(*axis, r);
        *d = *in;
        d->back() = 2;
        std::optional<int64_t> len = given(1) ? scalarOf(1) : std::optional<int64_t>((*in)[size_t(a)]);
        (*d)[size_t(a)] = !len || *len == kDyn || *len < 1 ? kDyn : onesided ? *len / 2 + 1 : *len;
      }
    } else if (d && t == "STFT" && in->size() == 3) {
      std::optional<int64_t> step = scalarOf(1), frame = scalarOf(3);
      if (!given(3) && given(2))
        if (auto w = dimsOf(op->getOperand(2)); w && w->size() == 1 && (*w)[0] != kDyn)
          frame = (*w)[0];
      (*d)[0] = (*in)[0];
      if (frame && *frame >= 1) {
        (*d)[2] = onesided ? *frame / 2 + 1 : *frame;
        if (step && *step >= 1 && (*in)[1] != kDyn && (*in)[1] >= *frame)
          (*d)[1] = ((*in)[1] - *frame) / *step + 1;
      }
    }
    setResult(op, 0, d, e0);
  } else if (t == "GridSample" || t == "RoiAlign") {
    auto x = dimsOf(op->getOperand(0)), g = dimsOf(op->getOperand(1));
    std::optional<Dims> d;
    if (t == "GridSample" && x && g && x->size() >= 3 && g->size() == x->size()) {
      d = Dims{(*g)[0], (*x)[1]};
      d->append(g->begin() + 1, g->end() - 1);
    } else if (t == "RoiAlign" && x && g && x->size() == 4 && g->size() == 2) {
      d = Dims{(*g)[0], (*x)[1], extentOr(attrInt(op, "output_height", 1)),
               extentOr(attrInt(op, "output_width", 1))};
    }
    setResult(op, 0, d, e0);
  } else {
    return false;
  }
  return true;
}

// The fewest operands the op's definition allows (its ODS operand-count traits): a node with
// fewer (a fuzzed or hand-broken model) is left to the verifier, which names it in one line;
// inference below reads operands by position and must not run past them.
template <unsigned... N>
unsigned fixedOperands(Operation *op, std::integer_sequence<unsigned, N...>) {
  unsigned n = 0;
  ((n = op->hasTrait<OpTrait::NOperands<N + 2>::template Impl>() ? N + 2 : n), ...);
  ((n = op->hasTrait<OpTrait::AtLeastNOperands<N + 1>::template Impl>() ? std::max(n, N + 1) : n),
   ...);
  return n;
}

unsigned minOperands(Operation *op) {
  if (op->hasTrait<OpTrait::OneOperand>())
    return 1;
  return fixedOperands(op, std::make_integer_sequence<unsigned, 9>{}); // up to 10 operands
}

} // namespace

LogicalResult inferShapesGeneric(Operation *op) {
  MLIRContext *ctx = op->getContext();
  Builder b(ctx);
  if (auto fusion = dyn_cast<FusionOp>(op)) {
    auto yield = cast<YieldOp>(fusion.getBody().front().getTerminator());
    for (auto [r, v] : llvm::zip(fusion.getResults(), yield.getValues()))
      r.setType(v.getType());
    return success();
  }
  StringRef t = onnxOpType(op);
  if (t.empty() || op->getNumResults() == 0)
    return success();
  // Below: every op but Constant, SequenceEmpty and Optional reads operand 0, and most read
  // their fixed operands by position.
  if (op->getNumOperands() < minOperands(op) ||
      (op->getNumOperands() == 0 && t != "Constant" && t != "SequenceEmpty" && t != "Optional"))
    return success();
  if (inferControlFlowOps(op, t))
    return success();
  Type e0 = op->getNumOperands() ? elemOf(op->getOperand(0)) : Type();

  if (t == "Constant") {
    auto c = cast<ConstantOp>(op);
    if (auto v = c.getValueAttr())
      setResult(op, 0, Dims(v.getShapedType().getShape()), v.getShapedType().getElementType());
    else if (c.getValueFloatAttr())
      setResult(op, 0, Dims{}, b.getF32Type());
    else if (auto fs = c.getValueFloatsAttr())
      setResult(op, 0, Dims{int64_t(fs.size())}, b.getF32Type());
    else if (c.getValueIntAttr())
      setResult(op, 0, Dims{}, b.getI64Type());
    else if (auto is = c.getValueIntsAttr())
      setResult(op, 0, Dims{int64_t(is.size())}, b.getI64Type());
    return success();
  }
  if (t == "Cast") {
    setResult(op, 0, dimsOf(op->getOperand(0)),
              elementTypeFromOnnx(ctx, int32_t(attrInt(op, "to", 1))));
    return success();
  }
  if (t == "CastLike") {
    setResult(op, 0, dimsOf(op->getOperand(0)), elemOf(op->getOperand(1)));
    return success();
  }
  if (compareOps().contains(t) || t == "IsNaN" || t == "IsInf") {
    auto d = compareOps().contains(t) ? broadcast(SmallVector<Value>(op->getOperands()))
                                      : dimsOf(op->getOperand(0));
    setResult(op, 0, d, b.getI1Type());
    return success();
  }
  if (t == "Shape" || t == "Size") {
    auto in = dimsOf(op->getOperand(0));
    if (t == "Size") {
      setResult(op, 0, Dims{}, b.getI64Type());
    } else if (in) {
      int64_t r = int64_t(in->size());
      int64_t s = std::clamp(normAxis(attrInt(op, "start", 0), r), int64_t(0), r);
      int64_t e = std::clamp(normAxis(attrInt(op, "end", r), r), int64_t(0), r);
      setResult(op, 0, Dims{std::max<int64_t>(0, e - s)}, b.getI64Type());
    } else {
      setResult(op, 0, Dims{kDyn}, b.getI64Type());
    }
    return success();
  }
  if (t == "ArgMax" || t == "ArgMin") {
    std::optional<Dims> d;
    if (auto in = dimsOf(op->getOperand(0)))
      d = reduceDims(*in, SmallVector<int64_t>{attrInt(op, "axis", 0)},
                     attrInt(op, "keepdims", 1) != 0, false);
    setResult(op, 0, d, b.getI64Type());
    return success();
  }
  if (t == "TopK") {
    std::optional<Dims> d = dimsOf(op->getOperand(0));
    auto k = constInts(op->getOperand(1));
    if (d) {
      int64_t axis = normAxis(attrInt(op, "axis", -1), int64_t(d->size()));
      if (axis >= 0 && axis < int64_t(d->size()))
        (*d)[size_t(axis)] = k && k->size() == 1 ? (*k)[0] : kDyn;
      else
        d.reset();
    }
    setResult(op, 0, d, e0);
    setResult(op, 1, d, b.getI64Type());
    return success();
  }
  if (t == "ConstantOfShape") {
    Type e = elementsType(op->getAttr("value"));
    std::optional<Dims> d;
    if (auto s = constInts(op->getOperand(0)))
      d = Dims(s->begin(), s->end());
    else if (auto sd = dimsOf(op->getOperand(0)); sd && sd->size() == 1 && (*sd)[0] != kDyn)
      d = Dims(size_t((*sd)[0]), kDyn);
    setResult(op, 0, d, e ? e : b.getF32Type());
    return success();
  }
  if (t == "EyeLike") {
    Type e = op->hasAttr("dtype") ? elementTypeFromOnnx(ctx, int32_t(attrInt(op, "dtype", 1))) : e0;
    setResult(op, 0, dimsOf(op->getOperand(0)), e);
    return success();
  }
  if (t == "OneHot") {
    setResult(op, 0, std::nullopt, elemOf(op->getOperand(2)));
    return success();
  }
  if (t == "NonZero") {
    auto in = dimsOf(op->getOperand(0));
    setResult(op, 0, in ? std::optional<Dims>(Dims{int64_t(in->size()), kDyn}) : std::nullopt,
              b.getI64Type());
    return success();
  }
  if (t == "Range") {
    // Integer start/limit/delta known: max(ceil((limit - start) / delta), 0) elements.
    int64_t n = kDyn;
    auto start = constInts(op->getOperand(0)), limit = constInts(op->getOperand(1)),
         delta = constInts(op->getOperand(2));
    if (start && limit && delta && start->size() == 1 && limit->size() == 1 &&
        delta->size() == 1 && (*delta)[0] != 0) {
      int64_t span = (*limit)[0] - (*start)[0], d = (*delta)[0];
      n = std::max<int64_t>(0, span / d + ((span % d != 0 && (span < 0) == (d < 0)) ? 1 : 0));
    }
    // Floating-point ones: ceil((limit - start) / delta) in double, as the reference kernel
    // counts (an expanded window's Range over its size).
    auto fstart = constFloats(op->getOperand(0)), flimit = constFloats(op->getOperand(1)),
         fdelta = constFloats(op->getOperand(2));
    if (fstart && flimit && fdelta && fstart->size() == 1 && flimit->size() == 1 &&
        fdelta->size() == 1 && (*fdelta)[0] != 0) {
      double c = std::ceil(((*flimit)[0] - (*fstart)[0]) / (*fdelta)[0]);
      if (!(c >= 0))
        n = 0;
      else if (c <= double(std::numeric_limits<int32_t>::max()))
        n = int64_t(c);
    }
    setResult(op, 0, Dims{n}, e0);
    return success();
  }
  if (t == "Split") {
    inferSplit(op);
    return success();
  }
  if (t == "Where") {
    setResult(op, 0, inferShapeDefault(op, t), elemOf(op->getOperand(1)));
    return success();
  }
  if (t == "LayerNormalization") {
    auto in = dimsOf(op->getOperand(0));
    setResult(op, 0, in, e0);
    std::optional<Dims> stats;
    if (in) {
      int64_t axis = normAxis(attrInt(op, "axis", -1), int64_t(in->size()));
      stats = *in;
      for (size_t i = size_t(std::max<int64_t>(axis, 0)); i < stats->size(); ++i)
        (*stats)[i] = 1;
    }
    Type statType = attrInt(op, "stash_type", 1) == 1 ? Type(b.getF32Type()) : e0;
    for (unsigned i = 1; i < op->getNumResults(); ++i)
      setResult(op, i, stats, statType);
    return success();
  }
  if (t == "Einsum") {
    SmallVector<std::optional<Dims>> in;
    for (Value v : op->getOperands())
      in.push_back(dimsOf(v));
    auto eq = op->getAttrOfType<StringAttr>("equation");
    setResult(op, 0, eq ? einsumResultDims(eq.getValue(), in) : std::nullopt, e0);
    return success();
  }
  if (inferExtraOps(op, t))
    return success();
  std::optional<Dims> d = inferShapeDefault(op, t);
  setResult(op, 0, d, e0);
  if (t == "Dropout" || t == "MaxPool")
    setResult(op, 1, d, t == "Dropout" ? Type(b.getI1Type()) : Type(b.getI64Type()));
  if (t == "BatchNormalization")
    for (unsigned i = 1; i < op->getNumResults(); ++i)
      setResult(op, i, std::nullopt, e0);
  return success();
}

} // namespace plumb
