// Reference kernels for shape and data-movement ops: Reshape, Transpose, Slice, Concat,
// Split, Squeeze/Unsqueeze, Flatten, Shape, Size, Identity, Expand, Tile, DepthToSpace,
// SpaceToDepth, ConstantOfShape, Constant, EyeLike, OneHot, NonZero, Compress.
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace plumb::ref {
namespace {

// Output element at multi-index i reads input element base + sum(i[d] * strides[d]).
// Transpose, Slice, Expand and the depth/space ops are all this copy with different
// strides; the caller guarantees every such offset lies inside `in`.
Tensor copyStrided(const KernelCall &call, const Tensor &in, const Shape &outShape, int64_t base,
                   const std::vector<int64_t> &strides) {
  Tensor out = Tensor::zeros(in.dtype(), outShape);
  if (out.numel() == 0)
    return out;
  dispatchBytes(call, in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *src = in.data<T>();
    T *dst = out.mutableData<T>();
    std::vector<int64_t> idx(outShape.size(), 0);
    int64_t o = 0;
    do {
      int64_t off = base;
      for (size_t d = 0; d < idx.size(); ++d)
        off += idx[d] * strides[d];
      dst[o++] = src[off];
    } while (nextIndex(idx, outShape));
  });
  return out;
}

// The integer list an op takes as input `inputIdx` from opset `sinceOpset` on, or as
// attribute `attrName` before it; `present` tells whether it was given at all.
std::vector<int64_t> intsFromInputOrAttr(const KernelCall &call, size_t inputIdx,
                                         int64_t sinceOpset, const std::string &attrName,
                                         bool &present) {
  if (call.opset >= sinceOpset) {
    const Tensor *t = call.input(inputIdx);
    present = t != nullptr;
    return t ? t->toInts() : std::vector<int64_t>{};
  }
  present = call.attr().has(attrName);
  return call.attr().getInts(attrName);
}

// ---------------------------------------------------------------------------------------
// Reshape family

Shape reshapeTarget(const KernelCall &call, const Shape &inShape, std::vector<int64_t> spec,
                    bool allowZero) {
  Shape out(spec.size());
  int64_t inferIdx = -1;
  int64_t known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == -1) {
      if (inferIdx >= 0)
        call.fail("shape has more than one -1");
      inferIdx = int64_t(i);
      continue;
    }
    if (d == 0 && !allowZero) {
      if (i >= inShape.size())
        call.fail("shape entry " + std::to_string(i) + " is 0 but the input has rank " +
                  std::to_string(inShape.size()));
      d = inShape[i];
    }
    if (d < 0)
      call.fail("invalid shape entry " + std::to_string(spec[i]));
    if (d > 0 && known > std::numeric_limits<int64_t>::max() / d)
      call.fail("shape " + shapeToString(spec) + " has too many elements");
    out[i] = d;
    known *= d;
  }
  int64_t total = numElements(inShape);
  if (inferIdx >= 0) {
    if (known == 0 || total % known != 0)
      call.fail("cannot infer -1 reshaping " + shapeToString(inShape));
    out[size_t(inferIdx)] = total / known;
  }
  if (numElements(out) != total)
    call.fail("cannot reshape " + shapeToString(inShape) + " to " + shapeToString(out));
  return out;
}

Tensor reshapeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  std::vector<int64_t> spec = call.opset >= 5 ? call.in(1).toInts() : call.attr().getInts("shape");
  bool allowZero = call.attr().getInt("allowzero", 0) != 0;
  if (allowZero && std::count(spec.begin(), spec.end(), 0) &&
      std::count(spec.begin(), spec.end(), -1))
    call.fail("allowzero=1 shape may not contain both 0 and -1");
  return x.reshaped(reshapeTarget(call, x.shape(), spec, allowZero));
}

Tensor flattenKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  int64_t r = x.rank();
  int64_t axis = call.attr().getInt("axis", 1);
  // Flatten accepts axis == rank (everything goes into the outer dimension).
  if (axis < -r || axis > r)
    call.fail("axis " + std::to_string(axis) + " out of [" + std::to_string(-r) + ", " +
              std::to_string(r) + "]");
  if (axis < 0)
    axis += r;
  int64_t outer = product(x.shape(), 0, size_t(axis));
  int64_t inner = product(x.shape(), size_t(axis), size_t(r));
  return x.reshaped({outer, inner});
}

Tensor squeezeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  bool present = false;
  std::vector<int64_t> axes = intsFromInputOrAttr(call, 1, 13, "axes", present);
  std::vector<bool> drop(size_t(x.rank()), false);
  if (axes.empty()) {
    for (int64_t d = 0; d < x.rank(); ++d)
      drop[size_t(d)] = x.dim(d) == 1;
  }
  for (int64_t a : axes) {
    int64_t n = normalizeAxis(call, a, x.rank());
    if (x.dim(n) != 1)
      call.fail("cannot squeeze axis " + std::to_string(a) + " of size " +
                std::to_string(x.dim(n)));
    drop[size_t(n)] = true;
  }
  Shape out;
  for (int64_t d = 0; d < x.rank(); ++d)
    if (!drop[size_t(d)])
      out.push_back(x.dim(d));
  return x.reshaped(out);
}

Tensor unsqueezeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  bool present = false;
  std::vector<int64_t> axes = intsFromInputOrAttr(call, 1, 13, "axes", present);
  if (!present)
    call.fail("axes are required");
  int64_t outRank = x.rank() + int64_t(axes.size());
  std::vector<bool> inserted(size_t(outRank), false);
  for (int64_t a : axes) {
    int64_t n = normalizeAxis(call, a, outRank);
    if (inserted[size_t(n)])
      call.fail("axis " + std::to_string(a) + " repeated");
    inserted[size_t(n)] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t d = 0; d < outRank; ++d)
    out.push_back(inserted[size_t(d)] ? 1 : x.shape()[next++]);
  return x.reshaped(out);
}

// ---------------------------------------------------------------------------------------
// Transpose, Slice, Expand, Tile

Tensor transposeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  size_t r = size_t(x.rank());
  std::vector<int64_t> perm = call.attr().getInts("perm");
  if (!call.attr().has("perm"))
    for (size_t i = 0; i < r; ++i)
      perm.push_back(int64_t(r - 1 - i));
  if (perm.size() != r)
    call.fail("perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
  std::vector<bool> seen(r, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(r) || seen[size_t(p)])
      call.fail("perm is not a permutation of 0.." + std::to_string(int64_t(r) - 1));
    seen[size_t(p)] = true;
  }
  std::vector<int64_t> inStrides = stridesOf(x.shape());
  Shape outShape(r);
  std::vector<int64_t> strides(r);
  for (size_t d = 0; d < r; ++d) {
    outShape[d] = x.shape()[size_t(perm[d])];
    strides[d] = inStrides[size_t(perm[d])];
  }
  return copyStrided(call, x, outShape, 0, strides);
}

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

SliceArgs sliceArgs(const KernelCall &call, int64_t rank) {
  SliceArgs a;
  if (call.opset >= 10) {
    a.starts = call.in(1).toInts();
    a.ends = call.in(2).toInts();
    if (const Tensor *t = call.input(3))
      a.axes = t->toInts();
    if (const Tensor *t = call.input(4))
      a.steps = t->toInts();
  } else {
    a.starts = call.attr().requireInts("starts");
    a.ends = call.attr().requireInts("ends");
    a.axes = call.attr().getInts("axes");
  }
  size_t n = a.starts.size();
  if (a.axes.empty())
    for (size_t i = 0; i < n; ++i)
      a.axes.push_back(int64_t(i));
  if (a.steps.empty())
    a.steps.assign(n, 1);
  if (a.ends.size() != n || a.axes.size() != n || a.steps.size() != n)
    call.fail("starts, ends, axes and steps must have the same length");
  std::vector<bool> seen(size_t(rank), false);
  for (int64_t &axis : a.axes) {
    axis = normalizeAxis(call, axis, rank);
    if (seen[size_t(axis)])
      call.fail("axis " + std::to_string(axis) + " repeated");
    seen[size_t(axis)] = true;
  }
  return a;
}

Tensor sliceKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  SliceArgs a = sliceArgs(call, x.rank());
  Shape outShape = x.shape();
  std::vector<int64_t> strides = stridesOf(x.shape());
  int64_t base = 0;
  for (size_t i = 0; i < a.axes.size(); ++i) {
    size_t ax = size_t(a.axes[i]);
    int64_t start = a.starts[i], step = a.steps[i];
    if (step == 0)
      call.fail("slice step cannot be 0");
    outShape[ax] = sliceAxis(x.shape()[ax], start, a.ends[i], step);
    if (outShape[ax] > 0)
      base += start * strides[ax];
    strides[ax] *= step;
  }
  return copyStrided(call, x, outShape, base, strides);
}

Tensor expandKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  std::vector<int64_t> target = call.in(1).toInts();
  for (int64_t d : target)
    if (d < 0)
      call.fail("negative dimension in shape " + shapeToString(target));
  Shape outShape = broadcastShapes(call, x.shape(), target);
  return copyStrided(call, x, outShape, 0, broadcastStrides(x.shape(), outShape));
}

Tensor tileKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  std::vector<int64_t> repeats = call.in(1).toInts();
  if (int64_t(repeats.size()) != x.rank())
    call.fail("repeats has " + std::to_string(repeats.size()) + " entries for rank " +
              std::to_string(x.rank()));
  Shape outShape = x.shape();
  for (size_t d = 0; d < outShape.size(); ++d) {
    if (repeats[d] < 0)
      call.fail("negative repeat " + std::to_string(repeats[d]));
    if (repeats[d] > 0 && outShape[d] > std::numeric_limits<int64_t>::max() / repeats[d])
      call.fail("repeat " + std::to_string(repeats[d]) + " overflows the output size");
    outShape[d] *= repeats[d];
  }
  Tensor out = Tensor::zeros(x.dtype(), outShape);
  if (out.numel() == 0)
    return out;
  std::vector<int64_t> inStrides = stridesOf(x.shape());
  dispatchBytes(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *src = x.data<T>();
    T *dst = out.mutableData<T>();
    std::vector<int64_t> idx(outShape.size(), 0);
    int64_t o = 0;
    do {
      int64_t off = 0;
      for (size_t d = 0; d < idx.size(); ++d)
        off += (idx[d] % x.shape()[d]) * inStrides[d];
      dst[o++] = src[off];
    } while (nextIndex(idx, outShape));
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Concat, Split, Compress: copies of contiguous blocks along one axis.

Tensor concatKernel(const KernelCall &call) {
  if (call.numInputs() == 0)
    call.fail("needs at least one input");
  const Tensor &first = call.in(0);
  // Concat-1 defaulted the axis to 1; it is required from opset 4 on.
  int64_t axis = call.opset < 4 ? call.attr().getInt("axis", 1) : call.attr().requireInt("axis");
  axis = normalizeAxis(call, axis, first.rank());
  Shape outShape = first.shape();
  outShape[size_t(axis)] = 0;
  for (size_t i = 0; i < call.numInputs(); ++i) {
    const Tensor &t = call.in(i);
    if (t.dtype() != first.dtype() || t.rank() != first.rank())
      call.fail("input " + std::to_string(i) + " " + t.describe() + " does not match " +
                first.describe());
    for (int64_t d = 0; d < t.rank(); ++d)
      if (d != axis && t.dim(d) != first.dim(d))
        call.fail("input " + std::to_string(i) + " " + t.describe() + " does not match " +
                  first.describe() + " off the concat axis");
    outShape[size_t(axis)] += t.dim(axis);
  }
  Tensor out = Tensor::zeros(first.dtype(), outShape);
  size_t es = dtypeSize(first.dtype());
  int64_t outer = product(outShape, 0, size_t(axis));
  int64_t inner = product(outShape, size_t(axis) + 1, outShape.size());
  int64_t outRow = outShape[size_t(axis)] * inner;
  auto *dst = static_cast<char *>(out.mutableRaw());
  int64_t offset = 0;
  for (size_t i = 0; i < call.numInputs(); ++i) {
    const Tensor &t = call.in(i);
    int64_t row = t.dim(axis) * inner;
    const auto *src = static_cast<const char *>(t.raw());
    for (int64_t o = 0; o < outer && row > 0; ++o)
      std::memcpy(dst + size_t(o * outRow + offset) * es, src + size_t(o * row) * es,
                  size_t(row) * es);
    offset += row;
  }
  return out;
}

// Sizes of Split's outputs along the axis.
std::vector<int64_t> splitSizes(const KernelCall &call, int64_t dim) {
  bool present = false;
  std::vector<int64_t> sizes = intsFromInputOrAttr(call, 1, 13, "split", present);
  int64_t n = int64_t(call.numOutputs);
  if (present && !sizes.empty()) {
    if (int64_t(sizes.size()) != n)
      call.fail("split has " + std::to_string(sizes.size()) + " entries for " + std::to_string(n) +
                " outputs");
  } else if (call.attr().has("num_outputs") || call.opset >= 18) {
    // Opset 18: chunks of ceil(dim / n), the last one smaller.
    n = call.attr().getInt("num_outputs", n);
    if (n <= 0 || n != int64_t(call.numOutputs))
      call.fail("num_outputs " + std::to_string(n) + " does not match the node's " +
                std::to_string(call.numOutputs) + " outputs");
    int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  } else {
    if (n <= 0 || dim % n != 0)
      call.fail("cannot split dimension " + std::to_string(dim) + " into " + std::to_string(n) +
                " equal parts");
    sizes.assign(size_t(n), dim / n);
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      call.fail("negative split size " + std::to_string(s));
    total += s;
  }
  if (total != dim)
    call.fail("split sizes sum to " + std::to_string(total) + ", axis has " + std::to_string(dim));
  return sizes;
}

std::vector<Tensor> splitKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  int64_t axis = normalizeAxis(call, call.attr().getInt("axis", 0), x.rank());
  std::vector<int64_t> sizes = splitSizes(call, x.dim(axis));
  size_t es = dtypeSize(x.dtype());
  int64_t outer = product(x.shape(), 0, size_t(axis));
  int64_t inner = product(x.shape(), size_t(axis) + 1, x.shape().size());
  int64_t inRow = x.dim(axis) * inner;
  const auto *src = static_cast<const char *>(x.raw());
  std::vector<Tensor> outs;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    Shape shape = x.shape();
    shape[size_t(axis)] = s;
    Tensor out = Tensor::zeros(x.dtype(), shape);
    auto *dst = static_cast<char *>(out.mutableRaw());
    int64_t row = s * inner;
    for (int64_t o = 0; o < outer && row > 0; ++o)
      std::memcpy(dst + size_t(o * row) * es, src + size_t(o * inRow + offset) * es,
                  size_t(row) * es);
    offset += row;
    outs.push_back(out);
  }
  return outs;
}

Tensor compressKernel(const KernelCall &call) {
  Tensor x = call.in(0);
  std::vector<int64_t> cond = call.in(1).toInts();
  if (call.in(1).rank() != 1)
    call.fail("condition must be 1-D, got " + call.in(1).describe());
  int64_t axis = 0;
  if (call.attr().has("axis"))
    axis = normalizeAxis(call, call.attr().getInt("axis", 0), x.rank());
  else
    x = x.reshaped({x.numel()});
  int64_t dim = x.dim(axis);
  std::vector<int64_t> keep;
  for (size_t i = 0; i < cond.size(); ++i) {
    if (!cond[i])
      continue;
    if (int64_t(i) >= dim)
      call.fail("condition selects index " + std::to_string(i) + " of an axis of size " +
                std::to_string(dim));
    keep.push_back(int64_t(i));
  }
  Shape outShape = x.shape();
  outShape[size_t(axis)] = int64_t(keep.size());
  Tensor out = Tensor::zeros(x.dtype(), outShape);
  size_t es = dtypeSize(x.dtype());
  int64_t outer = product(x.shape(), 0, size_t(axis));
  int64_t inner = product(x.shape(), size_t(axis) + 1, x.shape().size());
  const auto *src = static_cast<const char *>(x.raw());
  auto *dst = static_cast<char *>(out.mutableRaw());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < keep.size(); ++k)
      std::memcpy(dst + size_t((o * int64_t(keep.size()) + int64_t(k)) * inner) * es,
                  src + size_t((o * dim + keep[k]) * inner) * es, size_t(inner) * es);
  return out;
}

// ---------------------------------------------------------------------------------------
// Depth/space rearrangements, expressed as 6-D strided views.

Tensor depthToSpaceKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  if (x.rank() != 4)
    call.fail("input must be 4-D, got " + x.describe());
  int64_t b = call.attr().requireInt("blocksize");
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  if (b <= 0 || C % (b * b) != 0)
    call.fail("channels " + std::to_string(C) + " not divisible by blocksize^2");
  int64_t c2 = C / (b * b);
  std::string mode = call.attr().getString("mode", "DCR");
  // Strides of the input channel split: DCR is (b1, b2, c), CRD is (c, b1, b2).
  int64_t sC, sB1, sB2;
  if (mode == "DCR") {
    sB1 = b * c2 * H * W, sB2 = c2 * H * W, sC = H * W;
  } else if (mode == "CRD") {
    sC = b * b * H * W, sB1 = b * H * W, sB2 = H * W;
  } else {
    call.fail("unknown mode '" + mode + "'");
  }
  // Output viewed as N, c, H, b1, W, b2.
  Tensor out = copyStrided(call, x, {N, c2, H, b, W, b}, 0, {C * H * W, sC, W, sB1, 1, sB2});
  return out.reshaped({N, c2, H * b, W * b});
}

Tensor spaceToDepthKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  if (x.rank() != 4)
    call.fail("input must be 4-D, got " + x.describe());
  int64_t b = call.attr().requireInt("blocksize");
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  if (b <= 0 || H % b != 0 || W % b != 0)
    call.fail("spatial dims " + std::to_string(H) + "x" + std::to_string(W) +
              " not divisible by blocksize " + std::to_string(b));
  // Input viewed as N, C, H/b, b1, W/b, b2; output order N, b1, b2, C, H/b, W/b.
  Tensor out =
      copyStrided(call, x, {N, b, b, C, H / b, W / b}, 0, {C * H * W, W, 1, H * W, b * W, b});
  return out.reshaped({N, C * b * b, H / b, W / b});
}

// ---------------------------------------------------------------------------------------
// Shape queries and constants

Tensor shapeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  int64_t r = x.rank();
  int64_t start = call.attr().getInt("start", 0);
  int64_t end = call.attr().getInt("end", r);
  if (start < 0)
    start += r;
  if (end < 0)
    end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  std::vector<int64_t> dims;
  for (int64_t d = start; d < end; ++d)
    dims.push_back(x.dim(d));
  return Tensor::fromVector(DType::I64, {int64_t(dims.size())}, dims);
}

// A tensor of `shape` with every element equal to the single element of `value`.
Tensor filled(const KernelCall &call, const Tensor &value, const Shape &shape) {
  if (value.numel() != 1)
    call.fail("value must have exactly one element, got " + value.describe());
  Tensor out = Tensor::zeros(value.dtype(), shape);
  size_t es = dtypeSize(value.dtype());
  auto *dst = static_cast<char *>(out.mutableRaw());
  for (int64_t i = 0; i < out.numel(); ++i)
    std::memcpy(dst + size_t(i) * es, value.raw(), es);
  return out;
}

Tensor constantOfShapeKernel(const KernelCall &call) {
  std::vector<int64_t> shape = call.in(0).toInts();
  for (int64_t d : shape)
    if (d < 0)
      call.fail("negative dimension in shape " + shapeToString(shape));
  Tensor value = Tensor::zeros(DType::F32, {1});
  if (const Tensor *v = call.attr().getTensor("value"))
    value = *v;
  DType outType = call.floatOut(value.dtype());
  if (outType != value.dtype())
    value = value.cast(outType);
  return filled(call, value, shape);
}

Tensor constantKernel(const KernelCall &call) {
  const Attrs &a = call.attr();
  Tensor t;
  if (const Tensor *v = a.getTensor("value")) {
    t = *v;
  } else if (a.has("value_float")) {
    t = Tensor::scalarF32(float(a.getFloat("value_float", 0)));
  } else if (a.has("value_floats")) {
    std::vector<float> f;
    for (double d : a.getFloats("value_floats"))
      f.push_back(float(d));
    t = Tensor::fromVector(DType::F32, {int64_t(f.size())}, f);
  } else if (a.has("value_int")) {
    t = Tensor::scalarI64(a.getInt("value_int", 0));
  } else if (a.has("value_ints")) {
    std::vector<int64_t> v = a.getInts("value_ints");
    t = Tensor::fromVector(DType::I64, {int64_t(v.size())}, v);
  } else {
    call.fail("needs one of value, value_float(s), value_int(s) (strings and sparse "
              "tensors are not supported)");
  }
  DType outType = call.floatOut(t.dtype());
  return outType == t.dtype() ? t : t.cast(outType);
}

Tensor eyeLikeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  if (x.rank() != 2)
    call.fail("input must be 2-D, got " + x.describe());
  DType outType = x.dtype();
  if (call.attr().has("dtype")) {
    auto t = dtypeFromOnnx(int32_t(call.attr().getInt("dtype", 0)));
    if (!t)
      call.fail("unsupported dtype " + std::to_string(call.attr().getInt("dtype", 0)));
    outType = call.floatOut(*t);
  }
  int64_t k = call.attr().getInt("k", 0);
  int64_t rows = x.dim(0), cols = x.dim(1);
  // Built in f64 and converted: 0 and 1 are exact in every element type.
  Tensor eye = Tensor::zeros(DType::F64, {rows, cols});
  double *e = eye.mutableData<double>();
  for (int64_t i = 0; i < rows; ++i)
    if (i + k >= 0 && i + k < cols)
      e[i * cols + i + k] = 1.0;
  return eye.cast(outType);
}

Tensor oneHotKernel(const KernelCall &call) {
  const Tensor &indices = call.in(0);
  const Tensor &depthT = call.in(1);
  const Tensor &values = call.in(2);
  if (depthT.numel() != 1)
    call.fail("depth must have one element, got " + depthT.describe());
  if (values.numel() != 2)
    call.fail("values must have two elements (off, on), got " + values.describe());
  int64_t depth = depthT.getAsInt(0);
  if (depth < 0)
    call.fail("negative depth " + std::to_string(depth));
  int64_t outRank = indices.rank() + 1;
  int64_t axis = normalizeAxis(call, call.attr().getInt("axis", -1), outRank);
  Shape outShape = indices.shape();
  outShape.insert(outShape.begin() + axis, depth);
  int64_t outer = product(indices.shape(), 0, size_t(axis));
  int64_t inner = product(indices.shape(), size_t(axis), indices.shape().size());
  Tensor out = filled(call, Tensor::copyOf(values.dtype(), {}, values.raw()), outShape);
  size_t es = dtypeSize(values.dtype());
  auto *dst = static_cast<char *>(out.mutableRaw());
  const auto *on = static_cast<const char *>(values.raw()) + es;
  std::vector<int64_t> idx = indices.toInts();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t v = idx[size_t(o * inner + i)];
      // Out-of-range indices give an all-off row, as the spec says.
      if (v < -depth || v >= depth)
        continue;
      if (v < 0)
        v += depth;
      std::memcpy(dst + size_t((o * depth + v) * inner + i) * es, on, es);
    }
  return out;
}

Tensor nonZeroKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  // A scalar behaves like a 1-element vector (numpy's nonzero does the same).
  Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
  std::vector<std::vector<int64_t>> coords;
  if (x.numel() > 0) {
    std::vector<int64_t> idx(shape.size(), 0);
    int64_t i = 0;
    do {
      if (x.getAsDouble(i++) != 0)
        coords.push_back(idx);
    } while (nextIndex(idx, shape));
  }
  int64_t n = int64_t(coords.size());
  Tensor out = Tensor::zeros(DType::I64, {int64_t(shape.size()), n});
  int64_t *o = out.mutableData<int64_t>();
  for (size_t d = 0; d < shape.size(); ++d)
    for (int64_t j = 0; j < n; ++j)
      o[int64_t(d) * n + j] = coords[size_t(j)][d];
  return out;
}

} // namespace

int64_t sliceAxis(int64_t dim, int64_t &start, int64_t end, int64_t &step) {
  // A step longer than the axis takes at most one element; capping it keeps stride
  // arithmetic from overflowing on INT64_MAX-style sentinels.
  if (step > dim)
    step = std::max<int64_t>(dim, 1);
  if (step < -dim)
    step = -std::max<int64_t>(dim, 1);
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return start < end ? (end - start - 1) / step + 1 : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  return start > end ? (start - end - 1) / -step + 1 : 0;
}

void registerShapeKernels(KernelRegistry &r) {
  r.add("Reshape", singleOutput(reshapeKernel));
  r.add("Flatten", singleOutput(flattenKernel));
  r.add("Squeeze", singleOutput(squeezeKernel));
  r.add("Unsqueeze", singleOutput(unsqueezeKernel));
  r.add("Transpose", singleOutput(transposeKernel));
  r.add("Slice", singleOutput(sliceKernel));
  r.add("Expand", singleOutput(expandKernel));
  r.add("Tile", singleOutput(tileKernel));
  r.add("Concat", singleOutput(concatKernel));
  r.add("Split", splitKernel);
  r.add("Compress", singleOutput(compressKernel));
  r.add("DepthToSpace", singleOutput(depthToSpaceKernel));
  r.add("SpaceToDepth", singleOutput(spaceToDepthKernel));
  r.add("Shape", singleOutput(shapeKernel));
  r.add("Size", [](const KernelCall &call) {
    return std::vector<Tensor>{Tensor::scalarI64(call.in(0).numel())};
  });
  r.add("Identity", [](const KernelCall &call) { return std::vector<Tensor>{call.in(0)}; });
  r.add("ConstantOfShape", singleOutput(constantOfShapeKernel));
  r.add("Constant", singleOutput(constantKernel));
  r.add("EyeLike", singleOutput(eyeLikeKernel));
  r.add("OneHot", singleOutput(oneHotKernel));
  r.add("NonZero", singleOutput(nonZeroKernel));
}

} // namespace plumb::ref
