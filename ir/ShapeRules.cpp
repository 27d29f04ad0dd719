// Shape rules (ShapeRules.h): helpers, reductions, products, windows and convolutions.
#include "ir/ShapeRules.h"

#include <cmath>

using namespace mlir;

namespace plumb::shape_rules {

namespace {

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

} // namespace

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
std::optional<Dims> inferConv(Operation *op, unsigned wIndex) {
  auto w = dimsOf(op->getOperand(wIndex));
  if (!w || w->size() < 3) // [M, C/group, k...]: the verifier names a wrong rank
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
  if (!in || !w || in->size() < 3 || w->size() != in->size())
    return std::nullopt;
  size_t sp = in->size() - 2;
  int64_t group = attrInt(op, "group", 1);
  Dims out{(*in)[0], (*w)[1] == kDyn ? kDyn : (*w)[1] * group};
  SmallVector<int64_t> outShape = attrInts(op, "output_shape");
  if (!outShape.empty()) {
    if (outShape.size() < sp)
      return std::nullopt;
    out.append(outShape.end() - sp, outShape.end());
    return out;
  }
  SmallVector<int64_t> k = attrInts(op, "kernel_shape");
  if (k.empty())
    k.assign(w->begin() + 2, w->end());
  if (k.size() != sp)
    return std::nullopt;
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

} // namespace plumb::shape_rules
