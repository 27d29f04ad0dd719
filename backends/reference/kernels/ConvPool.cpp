// Reference kernels for sliding-window ops: Conv, ConvTranspose, MaxPool, AveragePool,
// LpPool, the Global pools and Pad (Resize and Upsample: Resize.cpp).
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace plumb::ref {
namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); }
// Python's a // b (rounds toward -inf), which the ConvTranspose padding rules assume.
int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// ---------------------------------------------------------------------------------------
// Sliding-window geometry. Everything is lifted to 3 spatial dims: a 1-D or 2-D op gets
// leading dims of size 1 (kernel 1, stride 1, no padding), so one set of loops serves all.

constexpr int kMaxSpatial = 3;

struct Window {
  int nd = 0; // the op's real spatial rank
  int64_t in[kMaxSpatial] = {1, 1, 1}, out[kMaxSpatial] = {1, 1, 1};
  int64_t k[kMaxSpatial] = {1, 1, 1}, s[kMaxSpatial] = {1, 1, 1}, d[kMaxSpatial] = {1, 1, 1};
  int64_t pb[kMaxSpatial] = {0, 0, 0}, pe[kMaxSpatial] = {0, 0, 0};
  int64_t inSize() const { return in[0] * in[1] * in[2]; }
  int64_t outSize() const { return out[0] * out[1] * out[2]; }
  int64_t kSize() const { return k[0] * k[1] * k[2]; }
};

// A per-spatial-dim integer attribute (strides, dilations...), `def` when absent.
std::vector<int64_t> spatialAttr(const KernelCall &call, const char *name, size_t n, int64_t def) {
  std::vector<int64_t> v = call.attr().getInts(name);
  if (v.empty())
    v.assign(n, def);
  if (v.size() != n)
    call.fail(std::string(name) + " has " + std::to_string(v.size()) + " entries, expected " +
              std::to_string(n));
  // Bounded so that the window arithmetic below cannot overflow.
  for (int64_t x : v)
    if (x > kAttrLimit || x < -kAttrLimit)
      call.fail(std::string(name) + " value " + std::to_string(x) + " is out of range");
  return v;
}

int spatialRank(const KernelCall &call, const Tensor &x) {
  int64_t nd = x.rank() - 2;
  if (nd < 1 || nd > kMaxSpatial)
    call.fail("expected 1 to 3 spatial dimensions, got input " + x.describe());
  return int(nd);
}

// Strides, dilations and kernel into the window, lifted (see above). Pads are set later.
Window baseWindow(const KernelCall &call, const Tensor &x, const std::vector<int64_t> &kernel) {
  Window w;
  w.nd = spatialRank(call, x);
  size_t nd = size_t(w.nd);
  if (kernel.size() != nd)
    call.fail("kernel has " + std::to_string(kernel.size()) + " dims for " + std::to_string(nd) +
              " spatial dims");
  std::vector<int64_t> strides = spatialAttr(call, "strides", nd, 1);
  std::vector<int64_t> dilations = spatialAttr(call, "dilations", nd, 1);
  for (size_t i = 0; i < nd; ++i) {
    size_t j = kMaxSpatial - nd + i;
    w.in[j] = x.shape()[2 + i];
    w.k[j] = kernel[i];
    w.s[j] = strides[i];
    w.d[j] = dilations[i];
    if (w.k[j] < 1 || w.s[j] < 1 || w.d[j] < 1 || w.k[j] > kAttrLimit)
      call.fail("kernel, strides and dilations must be positive (and not absurdly large)");
  }
  return w;
}

// Pads and output sizes of a forward window (Conv and the pools), ONNX's auto_pad rules.
// In ceil mode a last window that would start inside the end padding is dropped.
void resolvePadding(const KernelCall &call, Window &w, bool ceilMode) {
  size_t nd = size_t(w.nd);
  std::string autoPad = call.attr().getString("auto_pad", "NOTSET");
  std::vector<int64_t> pads = spatialAttr(call, "pads", 2 * nd, 0);
  for (size_t i = 0; i < nd; ++i) {
    size_t j = kMaxSpatial - nd + i;
    int64_t effK = (w.k[j] - 1) * w.d[j] + 1;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      w.out[j] = ceilDiv(w.in[j], w.s[j]);
      int64_t total = std::max<int64_t>(0, (w.out[j] - 1) * w.s[j] + effK - w.in[j]);
      w.pb[j] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pe[j] = total - w.pb[j];
      continue;
    }
    if (autoPad == "NOTSET") {
      w.pb[j] = pads[i], w.pe[j] = pads[nd + i];
    } else if (autoPad != "VALID") {
      call.fail("unknown auto_pad '" + autoPad + "'");
    }
    if (w.pb[j] < 0 || w.pe[j] < 0)
      call.fail("negative pads are not allowed");
    int64_t span = w.in[j] + w.pb[j] + w.pe[j] - effK;
    if (span < 0)
      call.fail("kernel extent " + std::to_string(effK) + " exceeds padded input " +
                std::to_string(w.in[j] + w.pb[j] + w.pe[j]));
    w.out[j] = (ceilMode ? ceilDiv(span, w.s[j]) : span / w.s[j]) + 1;
    if (ceilMode && (w.out[j] - 1) * w.s[j] >= w.in[j] + w.pb[j])
      --w.out[j];
  }
}

Window forwardWindow(const KernelCall &call, const Tensor &x, const std::vector<int64_t> &kernel,
                     bool ceilMode) {
  Window w = baseWindow(call, x, kernel);
  resolvePadding(call, w, ceilMode);
  return w;
}

// Calls f(o, outputOffset) for every output position o of one (n, c) plane.
template <typename F> void forEachOutput(const Window &w, F &&f) {
  int64_t o[kMaxSpatial];
  int64_t off = 0;
  for (o[0] = 0; o[0] < w.out[0]; ++o[0])
    for (o[1] = 0; o[1] < w.out[1]; ++o[1])
      for (o[2] = 0; o[2] < w.out[2]; ++o[2])
        f(static_cast<const int64_t *>(o), off++);
}

// Calls f(inputOffset, kernelOffset, position) for every kernel point of output position o
// that lands inside the input. Returns how many points land inside the padded input (the
// divisor of AveragePool with count_include_pad).
template <typename F> int64_t forEachTap(const Window &w, const int64_t *o, F &&f) {
  int64_t padded = 0;
  int64_t kz[kMaxSpatial], p[kMaxSpatial];
  for (kz[0] = 0; kz[0] < w.k[0]; ++kz[0])
    for (kz[1] = 0; kz[1] < w.k[1]; ++kz[1])
      for (kz[2] = 0; kz[2] < w.k[2]; ++kz[2]) {
        bool inside = true, inPadded = true;
        for (int j = 0; j < kMaxSpatial; ++j) {
          p[j] = o[j] * w.s[j] - w.pb[j] + kz[j] * w.d[j];
          inside = inside && p[j] >= 0 && p[j] < w.in[j];
          inPadded = inPadded && p[j] >= -w.pb[j] && p[j] < w.in[j] + w.pe[j];
        }
        padded += inPadded;
        if (inside)
          f((p[0] * w.in[1] + p[1]) * w.in[2] + p[2], (kz[0] * w.k[1] + kz[1]) * w.k[2] + kz[2],
            static_cast<const int64_t *>(p));
      }
  return padded;
}

// ---------------------------------------------------------------------------------------
// Conv

struct ConvShapes {
  int64_t N, C, M, group, cPerGroup, mPerGroup;
};

ConvShapes convShapes(const KernelCall &call, const Tensor &x, const Tensor &wt, const Tensor *b,
                      bool transposed) {
  ConvShapes s;
  spatialRank(call, x); // before any dim() below
  s.group = call.attr().getInt("group", 1);
  if (wt.rank() != x.rank())
    call.fail("weights " + wt.describe() + " must have the rank of input " + x.describe());
  s.N = x.dim(0);
  s.C = x.dim(1);
  if (s.group < 1 || s.C % s.group != 0)
    call.fail("group " + std::to_string(s.group) + " does not divide channels " +
              std::to_string(s.C));
  s.cPerGroup = s.C / s.group;
  // Conv weights are (M, C/group, k...); ConvTranspose weights are (C, M/group, k...).
  if (transposed) {
    if (wt.dim(0) != s.C)
      call.fail("weights " + wt.describe() + " do not match input channels " + std::to_string(s.C));
    s.mPerGroup = wt.dim(1);
    s.M = s.mPerGroup * s.group;
  } else {
    if (wt.dim(1) != s.cPerGroup || wt.dim(0) % s.group != 0)
      call.fail("weights " + wt.describe() + " do not match " + std::to_string(s.C) +
                " input channels in " + std::to_string(s.group) + " groups");
    s.M = wt.dim(0);
    s.mPerGroup = s.M / s.group;
  }
  if (b && (b->rank() != 1 || b->dim(0) != s.M))
    call.fail("bias " + b->describe() + " must have " + std::to_string(s.M) + " elements");
  if (wt.dtype() != x.dtype() || (b && b->dtype() != x.dtype()))
    call.fail("input, weight and bias types differ");
  return s;
}

std::vector<int64_t> kernelShape(const KernelCall &call, const Tensor &wt) {
  std::vector<int64_t> fromW(wt.shape().begin() + 2, wt.shape().end());
  std::vector<int64_t> k = call.attr().getInts("kernel_shape", fromW);
  if (k != fromW)
    call.fail("kernel_shape " + shapeToString(k) + " does not match weights " + wt.describe());
  return k;
}

// One output plane: x points at the group's first input channel, f at filter m.
template <typename T>
void convPlane(const Window &w, const T *x, const T *f, int64_t cPerGroup, T bias, T *y) {
  int64_t inSize = w.inSize(), kSize = w.kSize();
  forEachOutput(w, [&](const int64_t *o, int64_t oOff) {
    T acc = 0;
    forEachTap(w, o, [&](int64_t iOff, int64_t kOff, const int64_t *) {
      for (int64_t c = 0; c < cPerGroup; ++c)
        acc += x[c * inSize + iOff] * f[c * kSize + kOff];
    });
    y[oOff] = acc + bias;
  });
}

Tensor convKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  const Tensor &wt = call.in(1);
  const Tensor *b = call.input(2);
  ConvShapes s = convShapes(call, x, wt, b, false);
  Window w = forwardWindow(call, x, kernelShape(call, wt), false);
  Shape outShape{s.N, s.M};
  for (int i = kMaxSpatial - w.nd; i < kMaxSpatial; ++i)
    outShape.push_back(w.out[i]);
  Tensor y = Tensor::zeros(x.dtype(), outShape);
  dispatchFloat(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t m = 0; m < s.M; ++m) {
        int64_t g = m / s.mPerGroup;
        const T *xg = x.data<T>() + (n * s.C + g * s.cPerGroup) * w.inSize();
        const T *f = wt.data<T>() + m * s.cPerGroup * w.kSize();
        T bias = b ? b->data<T>()[m] : T(0);
        convPlane(w, xg, f, s.cPerGroup, bias, y.mutableData<T>() + (n * s.M + m) * w.outSize());
      }
  });
  return y;
}

// ---------------------------------------------------------------------------------------
// ConvTranspose

// Output sizes and pads of ConvTranspose. With output_shape (or SAME auto_pad, whose output
// is input * stride) the pads are derived from the total padding as the spec describes;
// otherwise the explicit pads give the output size.
void resolveTransposedPadding(const KernelCall &call, Window &w, const Tensor &x) {
  size_t nd = size_t(w.nd);
  std::string autoPad = call.attr().getString("auto_pad", "NOTSET");
  std::vector<int64_t> outPad = spatialAttr(call, "output_padding", nd, 0);
  std::vector<int64_t> pads = spatialAttr(call, "pads", 2 * nd, 0);
  std::vector<int64_t> outShape = call.attr().getInts("output_shape");
  for (int64_t d : outShape)
    if (d < 0 || d > kAttrLimit)
      call.fail("output_shape value " + std::to_string(d) + " is out of range");
  if (outShape.size() > nd) // some exporters include N and C
    outShape.erase(outShape.begin(), outShape.end() - int64_t(nd));
  if (!outShape.empty() && outShape.size() != nd)
    call.fail("output_shape has " + std::to_string(outShape.size()) + " entries");
  bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  if (!same && autoPad != "NOTSET" && autoPad != "VALID")
    call.fail("unknown auto_pad '" + autoPad + "'");
  for (size_t i = 0; i < nd; ++i) {
    size_t j = kMaxSpatial - nd + i;
    int64_t full = w.s[j] * (w.in[j] - 1) + outPad[i] + (w.k[j] - 1) * w.d[j] + 1;
    if (!outShape.empty() || same) {
      w.out[j] = outShape.empty() ? x.shape()[2 + i] * w.s[j] : outShape[i];
      int64_t total = full - w.out[j];
      w.pb[j] = autoPad == "SAME_UPPER" ? floorDiv(total, 2) : total - floorDiv(total, 2);
      w.pe[j] = total - w.pb[j];
    } else {
      if (autoPad == "NOTSET")
        w.pb[j] = pads[i], w.pe[j] = pads[nd + i];
      w.out[j] = full - w.pb[j] - w.pe[j];
    }
    if (w.out[j] < 0)
      call.fail("negative output size");
  }
}

// One output plane of ConvTranspose, as a gather: output o receives input i through
// kernel point k when o = i * stride - pad + k * dilation.
template <typename T>
void convTransposePlane(const Window &w, const T *x, const T *f, int64_t cPerGroup,
                        int64_t fChannelStride, T bias, T *y) {
  int64_t inSize = w.inSize();
  forEachOutput(w, [&](const int64_t *o, int64_t oOff) {
    T acc = 0;
    int64_t kz[kMaxSpatial], i[kMaxSpatial];
    for (kz[0] = 0; kz[0] < w.k[0]; ++kz[0])
      for (kz[1] = 0; kz[1] < w.k[1]; ++kz[1])
        for (kz[2] = 0; kz[2] < w.k[2]; ++kz[2]) {
          bool hit = true;
          for (int j = 0; j < kMaxSpatial && hit; ++j) {
            int64_t num = o[j] + w.pb[j] - kz[j] * w.d[j];
            i[j] = num / w.s[j];
            hit = num >= 0 && num % w.s[j] == 0 && i[j] < w.in[j];
          }
          if (!hit)
            continue;
          int64_t iOff = (i[0] * w.in[1] + i[1]) * w.in[2] + i[2];
          int64_t kOff = (kz[0] * w.k[1] + kz[1]) * w.k[2] + kz[2];
          for (int64_t c = 0; c < cPerGroup; ++c)
            acc += x[c * inSize + iOff] * f[c * fChannelStride + kOff];
        }
    y[oOff] = acc + bias;
  });
}

Tensor convTransposeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  const Tensor &wt = call.in(1);
  const Tensor *b = call.input(2);
  ConvShapes s = convShapes(call, x, wt, b, true);
  Window w = baseWindow(call, x, kernelShape(call, wt));
  resolveTransposedPadding(call, w, x);
  Shape outShape{s.N, s.M};
  for (int i = kMaxSpatial - w.nd; i < kMaxSpatial; ++i)
    outShape.push_back(w.out[i]);
  Tensor y = Tensor::zeros(x.dtype(), outShape);
  dispatchFloat(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // Weight (c, m, k...): consecutive input channels are mPerGroup filters apart.
    int64_t fChannelStride = s.mPerGroup * w.kSize();
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t m = 0; m < s.M; ++m) {
        int64_t g = m / s.mPerGroup;
        const T *xg = x.data<T>() + (n * s.C + g * s.cPerGroup) * w.inSize();
        const T *f = wt.data<T>() + (g * s.cPerGroup * s.mPerGroup + m % s.mPerGroup) * w.kSize();
        T bias = b ? b->data<T>()[m] : T(0);
        convTransposePlane(w, xg, f, s.cPerGroup, fChannelStride, bias,
                           y.mutableData<T>() + (n * s.M + m) * w.outSize());
      }
  });
  return y;
}

// ---------------------------------------------------------------------------------------
// Pools

Shape pooledShape(const Tensor &x, const Window &w) {
  Shape s{x.dim(0), x.dim(1)};
  for (int i = kMaxSpatial - w.nd; i < kMaxSpatial; ++i)
    s.push_back(w.out[i]);
  return s;
}

Window poolWindow(const KernelCall &call, const Tensor &x) {
  std::vector<int64_t> kernel = call.attr().requireInts("kernel_shape");
  bool ceilMode = call.attr().getInt("ceil_mode", 0) != 0;
  return forwardWindow(call, x, kernel, ceilMode);
}

// MaxPool's Indices value for a spatial position: the flat index into the whole input,
// with the spatial part row-major (storage_order 0) or column-major (1).
int64_t maxPoolIndex(const Window &w, int64_t plane, const int64_t *p, bool columnMajor) {
  int64_t spatial = 0;
  if (columnMajor) {
    int64_t mult = 1;
    for (int j = kMaxSpatial - w.nd; j < kMaxSpatial; ++j)
      spatial += p[j] * mult, mult *= w.in[j];
  } else {
    spatial = (p[0] * w.in[1] + p[1]) * w.in[2] + p[2];
  }
  return plane * w.inSize() + spatial;
}

std::vector<Tensor> maxPoolKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  Window w = poolWindow(call, x);
  bool columnMajor = call.attr().getInt("storage_order", 0) != 0;
  Shape outShape = pooledShape(x, w);
  Tensor y = Tensor::zeros(x.dtype(), outShape);
  Tensor indices = Tensor::zeros(DType::I64, outShape);
  int64_t planes = x.dim(0) * x.dim(1);
  dispatchNumeric(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T *xp = x.data<T>() + plane * w.inSize();
      T *yp = y.mutableData<T>() + plane * w.outSize();
      int64_t *ip = indices.mutableData<int64_t>() + plane * w.outSize();
      forEachOutput(w, [&](const int64_t *o, int64_t oOff) {
        // Padding never wins; NaN inputs are skipped (the first non-NaN maximum is kept).
        T best = std::numeric_limits<T>::lowest();
        int64_t bestIdx = -1;
        forEachTap(w, o, [&](int64_t iOff, int64_t, const int64_t *p) {
          bool isNan = xp[iOff] != xp[iOff];
          if (!isNan && (bestIdx < 0 || xp[iOff] > best)) {
            best = xp[iOff];
            bestIdx = maxPoolIndex(w, plane, p, columnMajor);
          }
        });
        yp[oOff] = best;
        ip[oOff] = bestIdx;
      });
    }
  });
  return {y, indices};
}

// Sum-type pools (average, Lp): `reduce(sum, validCount, paddedCount)` gives the output
// from the accumulated sum of `term(x)` over the window.
template <typename Term, typename Reduce>
Tensor sumPool(const KernelCall &call, const Tensor &x, const Window &w, Term term, Reduce reduce) {
  Tensor y = Tensor::zeros(x.dtype(), pooledShape(x, w));
  int64_t planes = x.dim(0) * x.dim(1);
  dispatchFloat(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T *xp = x.data<T>() + plane * w.inSize();
      T *yp = y.mutableData<T>() + plane * w.outSize();
      forEachOutput(w, [&](const int64_t *o, int64_t oOff) {
        T sum = 0;
        int64_t valid = 0;
        int64_t padded = forEachTap(w, o, [&](int64_t iOff, int64_t, const int64_t *) {
          sum += T(term(xp[iOff]));
          ++valid;
        });
        yp[oOff] = T(reduce(sum, valid, padded));
      });
    }
  });
  return y;
}

Tensor averagePoolKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  Window w = poolWindow(call, x);
  bool includePad = call.attr().getInt("count_include_pad", 0) != 0;
  return sumPool(
      call, x, w, [](auto v) { return v; },
      [includePad](auto sum, int64_t valid, int64_t padded) {
        return sum / decltype(sum)(includePad ? padded : valid);
      });
}

// The p of LpPool/GlobalLpPool: an int attribute since opset 2, a float in opset 1.
double lpNorm(const KernelCall &call) {
  const AttrValue *v = call.attr().find("p");
  double p = !v ? 2.0 : v->kind == AttrValue::Kind::Float ? v->f : double(v->i);
  if (!(p > 0))
    call.fail("p must be positive");
  return p;
}

Tensor lpPoolKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  Window w = poolWindow(call, x);
  double p = lpNorm(call);
  return sumPool(
      call, x, w, [p](auto v) { return std::pow(std::fabs(v), p); },
      [p](auto sum, int64_t, int64_t) { return std::pow(sum, 1.0 / p); });
}

// Global pools reduce each (n, c) plane of any spatial rank to one value.
template <typename F> Tensor globalPool(const KernelCall &call, F reduce) {
  const Tensor &x = call.in(0);
  if (x.rank() < 2)
    call.fail("input must have rank >= 2, got " + x.describe());
  Shape outShape{x.dim(0), x.dim(1)};
  outShape.resize(size_t(x.rank()), 1);
  Tensor y = Tensor::zeros(x.dtype(), outShape);
  int64_t planes = x.dim(0) * x.dim(1);
  int64_t size = planes == 0 ? 0 : x.numel() / planes;
  dispatchNumeric(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t plane = 0; plane < planes; ++plane)
      y.mutableData<T>()[plane] = reduce(x.data<T>() + plane * size, size);
  });
  return y;
}

Tensor globalAveragePoolKernel(const KernelCall &call) {
  if (!isFloat(call.in(0).dtype()))
    call.fail(std::string("unsupported element type ") + dtypeName(call.in(0).dtype()));
  return globalPool(call, [](const auto *v, int64_t n) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(v)>>;
    T sum = 0;
    for (int64_t i = 0; i < n; ++i)
      sum += v[i];
    return T(sum / T(n));
  });
}

// As MaxPool over the whole plane: NaN skipped (a plane of NaN only gives the type's lowest
// value), the first maximum kept. (It started from the plane's first element, so a leading
// NaN stuck where MaxPool, oneDNN's pooling and ONNX Runtime's MaxPool pass it over.)
Tensor globalMaxPoolKernel(const KernelCall &call) {
  return globalPool(call, [](const auto *v, int64_t n) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(v)>>;
    T best = std::numeric_limits<T>::lowest();
    bool found = false;
    for (int64_t i = 0; i < n; ++i)
      if (!(v[i] != v[i]) && (!found || v[i] > best)) {
        best = v[i];
        found = true;
      }
    return n > 0 ? best : T(0);
  });
}

Tensor globalLpPoolKernel(const KernelCall &call) {
  if (!isFloat(call.in(0).dtype()))
    call.fail(std::string("unsupported element type ") + dtypeName(call.in(0).dtype()));
  double p = lpNorm(call);
  return globalPool(call, [p](const auto *v, int64_t n) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(v)>>;
    T sum = 0;
    for (int64_t i = 0; i < n; ++i)
      sum += T(std::pow(std::fabs(double(v[i])), p));
    return T(std::pow(double(sum), 1.0 / p));
  });
}

// ---------------------------------------------------------------------------------------
// Pad

struct PadSpec {
  std::vector<int64_t> pads; // begin for every axis, then end for every axis
  std::string mode;
  Tensor value; // one element of the data's type
};

PadSpec padSpec(const KernelCall &call, const Tensor &x) {
  PadSpec p;
  int64_t r = x.rank();
  p.mode = call.attr().getString("mode", "constant");
  std::vector<int64_t> pads, axes;
  Tensor value = Tensor::zeros(DType::F64, {});
  if (call.opset >= 11) {
    pads = call.in(1).toInts();
    const Tensor *v = call.input(2);
    if (v && v->numel() > 0) {
      if (v->numel() != 1)
        call.fail("constant_value must be a scalar, got " + v->describe());
      value = *v;
    }
    if (const Tensor *a = call.input(3))
      axes = a->toInts();
  } else {
    pads = call.attr().getInts(call.opset >= 2 ? "pads" : "paddings");
    value.mutableData<double>()[0] = call.attr().getFloat("value", 0.0);
  }
  p.value = value.dtype() == x.dtype() ? value : value.cast(x.dtype());
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i)
      axes.push_back(i);
  size_t n = axes.size();
  if (pads.size() != 2 * n)
    call.fail("pads has " + std::to_string(pads.size()) + " entries, expected " +
              std::to_string(2 * n));
  for (int64_t v : pads)
    if (v > kAttrLimit || v < -kAttrLimit)
      call.fail("pad " + std::to_string(v) + " is out of range");
  p.pads.assign(size_t(2 * r), 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t a = normalizeAxis(call, axes[i], r);
    p.pads[size_t(a)] = pads[i];
    p.pads[size_t(r + a)] = pads[n + i];
  }
  return p;
}

// For one axis: the input index feeding each output index, or -1 for the constant. Negative
// pads crop first; the mode then pads the cropped range.
std::vector<int64_t> padAxisMap(const KernelCall &call, const std::string &mode, int64_t len,
                                int64_t before, int64_t after) {
  int64_t cropB = std::max<int64_t>(0, -before), cropE = std::max<int64_t>(0, -after);
  int64_t L = len - cropB - cropE;
  if (L < 0)
    call.fail("negative pads crop more than the axis holds");
  int64_t padB = std::max<int64_t>(0, before), padE = std::max<int64_t>(0, after);
  std::vector<int64_t> map;
  for (int64_t o = 0; o < L + padB + padE; ++o) {
    int64_t j = o - padB;
    if (j >= 0 && j < L) {
      map.push_back(cropB + j);
      continue;
    }
    if (mode == "constant") {
      map.push_back(-1);
      continue;
    }
    if (L == 0)
      call.fail("cannot pad an empty axis in mode '" + mode + "'");
    j = padSourceIndex(mode, j, L);
    if (j < 0)
      call.fail("unknown mode '" + mode + "'");
    map.push_back(cropB + j);
  }
  return map;
}

Tensor padKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  PadSpec p = padSpec(call, x);
  size_t r = size_t(x.rank());
  std::vector<std::vector<int64_t>> maps;
  Shape outShape;
  for (size_t a = 0; a < r; ++a) {
    maps.push_back(padAxisMap(call, p.mode, x.shape()[a], p.pads[a], p.pads[r + a]));
    outShape.push_back(int64_t(maps.back().size()));
  }
  Tensor y = Tensor::zeros(x.dtype(), outShape);
  if (y.numel() == 0)
    return y;
  std::vector<int64_t> strides = stridesOf(x.shape());
  dispatchBytes(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T fill;
    std::memcpy(&fill, p.value.raw(), sizeof(T));
    std::vector<int64_t> idx(r, 0);
    int64_t o = 0;
    do {
      int64_t off = 0;
      bool constant = false;
      for (size_t a = 0; a < r; ++a) {
        int64_t src = maps[a][size_t(idx[a])];
        constant = constant || src < 0;
        off += src * strides[a];
      }
      y.mutableData<T>()[o++] = constant ? fill : x.data<T>()[off];
    } while (nextIndex(idx, outShape));
  });
  return y;
}

} // namespace

int64_t padSourceIndex(const std::string &mode, int64_t j, int64_t len) {
  if (mode == "edge")
    return std::clamp<int64_t>(j, 0, len - 1);
  if (mode == "wrap")
    return ((j % len) + len) % len;
  if (mode != "reflect")
    return -1;
  // Mirror without repeating the edge: period 2(len-1), like numpy.pad.
  int64_t period = 2 * (len - 1);
  j = period == 0 ? 0 : ((j % period) + period) % period;
  return j >= len ? period - j : j;
}

void registerConvPoolKernels(KernelRegistry &r) {
  r.add("Conv", singleOutput(convKernel));
  r.add("ConvTranspose", singleOutput(convTransposeKernel));
  r.add("MaxPool", maxPoolKernel);
  r.add("AveragePool", singleOutput(averagePoolKernel));
  r.add("LpPool", singleOutput(lpPoolKernel));
  r.add("GlobalAveragePool", singleOutput(globalAveragePoolKernel));
  r.add("GlobalMaxPool", singleOutput(globalMaxPoolKernel));
  r.add("GlobalLpPool", singleOutput(globalLpPoolKernel));
  r.add("Pad", singleOutput(padKernel));
}

} // namespace plumb::ref
