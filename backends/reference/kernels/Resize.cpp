// Reference kernels for resampling: Resize and Upsample, and the sampling taps they share
// with the CUDA generator (resizeTaps).
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace plumb::ref {
namespace {

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

void registerResizeKernels(KernelRegistry &r) {
  r.add("Resize", singleOutput(resizeKernel));
  r.add("Upsample", singleOutput(resizeKernel));
}

} // namespace plumb::ref
