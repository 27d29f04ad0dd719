// Reference kernels for sliding-window and resampling ops: Conv, ConvTranspose, MaxPool,
// AveragePool, LpPool, the Global pools, Pad, Resize and Upsample.
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
constexpr int64_t kAttrLimit = int64_t(1) << 31;

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

Tensor globalMaxPoolKernel(const KernelCall &call) {
  return globalPool(call, [](const auto *v, int64_t n) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(v)>>;
    T best = n > 0 ? v[0] : T(0);
    for (int64_t i = 1; i < n; ++i)
      if (v[i] > best)
        best = v[i];
    return best;
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

// ---------------------------------------------------------------------------------------
// Resize and Upsample: separable interpolation. For each axis and output coordinate we
// precompute the contributing input indices and weights ("taps"); an output element is the
// sum over all tap combinations of the product of weights times the input element.

struct ResizeAttrs {
  std::string mode = "nearest";
  std::string coordMode = "half_pixel";
  std::string nearestMode = "round_prefer_floor";
  double cubicA = -0.75;
  double extrapolation = 0.0;
  bool excludeOutside = false;
  bool antialias = false;
};

struct ResizeAxis {
  int64_t in = 1, out = 1;
  double scale = 1.0;
  double roiStart = 0.0, roiEnd = 1.0;
  bool resized = false;
};

using AxisTaps = ResizeTaps::Axis;

ResizeAttrs resizeAttrs(const KernelCall &call) {
  const Attrs &a = call.attr();
  ResizeAttrs r;
  r.mode = a.getString("mode", "nearest");
  if (call.opset >= 11) {
    r.coordMode = a.getString("coordinate_transformation_mode", "half_pixel");
    r.nearestMode = a.getString("nearest_mode", "round_prefer_floor");
  } else {
    // Resize-10 and Upsample sample at x / scale and take the floor.
    r.coordMode = "asymmetric";
    r.nearestMode = "floor";
  }
  if (r.mode == "bilinear" || r.mode == "trilinear") // Upsample-7 spellings
    r.mode = "linear";
  r.cubicA = a.getFloat("cubic_coeff_a", -0.75);
  r.extrapolation = a.getFloat("extrapolation_value", 0.0);
  r.excludeOutside = a.getInt("exclude_outside", 0) != 0;
  r.antialias = a.getInt("antialias", 0) != 0;
  if (r.mode != "nearest" && r.mode != "linear" && r.mode != "cubic")
    call.fail("unknown mode '" + r.mode + "'");
  if (r.antialias && r.mode == "nearest")
    call.fail("antialias is not defined for nearest mode");
  return r;
}

// Output sizes from `sizes`, honouring keep_aspect_ratio_policy (opset 18).
void sizesToAxes(const KernelCall &call, std::vector<ResizeAxis> &ax,
                 const std::vector<int64_t> &axes, const std::vector<int64_t> &sizes) {
  std::string policy = call.attr().getString("keep_aspect_ratio_policy", "stretch");
  for (size_t i = 0; i < axes.size(); ++i)
    if (sizes[i] < 0 || sizes[i] > kAttrLimit || (ax[size_t(axes[i])].in == 0 && sizes[i] != 0))
      call.fail("invalid output size " + std::to_string(sizes[i]));
  if (policy == "stretch") {
    for (size_t i = 0; i < axes.size(); ++i) {
      ResizeAxis &a = ax[size_t(axes[i])];
      a.out = sizes[i];
      a.scale = a.in == 0 ? 1.0 : double(a.out) / double(a.in);
    }
    return;
  }
  if (policy != "not_larger" && policy != "not_smaller")
    call.fail("unknown keep_aspect_ratio_policy '" + policy + "'");
  double scale = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
  for (size_t i = 0; i < axes.size(); ++i) {
    double s = double(sizes[i]) / double(ax[size_t(axes[i])].in);
    scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
  }
  for (int64_t a : axes) {
    ax[size_t(a)].scale = scale;
    ax[size_t(a)].out = int64_t(scale * double(ax[size_t(a)].in) + 0.5); // round half up
  }
}

// Reads roi/scales/sizes (inputs or, for Upsample-7, the scales attribute) per axis.
std::vector<ResizeAxis> resizeAxes(const KernelCall &call, const Shape &x, const ResizeAttrs &r) {
  int64_t rank = int64_t(x.size());
  std::vector<ResizeAxis> ax(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d)
    ax[size_t(d)].in = ax[size_t(d)].out = x[size_t(d)];
  std::vector<int64_t> axes;
  for (int64_t a : call.attr().getInts("axes"))
    axes.push_back(normalizeAxis(call, a, rank));
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  auto nonEmpty = [&](size_t i) {
    const Tensor *t = call.input(i);
    return t && t->numel() > 0 ? t : nullptr;
  };
  bool upsample = call.opType == "Upsample";
  // roi only matters (and is only checked) for tf_crop_and_resize.
  const Tensor *roi = upsample || r.coordMode != "tf_crop_and_resize" ? nullptr : nonEmpty(1);
  const Tensor *scalesT = upsample || call.opset < 11 ? nonEmpty(1) : nonEmpty(2);
  const Tensor *sizesT = upsample || call.opset < 11 ? nullptr : nonEmpty(3);
  std::vector<double> scales = scalesT ? scalesT->toDoubles() : std::vector<double>{};
  if (upsample && call.opset < 9)
    scales = call.attr().getFloats("scales");
  if (scales.empty() == !sizesT)
    call.fail("exactly one of scales and sizes must be given");
  size_t n = axes.size();
  if (roi) {
    std::vector<double> v = roi->toDoubles();
    if (v.size() != 2 * n)
      call.fail("roi has " + std::to_string(v.size()) + " entries, expected " +
                std::to_string(2 * n));
    for (size_t i = 0; i < n; ++i)
      ax[size_t(axes[i])].roiStart = v[i], ax[size_t(axes[i])].roiEnd = v[n + i];
  }
  for (int64_t a : axes)
    ax[size_t(a)].resized = true;
  if (sizesT) {
    std::vector<int64_t> sizes = sizesT->toInts();
    if (sizes.size() != n)
      call.fail("sizes has " + std::to_string(sizes.size()) + " entries, expected " +
                std::to_string(n));
    sizesToAxes(call, ax, axes, sizes);
    return ax;
  }
  if (scales.size() != n)
    call.fail("scales has " + std::to_string(scales.size()) + " entries, expected " +
              std::to_string(n));
  for (size_t i = 0; i < n; ++i) {
    ResizeAxis &a = ax[size_t(axes[i])];
    if (!(scales[i] > 0))
      call.fail("scales must be positive");
    a.scale = scales[i];
    double out = std::floor(double(a.in) * a.scale);
    if (!(out < 4.0e15))
      call.fail("scale " + std::to_string(a.scale) + " gives an absurd output size");
    a.out = int64_t(out);
  }
  return ax;
}

// The input coordinate sampled by output coordinate x. Like ONNX's reference, the resized
// length in align_corners/tf_crop_and_resize is scale * input length (it differs from the
// integer output size only when that product is fractional).
double originalCoord(const KernelCall &call, const ResizeAttrs &r, const ResizeAxis &a, int64_t x,
                     bool &outside) {
  double in = double(a.in), s = a.scale, xr = double(x);
  double outLen = s * in;
  const std::string &m = r.coordMode;
  if (m == "half_pixel")
    return (xr + 0.5) / s - 0.5;
  if (m == "half_pixel_symmetric") {
    double adjustment = double(a.out) / outLen;
    double offset = in / 2 * (1 - adjustment);
    return offset + (xr + 0.5) / s - 0.5;
  }
  if (m == "pytorch_half_pixel")
    return a.out > 1 ? (xr + 0.5) / s - 0.5 : 0.0;
  if (m == "align_corners")
    return outLen == 1 ? 0.0 : xr * (in - 1) / (outLen - 1);
  if (m == "asymmetric")
    return xr / s;
  if (m == "tf_half_pixel_for_nn")
    return (xr + 0.5) / s;
  if (m == "tf_crop_and_resize") {
    double span = (a.roiEnd - a.roiStart) * (in - 1);
    double xo = outLen == 1 ? span / 2 : xr * span / (outLen - 1);
    xo += a.roiStart * (in - 1);
    outside = xo < 0 || xo > in - 1;
    return xo;
  }
  call.fail("unknown coordinate_transformation_mode '" + m + "'");
}

int64_t nearestIndex(const KernelCall &call, const std::string &mode, double xo) {
  double fl = std::floor(xo);
  bool half = xo - fl == 0.5;
  if (mode == "round_prefer_floor")
    return int64_t(half ? fl : std::floor(xo + 0.5));
  if (mode == "round_prefer_ceil")
    return int64_t(half ? fl + 1 : std::floor(xo + 0.5));
  if (mode == "floor")
    return int64_t(fl);
  if (mode == "ceil")
    return int64_t(std::ceil(xo));
  call.fail("unknown nearest_mode '" + mode + "'");
}

// Weights of the taps at offsets (1 - n/2 .. n/2) from the sample's left neighbour, for
// `ratio` in (0, 1] (ONNX's convention: an exact hit has ratio 1 on the left neighbour).
// With antialias the filter is widened by 1/scale when downsampling.
std::vector<double> interpCoeffs(const ResizeAttrs &r, double ratio, double scale) {
  std::vector<double> c;
  if (!r.antialias) {
    if (r.mode == "linear")
      return {1 - ratio, ratio};
    double A = r.cubicA, t = ratio + 1, u = 1 - ratio, v = 2 - ratio;
    return {((A * t - 5 * A) * t + 8 * A) * t - 4 * A,
            ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1, ((A + 2) * u - (A + 3)) * u * u + 1,
            ((A * v - 5 * A) * v + 8 * A) * v - 4 * A};
  }
  double s = std::min(scale, 1.0);
  double support = r.mode == "linear" ? 1.0 : 2.0;
  int64_t start = int64_t(std::floor(-support / s)) + 1;
  int64_t n = 2 - 2 * start;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double xv = std::fabs(s * (double(start + i) - ratio));
    double A = r.cubicA, w;
    if (r.mode == "linear")
      w = std::clamp(1 - xv, 0.0, 1.0);
    else if (xv <= 1)
      w = (A + 2) * xv * xv * xv - (A + 3) * xv * xv + 1;
    else if (xv < 2)
      w = A * xv * xv * xv - 5 * A * xv * xv + 8 * A * xv - 4 * A;
    else
      w = 0;
    c.push_back(w);
    sum += w;
  }
  for (double &w : c)
    w /= sum;
  return c;
}

// Input indices and weights for sampling input coordinate xo along axis a.
void sampleTaps(const KernelCall &call, const ResizeAttrs &r, const ResizeAxis &a, double xo,
                std::vector<int64_t> &idx, std::vector<double> &w) {
  if (r.mode == "nearest") {
    idx.push_back(nearestIndex(call, r.nearestMode, xo));
    w.push_back(1.0);
  } else {
    double left = std::floor(xo), ratio = xo - left;
    if (ratio == 0)
      ratio = 1, left -= 1;
    w = interpCoeffs(r, ratio, a.scale);
    int64_t first = int64_t(left) + 1 - int64_t(w.size()) / 2;
    double sum = 0;
    for (size_t j = 0; j < w.size(); ++j) {
      idx.push_back(first + int64_t(j));
      if (r.excludeOutside && (idx.back() < 0 || idx.back() >= a.in))
        w[j] = 0;
      sum += w[j];
    }
    if (r.excludeOutside && sum != 0)
      for (double &v : w)
        v /= sum;
  }
  // Out-of-range neighbours repeat the edge element.
  for (int64_t &i : idx)
    i = std::clamp<int64_t>(i, 0, a.in - 1);
}

AxisTaps axisTaps(const KernelCall &call, const ResizeAttrs &r, const ResizeAxis &a) {
  AxisTaps t;
  t.resized = a.resized;
  for (int64_t x = 0; x < a.out; ++x) {
    std::vector<int64_t> idx;
    std::vector<double> w;
    bool outside = false;
    if (!a.resized) {
      idx.push_back(x), w.push_back(1.0);
    } else {
      double xo = originalCoord(call, r, a, x, outside);
      if (std::isnan(xo))
        call.fail("sampling coordinate is NaN (check roi and scales)");
      // Keeps the integer conversions defined for absurd coordinates (odd rois); such a
      // sample only reads edge elements anyway.
      xo = std::clamp(xo, -4.0e15, 4.0e15);
      if (!outside)
        sampleTaps(call, r, a, xo, idx, w);
    }
    t.index.push_back(idx), t.weight.push_back(w), t.outside.push_back(outside);
  }
  return t;
}

// Value of one output element: the weighted sum over all tap combinations.
template <typename T>
double resizePoint(const T *x, const std::vector<AxisTaps> &taps, const std::vector<int64_t> &o,
                   const std::vector<int64_t> &strides) {
  size_t r = taps.size();
  Shape counts(r);
  for (size_t d = 0; d < r; ++d)
    counts[d] = int64_t(taps[d].index[size_t(o[d])].size());
  std::vector<int64_t> k(r, 0);
  double sum = 0;
  do {
    double w = 1;
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) {
      w *= taps[d].weight[size_t(o[d])][size_t(k[d])];
      off += taps[d].index[size_t(o[d])][size_t(k[d])] * strides[d];
    }
    sum += w * double(x[off]);
  } while (nextIndex(k, counts));
  return sum;
}

// Store a double into T. Integer types round to nearest rather than truncate: an exact
// interpolated value such as 98 may arrive as 97.99999999999997. They saturate instead of
// overflowing.
template <typename T> T storeAs(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return T(v);
  } else {
    if (std::isnan(v))
      return T(0);
    v = std::round(v);
    if (v <= double(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (v >= double(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return T(v);
  }
}

Tensor resizeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  ResizeTaps plan = resizeTaps(call, x.shape());
  const std::vector<AxisTaps> &taps = plan.axes;
  const Shape &outShape = plan.outShape;
  Tensor y = Tensor::zeros(x.dtype(), outShape);
  if (y.numel() == 0)
    return y;
  std::vector<int64_t> strides = stridesOf(x.shape());
  dispatchNumeric(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<int64_t> o(outShape.size(), 0);
    int64_t n = 0;
    do {
      bool outside = false;
      for (size_t d = 0; d < o.size(); ++d)
        outside = outside || taps[d].outside[size_t(o[d])];
      double v = outside ? plan.extrapolation : resizePoint(x.data<T>(), taps, o, strides);
      y.mutableData<T>()[n++] = storeAs<T>(v);
    } while (nextIndex(o, outShape));
  });
  return y;
}

} // namespace

ResizeTaps resizeTaps(const KernelCall &call, const Shape &in) {
  ResizeAttrs r = resizeAttrs(call);
  ResizeTaps t;
  t.extrapolation = r.extrapolation;
  for (const ResizeAxis &a : resizeAxes(call, in, r)) {
    if (a.in == 0 && a.out > 0)
      call.fail("cannot resize an empty axis");
    t.axes.push_back(axisTaps(call, r, a));
    t.outShape.push_back(a.out);
  }
  return t;
}

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
  r.add("Resize", singleOutput(resizeKernel));
  r.add("Upsample", singleOutput(resizeKernel));
}

} // namespace plumb::ref
