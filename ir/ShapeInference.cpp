// plumb's own shape and type inference (ShapeInferenceOpInterface): result element types
// always, shapes wherever operand shapes, attributes and constant operands determine them.
#include "ir/PlumbDialect.h"

#include "llvm/ADT/StringSet.h"

#include <utility>

using namespace mlir;

namespace plumb {
namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;
using Dims = SmallVector<int64_t>;

Type elemOf(Value v) {
  auto t = dyn_cast<TensorType>(v.getType());
  return t ? t.getElementType() : Type();
}

std::optional<Dims> dimsOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return std::nullopt;
  return Dims(t.getShape());
}

bool isAbsent(Operation *op, unsigned i) {
  return i >= op->getNumOperands() || isa<NoneType>(op->getOperand(i).getType());
}

// Integer values of a constant operand (small constants are dense attributes).
std::optional<SmallVector<int64_t>> constInts(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  SmallVector<int64_t> out;
  if (auto ints = c.getValueIntsAttr()) {
    for (Attribute a : ints)
      out.push_back(cast<IntegerAttr>(a).getInt());
    return out;
  }
  if (auto i = c.getValueIntAttr())
    return SmallVector<int64_t>{i.getInt()};
  auto dense = dyn_cast_or_null<DenseIntElementsAttr>(c.getValueAttr());
  if (!dense)
    return std::nullopt;
  for (const APInt &x : dense.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

std::optional<SmallVector<double>> constFloats(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  auto dense = dyn_cast_or_null<DenseFPElementsAttr>(c.getValueAttr());
  if (!dense)
    return std::nullopt;
  SmallVector<double> out;
  for (const APFloat &x : dense.getValues<APFloat>())
    out.push_back(x.convertToDouble());
  return out;
}

// Integer list from operand `i` when given, else from attribute `name`.
std::optional<SmallVector<int64_t>> intsFrom(Operation *op, unsigned i, StringRef name) {
  if (!isAbsent(op, i))
    return constInts(op->getOperand(i));
  if (auto a = op->getAttrOfType<ArrayAttr>(name)) {
    SmallVector<int64_t> out;
    for (Attribute x : a)
      out.push_back(cast<IntegerAttr>(x).getInt());
    return out;
  }
  return std::nullopt;
}

int64_t attrInt(Operation *op, StringRef name, int64_t def) {
  auto a = op->getAttrOfType<IntegerAttr>(name);
  return a ? a.getInt() : def;
}

SmallVector<int64_t> attrInts(Operation *op, StringRef name) {
  SmallVector<int64_t> out;
  if (auto a = op->getAttrOfType<ArrayAttr>(name))
    for (Attribute x : a)
      out.push_back(cast<IntegerAttr>(x).getInt());
  return out;
}

void setResult(Operation *op, unsigned i, std::optional<Dims> dims, Type elem) {
  if (i >= op->getNumResults() || !elem)
    return;
  Type t = dims ? Type(RankedTensorType::get(*dims, elem)) : Type(UnrankedTensorType::get(elem));
  op->getResult(i).setType(t);
}

// Multidirectional broadcast; nullopt when any rank is unknown or dims conflict.
std::optional<Dims> broadcast(ArrayRef<Value> vals) {
  Dims out;
  for (Value v : vals) {
    auto d = dimsOf(v);
    if (!d)
      return std::nullopt;
    if (d->size() > out.size())
      out.insert(out.begin(), d->size() - out.size(), 1);
    size_t off = out.size() - d->size();
    for (size_t i = 0; i < d->size(); ++i) {
      int64_t a = out[off + i], b = (*d)[i];
      if (a == 1)
        out[off + i] = b;
      else if (b == 1 || a == b)
        continue;
      else if (a == kDyn || b == kDyn)
        out[off + i] = a == kDyn ? b : a;
      else
        return std::nullopt;
    }
  }
  return out;
}

int64_t normAxis(int64_t a, int64_t rank) { return a < 0 ? a + rank : a; }

std::optional<Dims> reduceDims(const Dims &in, std::optional<SmallVector<int64_t>> axes,
                               bool keep, bool noopEmpty) {
  int64_t r = int64_t(in.size());
  SmallVector<bool> red(size_t(r), false);
  if (!axes)
    return std::nullopt;
  if (axes->empty()) {
    if (noopEmpty)
      return in;
    red.assign(size_t(r), true);
  }
  for (int64_t a : *axes) {
    a = normAxis(a, r);
    if (a < 0 || a >= r)
      return std::nullopt;
    red[size_t(a)] = true;
  }
  Dims out;
  for (int64_t i = 0; i < r; ++i) {
    if (!red[size_t(i)])
      out.push_back(in[size_t(i)]);
    else if (keep)
      out.push_back(1);
  }
  return out;
}

std::optional<Dims> inferReduce(Operation *op) {
  auto in = dimsOf(op->getOperand(0));
  if (!in)
    return std::nullopt;
  bool keep = attrInt(op, "keepdims", 1) != 0;
  bool noop = attrInt(op, "noop_with_empty_axes", 0) != 0;
  std::optional<SmallVector<int64_t>> axes = SmallVector<int64_t>{};
  if (!isAbsent(op, 1))
    axes = constInts(op->getOperand(1));
  else if (op->hasAttr("axes"))
    axes = attrInts(op, "axes");
  return reduceDims(*in, axes, keep, noop);
}

std::optional<Dims> inferMatMul(Value a, Value b) {
  auto da = dimsOf(a), db = dimsOf(b);
  if (!da || !db || da->empty() || db->empty())
    return std::nullopt;
  Dims A = *da, B = *db;
  bool aVec = A.size() == 1, bVec = B.size() == 1;
  if (aVec)
    A.insert(A.begin(), 1);
  if (bVec)
    B.push_back(1);
  Dims batchA(A.begin(), A.end() - 2), batchB(B.begin(), B.end() - 2);
  OpBuilder b0(a.getContext());
  auto ta = RankedTensorType::get(batchA, b0.getF32Type());
  auto tb = RankedTensorType::get(batchB, b0.getF32Type());
  // Reuse the broadcast rule on placeholder values' shapes.
  Dims out;
  size_t r = std::max(batchA.size(), batchB.size());
  for (size_t i = 0; i < r; ++i) {
    int64_t x = i < r - batchA.size() ? 1 : batchA[i - (r - batchA.size())];
    int64_t y = i < r - batchB.size() ? 1 : batchB[i - (r - batchB.size())];
    out.push_back(x == 1 ? y : (y == 1 || x == y) ? x : (x == kDyn ? y : x));
  }
  (void)ta;
  (void)tb;
  if (!aVec)
    out.push_back(A[A.size() - 2]);
  if (!bVec)
    out.push_back(B.back());
  return out;
}

// Output extent of a sliding window.
int64_t windowOut(int64_t in, int64_t k, int64_t s, int64_t d, int64_t padSum, bool ceil) {
  if (in == kDyn)
    return kDyn;
  int64_t eff = (k - 1) * d + 1;
  int64_t num = in + padSum - eff;
  if (num < 0)
    return kDyn;
  int64_t o = (ceil ? (num + s - 1) / s : num / s) + 1;
  // ONNX: with ceil_mode the last window must start inside the input or left padding.
  if (ceil && (o - 1) * s >= in + padSum / 2)
    --o;
  return o;
}

std::optional<Dims> inferWindow(Operation *op, ArrayRef<int64_t> kernel, int64_t outC,
                                bool ceil) {
  auto in = dimsOf(op->getOperand(0));
  if (!in || in->size() < 3)
    return std::nullopt;
  size_t sp = in->size() - 2;
  if (kernel.size() != sp)
    return std::nullopt;
  SmallVector<int64_t> strides = attrInts(op, "strides"), dil = attrInts(op, "dilations"),
                       pads = attrInts(op, "pads");
  strides.resize(sp, 1);
  dil.resize(sp, 1);
  pads.resize(2 * sp, 0);
  StringRef autoPad = "NOTSET";
  if (auto a = op->getAttrOfType<StringAttr>("auto_pad"))
    autoPad = a.getValue();
  Dims out{(*in)[0], outC};
  for (size_t i = 0; i < sp; ++i) {
    int64_t x = (*in)[2 + i];
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER")
      out.push_back(x == kDyn ? kDyn : (x + strides[i] - 1) / strides[i]);
    else if (autoPad == "VALID")
      out.push_back(windowOut(x, kernel[i], strides[i], dil[i], 0, ceil));
    else
      out.push_back(windowOut(x, kernel[i], strides[i], dil[i], pads[i] + pads[i + sp], ceil));
  }
  return out;
}

// `wIndex`: the weights' operand (3 for QLinearConv).
std::optional<Dims> inferConv(Operation *op, unsigned wIndex = 1) {
  auto w = dimsOf(op->getOperand(wIndex));
  if (!w)
    return std::nullopt;
  SmallVector<int64_t> k = attrInts(op, "kernel_shape");
  if (k.empty())
    k.assign(w->begin() + 2, w->end());
  if (llvm::is_contained(k, kDyn))
    return std::nullopt;
  return inferWindow(op, k, (*w)[0], false);
}

std::optional<Dims> inferConvTranspose(Operation *op) {
  auto in = dimsOf(op->getOperand(0));
  auto w = dimsOf(op->getOperand(1));
  if (!in || !w || in->size() < 3)
    return std::nullopt;
  size_t sp = in->size() - 2;
  int64_t group = attrInt(op, "group", 1);
  Dims out{(*in)[0], (*w)[1] == kDyn ? kDyn : (*w)[1] * group};
  SmallVector<int64_t> outShape = attrInts(op, "output_shape");
  if (!outShape.empty()) {
    out.append(outShape.end() - sp, outShape.end());
    return out;
  }
  SmallVector<int64_t> k = attrInts(op, "kernel_shape");
  if (k.empty())
    k.assign(w->begin() + 2, w->end());
  SmallVector<int64_t> s = attrInts(op, "strides"), d = attrInts(op, "dilations"),
                       p = attrInts(op, "pads"), op_ = attrInts(op, "output_padding");
  s.resize(sp, 1);
  d.resize(sp, 1);
  p.resize(2 * sp, 0);
  op_.resize(sp, 0);
  StringRef autoPad = "NOTSET";
  if (auto a = op->getAttrOfType<StringAttr>("auto_pad"))
    autoPad = a.getValue();
  for (size_t i = 0; i < sp; ++i) {
    int64_t x = (*in)[2 + i];
    if (x == kDyn || k[i] == kDyn)
      out.push_back(kDyn);
    else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER")
      out.push_back(x * s[i]);
    else
      out.push_back(s[i] * (x - 1) + op_[i] + ((k[i] - 1) * d[i] + 1) - p[i] - p[i + sp]);
  }
  return out;
}

std::optional<Dims> inferReshape(Operation *op) {
  auto shape = constInts(op->getOperand(1));
  if (!shape)
    return std::nullopt;
  auto in = dimsOf(op->getOperand(0));
  bool allowZero = attrInt(op, "allowzero", 0) != 0;
  Dims out;
  int64_t inferIdx = -1, known = 1;
  for (size_t i = 0; i < shape->size(); ++i) {
    int64_t d = (*shape)[i];
    if (d == 0 && !allowZero)
      d = in && i < in->size() ? (*in)[i] : kDyn;
    if (d == -1) {
      inferIdx = int64_t(i);
      out.push_back(kDyn);
      continue;
    }
    out.push_back(d);
    known = (d == kDyn || known == kDyn) ? kDyn : known * d;
  }
  if (inferIdx >= 0 && in && known != kDyn && known != 0 && !llvm::is_contained(*in, kDyn)) {
    int64_t total = 1;
    for (int64_t d : *in)
      total *= d;
    out[size_t(inferIdx)] = total / known;
  }
  return out;
}

std::optional<Dims> inferSlice(Operation *op) {
  auto in = dimsOf(op->getOperand(0));
  if (!in)
    return std::nullopt;
  auto starts = intsFrom(op, 1, "starts"), ends = intsFrom(op, 2, "ends");
  if (!starts || !ends || starts->size() != ends->size())
    return std::nullopt;
  SmallVector<int64_t> axes, steps(starts->size(), 1);
  if (auto a = intsFrom(op, 3, "axes"))
    axes = *a;
  else if (!isAbsent(op, 3))
    return std::nullopt;
  else
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(int64_t(i));
  if (!isAbsent(op, 4)) {
    auto s = constInts(op->getOperand(4));
    if (!s)
      return std::nullopt;
    steps = *s;
  }
  Dims out = *in;
  int64_t r = int64_t(in->size());
  for (size_t i = 0; i < axes.size() && i < steps.size(); ++i) {
    int64_t a = normAxis(axes[i], r);
    if (a < 0 || a >= r || steps[i] == 0)
      return std::nullopt;
    int64_t dim = (*in)[size_t(a)];
    if (dim == kDyn) {
      out[size_t(a)] = kDyn;
      continue;
    }
    int64_t st = (*starts)[i], en = (*ends)[i], sp = steps[i];
    auto clampIdx = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0)
        v += dim;
      return std::max(lo, std::min(hi, v));
    };
    if (sp > 0) {
      st = clampIdx(st, 0, dim);
      en = clampIdx(en, 0, dim);
      out[size_t(a)] = en > st ? (en - st + sp - 1) / sp : 0;
    } else {
      st = clampIdx(st, 0, dim - 1);
      en = en < -dim ? -1 : clampIdx(en, -1, dim - 1);
      out[size_t(a)] = st > en ? (st - en + (-sp) - 1) / (-sp) : 0;
    }
  }
  return out;
}

void inferSplit(Operation *op) {
  Type elem = elemOf(op->getOperand(0));
  auto in = dimsOf(op->getOperand(0));
  unsigned n = op->getNumResults();
  for (unsigned i = 0; i < n; ++i)
    setResult(op, i, std::nullopt, elem);
  if (!in)
    return;
  int64_t axis = normAxis(attrInt(op, "axis", 0), int64_t(in->size()));
  if (axis < 0 || axis >= int64_t(in->size()))
    return;
  std::optional<SmallVector<int64_t>> sizes = intsFrom(op, 1, "split");
  int64_t dim = (*in)[size_t(axis)];
  bool sizesUnknown = !sizes && !isAbsent(op, 1); // a split input that is not constant
  if (!sizes && !sizesUnknown && dim != kDyn) {
    int64_t chunk = (dim + n - 1) / n; // opset 18: last chunk may be smaller
    sizes = SmallVector<int64_t>();
    for (unsigned i = 0; i < n; ++i)
      sizes->push_back(std::min(chunk, std::max<int64_t>(0, dim - chunk * i)));
  }
  for (unsigned i = 0; i < n; ++i) {
    Dims d = *in;
    d[size_t(axis)] = sizes && i < sizes->size() ? (*sizes)[i] : kDyn;
    setResult(op, i, d, elem);
  }
}

std::optional<Dims> inferSqueeze(Operation *op, bool unsqueeze) {
  auto in = dimsOf(op->getOperand(0));
  auto axes = intsFrom(op, 1, "axes");
  if (!in)
    return std::nullopt;
  int64_t r = int64_t(in->size());
  if (!unsqueeze) {
    if (!axes) {
      if (!isAbsent(op, 1) || llvm::is_contained(*in, kDyn))
        return std::nullopt;
      Dims out;
      for (int64_t d : *in)
        if (d != 1)
          out.push_back(d);
      return out;
    }
    SmallVector<bool> drop(size_t(r), false);
    for (int64_t a : *axes) {
      a = normAxis(a, r);
      if (a < 0 || a >= r)
        return std::nullopt;
      drop[size_t(a)] = true;
    }
    Dims out;
    for (int64_t i = 0; i < r; ++i)
      if (!drop[size_t(i)])
        out.push_back((*in)[size_t(i)]);
    return out;
  }
  if (!axes)
    return std::nullopt;
  int64_t outR = r + int64_t(axes->size());
  SmallVector<bool> ins(size_t(outR), false);
  for (int64_t a : *axes) {
    a = normAxis(a, outR);
    if (a < 0 || a >= outR)
      return std::nullopt;
    ins[size_t(a)] = true;
  }
  Dims out;
  size_t j = 0;
  for (int64_t i = 0; i < outR; ++i)
    out.push_back(ins[size_t(i)] ? 1 : (*in)[j++]);
  return out;
}

std::optional<Dims> inferConcat(Operation *op) {
  std::optional<Dims> out;
  for (Value v : op->getOperands()) {
    auto d = dimsOf(v);
    if (!d)
      return std::nullopt;
    if (!out) {
      out = *d;
      continue;
    }
    if (d->size() != out->size())
      return std::nullopt;
    int64_t axis = normAxis(attrInt(op, "axis", 0), int64_t(d->size()));
    if (axis < 0 || axis >= int64_t(d->size()))
      return std::nullopt;
    for (size_t i = 0; i < d->size(); ++i) {
      int64_t &o = (*out)[i];
      if (int64_t(i) == axis)
        o = (o == kDyn || (*d)[i] == kDyn) ? kDyn : o + (*d)[i];
      else if (o == kDyn)
        o = (*d)[i];
    }
  }
  return out;
}

std::optional<Dims> inferGather(Operation *op) {
  auto data = dimsOf(op->getOperand(0)), idx = dimsOf(op->getOperand(1));
  if (!data || !idx)
    return std::nullopt;
  int64_t r = int64_t(data->size());
  int64_t axis = normAxis(attrInt(op, "axis", 0), r);
  if (axis < 0 || axis >= r)
    return std::nullopt;
  Dims out(data->begin(), data->begin() + axis);
  out.append(idx->begin(), idx->end());
  out.append(data->begin() + axis + 1, data->end());
  return out;
}

std::optional<Dims> inferTranspose(Operation *op) {
  auto in = dimsOf(op->getOperand(0));
  if (!in)
    return std::nullopt;
  SmallVector<int64_t> perm = attrInts(op, "perm");
  if (perm.empty())
    for (int64_t i = int64_t(in->size()) - 1; i >= 0; --i)
      perm.push_back(i);
  if (perm.size() != in->size())
    return std::nullopt;
  Dims out;
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(in->size()))
      return std::nullopt;
    out.push_back((*in)[size_t(p)]);
  }
  return out;
}

std::optional<Dims> inferExpandTile(Operation *op, bool tile) {
  auto in = dimsOf(op->getOperand(0));
  auto v = constInts(op->getOperand(1));
  if (!in || !v)
    return std::nullopt;
  if (tile) {
    if (v->size() != in->size())
      return std::nullopt;
    Dims out;
    for (size_t i = 0; i < in->size(); ++i)
      out.push_back((*in)[i] == kDyn ? kDyn : (*in)[i] * (*v)[i]);
    return out;
  }
  OpBuilder b(op->getContext());
  Dims target(v->begin(), v->end());
  // Expand broadcasts input and target shape both ways.
  size_t r = std::max(in->size(), target.size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t x = i < r - in->size() ? 1 : (*in)[i - (r - in->size())];
    int64_t y = i < r - target.size() ? 1 : target[i - (r - target.size())];
    out[i] = x == 1 ? y : x;
  }
  return out;
}

std::optional<Dims> inferPad(Operation *op) {
  auto in = dimsOf(op->getOperand(0));
  auto pads = intsFrom(op, 1, "pads");
  if (!in || !pads)
    return std::nullopt;
  int64_t r = int64_t(in->size());
  SmallVector<int64_t> axes;
  if (!isAbsent(op, 3)) {
    auto a = constInts(op->getOperand(3));
    if (!a)
      return std::nullopt;
    axes = *a;
  } else {
    for (int64_t i = 0; i < r; ++i)
      axes.push_back(i);
  }
  if (pads->size() != 2 * axes.size())
    return std::nullopt;
  Dims out = *in;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = normAxis(axes[i], r);
    if (a < 0 || a >= r)
      return std::nullopt;
    if (out[size_t(a)] != kDyn)
      out[size_t(a)] += (*pads)[i] + (*pads)[i + axes.size()];
  }
  return out;
}

std::optional<Dims> inferResize(Operation *op) {
  auto in = dimsOf(op->getOperand(0));
  if (!in || op->hasAttr("axes"))
    return std::nullopt;
  if (!isAbsent(op, 3)) {
    auto sizes = constInts(op->getOperand(3));
    if (sizes && sizes->size() == in->size() && !op->hasAttr("keep_aspect_ratio_policy"))
      return Dims(sizes->begin(), sizes->end());
    return std::nullopt;
  }
  if (!isAbsent(op, 2)) {
    auto scales = constFloats(op->getOperand(2));
    if (!scales || scales->size() != in->size())
      return std::nullopt;
    Dims out;
    for (size_t i = 0; i < in->size(); ++i)
      out.push_back((*in)[i] == kDyn ? kDyn : int64_t(std::floor(double((*in)[i]) * (*scales)[i])));
    return out;
  }
  return std::nullopt;
}

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
    // Y, present_key, present_value, qk_matmul_output: all Q's element type.
    for (unsigned i = 0; i < op->getNumResults(); ++i)
      setResult(op, i, std::nullopt, e0);
  } else if (inferQuantize(op, t)) {
    return true;
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
    // Transformed lengths depend on opset-specific axis defaults and on input values; only
    // the rank and the trailing (real, imaginary) dim are certain.
    auto in = dimsOf(op->getOperand(0));
    std::optional<Dims> d;
    if (in && !in->empty()) {
      d.emplace(t == "STFT" ? 4 : in->size(), kDyn);
      d->back() = 2;
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
