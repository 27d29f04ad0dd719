// Shape rules (ShapeRules.h): reshapes, slices, splits, squeezes, concatenation, gathers,
// transposes, expand/tile, padding and resizing.
#include "ir/ShapeRules.h"

#include <cmath>

using namespace mlir;

namespace plumb::shape_rules {

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

} // namespace plumb::shape_rules
