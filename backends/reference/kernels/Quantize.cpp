// Reference kernels for linear quantisation: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear and the integer/quantised MatMul and Conv variants.
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cmath>

namespace plumb::ref {
namespace {

// The value range of a quantised type, for saturation.
std::pair<double, double> quantRange(const KernelCall &call, DType t) {
  bool quantized = t == DType::I4 || t == DType::U4 || t == DType::I8 || t == DType::U8 ||
                   t == DType::I16 || t == DType::U16 || t == DType::I32;
  if (!quantized)
    call.fail(std::string("unsupported quantised type ") + dtypeName(t));
  return *integerRange(t);
}

// Rounds half to even (the default floating-point rounding mode) and saturates to the
// range; NaN becomes 0.
double saturateRound(const std::pair<double, double> &range, double v) {
  return std::isnan(v) ? 0.0 : std::clamp(std::nearbyint(v), range.first, range.second);
}

// A tensor of type `t` from already-integral doubles.
Tensor fromDoubles(DType t, const Shape &shape, const std::vector<double> &v) {
  return Tensor::fromVector(DType::F64, shape, v).cast(t);
}

// A scale or zero point: one value for the whole tensor, one per slice along `axis`, or
// (block_size > 0, opset 21) one per block of `block` consecutive elements along `axis`,
// given as a tensor of x's rank whose `axis` dim is ceil(x.dim(axis) / block).
struct AxisParam {
  std::vector<double> v;
  int64_t inner = 1, dim = 1;
  int64_t block = 0;
  size_t axis = 0;
  std::vector<int64_t> xStrides, pStrides;
  double at(int64_t i) const {
    if (v.size() == 1)
      return v[0];
    if (block == 0)
      return v[size_t(i / inner % dim)];
    int64_t offset = 0;
    for (size_t d = 0; d < xStrides.size(); ++d) {
      int64_t c = i / xStrides[d];
      i %= xStrides[d];
      offset += (d == axis ? c / block : c) * pStrides[d];
    }
    return v[size_t(offset)];
  }
};

AxisParam axisParam(const KernelCall &call, const Tensor *p, const Tensor &x, int64_t axis,
                    double absent, const char *what) {
  AxisParam a;
  if (!p) {
    a.v = {absent};
    return a;
  }
  a.v = p->toDoubles();
  if (p->numel() == 1 && p->rank() <= 1)
    return a;
  int64_t ax = normalizeAxis(call, axis, x.rank());
  int64_t block = call.attr().getInt("block_size", 0);
  if (block < 0)
    call.fail("block_size must not be negative, got " + std::to_string(block));
  if (block > 0) {
    bool ok = p->rank() == x.rank();
    for (int64_t d = 0; ok && d < x.rank(); ++d)
      ok = p->dim(d) == (d == ax ? (x.dim(d) + block - 1) / block : x.dim(d));
    if (!ok)
      call.fail(std::string(what) + " " + p->describe() + " does not match " + x.describe() +
                " in blocks of " + std::to_string(block) + " along axis " + std::to_string(ax));
    a.block = block;
    a.axis = size_t(ax);
    a.xStrides = stridesOf(x.shape());
    a.pStrides = stridesOf(p->shape());
    return a;
  }
  if (p->rank() != 1 || p->dim(0) != x.dim(ax))
    call.fail(std::string(what) + " " + p->describe() + " must be a scalar or have " +
              std::to_string(x.dim(ax)) + " elements (axis " + std::to_string(ax) + " of " +
              x.describe() + ")");
  a.dim = x.dim(ax);
  a.inner = product(x.shape(), size_t(ax) + 1, x.shape().size());
  return a;
}

// y = saturate(round(x / scale) + zero_point); the division runs in x's compute type as in
// ONNX's reference. The output type is output_dtype's, else the zero point's (uint8 when
// both are absent). Float8 and float4 outputs are not rounded to integers: x / scale +
// zero_point is converted like Cast, with the `saturate` attribute (float4 always saturates).
Tensor quantizeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  const Tensor *zpT = call.input(2);
  DType outType = zpT ? zpT->dtype() : DType::U8;
  if (int64_t code = call.attr().getInt("output_dtype", 0)) {
    std::optional<DType> t = dtypeFromOnnx(int32_t(code));
    if (!t)
      call.fail("unsupported output_dtype " + std::to_string(code));
    if (zpT && zpT->dtype() != *t)
      call.fail("output_dtype " + std::string(dtypeName(*t)) + " differs from y_zero_point's " +
                zpT->describe());
    outType = *t;
  }
  bool toFloat = isSmallFloat(outType) && outType != DType::F8E8M0;
  std::pair<double, double> range{0, 0};
  if (!toFloat)
    range = quantRange(call, outType);
  int64_t axis = call.attr().getInt("axis", 1);
  AxisParam scale = axisParam(call, &call.in(1), x, axis, 1, "y_scale");
  AxisParam zp = axisParam(call, zpT, x, axis, 0, "y_zero_point");
  std::vector<double> y(size_t(x.numel()));
  dispatchFloat(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      T scaled = px[i] / T(scale.at(i));
      y[size_t(i)] = toFloat ? double(scaled) + zp.at(i)
                             : saturateRound(range, double(std::nearbyint(scaled)) + zp.at(i));
    }
    return 0;
  });
  CastMode mode;
  mode.saturate = call.attr().getInt("saturate", 1) != 0;
  return Tensor::fromVector(DType::F64, x.shape(), y).cast(outType, mode);
}

// y = (x - zero_point) * scale, in the scale's (compute) type; float8/float4 x are decoded
// first. The result type is output_dtype's when given (opset 23), else the scale's.
Tensor dequantizeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  const Tensor &scaleT = call.in(1);
  int64_t axis = call.attr().getInt("axis", 1);
  AxisParam scale = axisParam(call, &scaleT, x, axis, 1, "x_scale");
  AxisParam zp = axisParam(call, call.input(2), x, axis, 0, "x_zero_point");
  if (!isInteger(x.dtype()) && !isSmallFloat(x.dtype()))
    call.fail("x must be an integer or 8/4-bit float tensor, got " + x.describe());
  Tensor y = Tensor::zeros(scaleT.dtype(), x.shape());
  dispatchFloat(call, scaleT.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T *py = y.mutableData<T>();
    for (int64_t i = 0; i < x.numel(); ++i)
      py[i] = (T(x.getAsDouble(i)) - T(zp.at(i))) * T(scale.at(i));
    return 0;
  });
  if (int64_t code = call.attr().getInt("output_dtype", 0)) {
    std::optional<DType> t = dtypeFromOnnx(int32_t(code));
    if (!t || !isFloat(*t))
      call.fail("unsupported output_dtype " + std::to_string(code));
    if (call.floatOut(*t) != y.dtype())
      y = y.cast(call.floatOut(*t));
  }
  return y;
}

// Follows the ONNX function body in float: the range includes 0, scale = range / 255,
// zero point = saturate(round(-min / scale)). An all-zero input gives scale 0 and zeros.
std::vector<Tensor> dynamicQuantizeKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  if (!isFloat(x.dtype()))
    call.fail("x must be a float tensor, got " + x.describe());
  std::vector<double> v = x.toDoubles();
  float lo = 0, hi = 0;
  for (double d : v) {
    lo = std::min(lo, float(d));
    hi = std::max(hi, float(d));
  }
  float scale = (hi - lo) / 255.0f;
  float zp = scale == 0 ? 0.0f : std::clamp(std::nearbyint(0.0f - lo / scale), 0.0f, 255.0f);
  std::vector<double> y(v.size(), zp);
  for (size_t i = 0; scale != 0 && i < v.size(); ++i)
    y[i] = saturateRound({0, 255}, double(std::nearbyint(float(v[i]) / scale)) + zp);
  Tensor scaleT = Tensor::scalarF32(scale);
  return {fromDoubles(DType::U8, x.shape(), y), scaleT,
          fromDoubles(DType::U8, {}, std::vector<double>{zp})};
}

// A quantised operand minus its zero point, exactly, as f64 (sums of int8/uint8 products stay
// far below 2^53, so float kernels compute them exactly). `zp` is one value, or one per
// slice along `axis` when it has `perAxis` elements.
Tensor centered(const KernelCall &call, const Tensor &q, const Tensor *zp, int64_t axis,
                const char *what) {
  if (!isInteger(q.dtype()))
    call.fail(std::string(what) + " must be an integer tensor, got " + q.describe());
  AxisParam z;
  z.v = zp ? zp->toDoubles() : std::vector<double>{0};
  if (z.v.size() != 1) {
    int64_t ax = normalizeAxis(call, axis, q.rank());
    if (int64_t(z.v.size()) != q.dim(ax))
      call.fail(std::string(what) + " zero point " + zp->describe() + " must be a scalar or have " +
                std::to_string(q.dim(ax)) + " elements");
    z.dim = q.dim(ax);
    z.inner = product(q.shape(), size_t(ax) + 1, q.shape().size());
  }
  std::vector<double> v = q.toDoubles();
  for (size_t i = 0; i < v.size(); ++i)
    v[i] -= z.at(int64_t(i));
  return Tensor::fromVector(DType::F64, q.shape(), v);
}

// Runs another registered kernel (MatMul, Conv) on f64 operands.
Tensor runOther(const KernelCall &call, const std::string &op, std::vector<const Tensor *> inputs) {
  const KernelFn *fn = KernelRegistry::instance().find(op);
  if (!fn)
    call.fail("internal: no " + op + " kernel");
  KernelCall c = call;
  c.opType = op;
  c.inputs = std::move(inputs);
  c.numOutputs = 1;
  return (*fn)(c).at(0);
}

// A's zero point may be per row (axis -2), B's per column (axis -1).
Tensor matmulIntegerKernel(const KernelCall &call) {
  const Tensor &a = call.in(0), &b = call.in(1);
  Tensor ca = centered(call, a, call.input(2), a.rank() >= 2 ? -2 : 0, "A");
  Tensor cb = centered(call, b, call.input(3), -1, "B");
  return runOther(call, "MatMul", {&ca, &cb}).cast(DType::I32);
}

Tensor convIntegerKernel(const KernelCall &call) {
  Tensor cx = centered(call, call.in(0), call.input(2), 0, "x");
  Tensor cw = centered(call, call.in(1), call.input(3), 0, "w");
  return runOther(call, "Conv", {&cx, &cw, nullptr}).cast(DType::I32);
}

// The single value of a scale or zero point that must be a scalar.
double scalarValue(const KernelCall &call, const Tensor &t, const char *what) {
  if (t.numel() != 1)
    call.fail(std::string(what) + " must be a scalar, got " + t.describe());
  return t.getAsDouble(0);
}

// Requantises an exact integer accumulator: acc * (in_scale * w_scale / y_scale) + y_zp, with
// the multiplier computed in float as ONNX's reference does.
Tensor requantize(const KernelCall &call, const Tensor &acc, const AxisParam &multiplier,
                  const Tensor &yScale, const Tensor &yZp) {
  scalarValue(call, yScale, "y_scale");
  auto range = quantRange(call, yZp.dtype());
  double zp = scalarValue(call, yZp, "y_zero_point");
  std::vector<double> v = acc.toDoubles();
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = saturateRound(range, v[i] * multiplier.at(int64_t(i)) + zp);
  return fromDoubles(yZp.dtype(), acc.shape(), v);
}

// Scale products a_scale * b_scale / y_scale, per output element: a's may vary by row, b's by
// column (each given as one value or one per row/column).
Tensor qlinearMatMulKernel(const KernelCall &call) {
  const Tensor &a = call.in(0), &b = call.in(3);
  Tensor ca = centered(call, a, &call.in(2), a.rank() >= 2 ? -2 : 0, "a");
  Tensor cb = centered(call, b, &call.in(5), -1, "b");
  Tensor acc = runOther(call, "MatMul", {&ca, &cb});
  std::vector<double> as = call.in(1).toDoubles(), bs = call.in(4).toDoubles();
  float ys = float(scalarValue(call, call.in(6), "y_scale"));
  int64_t n = acc.rank() >= 1 ? acc.dim(-1) : 1, m = acc.rank() >= 2 ? acc.dim(-2) : 1;
  if ((as.size() != 1 && int64_t(as.size()) != m) || (bs.size() != 1 && int64_t(bs.size()) != n))
    call.fail("a_scale/b_scale must be scalars or per row/column vectors");
  AxisParam mult;
  mult.inner = 1;
  mult.dim = m * n;
  for (int64_t i = 0; i < m * n; ++i) {
    float sa = float(as[as.size() == 1 ? 0 : size_t(i / n)]);
    float sb = float(bs[bs.size() == 1 ? 0 : size_t(i % n)]);
    mult.v.push_back(double(sa * sb / ys));
  }
  return requantize(call, acc, mult, call.in(6), call.in(7));
}

// x is quantised per tensor, w per tensor or per output channel; the optional int32 bias
// is in units of x_scale * w_scale.
Tensor qlinearConvKernel(const KernelCall &call) {
  const Tensor &x = call.in(0), &w = call.in(3);
  if (w.rank() < 3)
    call.fail("w must have rank >= 3, got " + w.describe());
  Tensor cx = centered(call, x, &call.in(2), 0, "x");
  Tensor cw = centered(call, w, &call.in(5), 0, "w");
  Tensor bias;
  if (const Tensor *b = call.input(8))
    bias = b->cast(DType::F64);
  Tensor acc = runOther(call, "Conv", {&cx, &cw, call.input(8) ? &bias : nullptr});
  float xs = float(scalarValue(call, call.in(1), "x_scale"));
  float ys = float(scalarValue(call, call.in(6), "y_scale"));
  std::vector<double> ws = call.in(4).toDoubles();
  int64_t m = w.dim(0);
  if (ws.size() != 1 && int64_t(ws.size()) != m)
    call.fail("w_scale must be a scalar or have one value per output channel");
  AxisParam mult;
  mult.dim = m;
  mult.inner = product(acc.shape(), 2, acc.shape().size());
  for (int64_t c = 0; c < m; ++c)
    mult.v.push_back(double(xs * float(ws[ws.size() == 1 ? 0 : size_t(c)]) / ys));
  return requantize(call, acc, mult, call.in(6), call.in(7));
}

} // namespace

void registerQuantizeKernels(KernelRegistry &r) {
  r.add("QuantizeLinear", singleOutput(quantizeKernel));
  r.add("DequantizeLinear", singleOutput(dequantizeKernel));
  r.add("DynamicQuantizeLinear", dynamicQuantizeKernel);
  r.add("MatMulInteger", singleOutput(matmulIntegerKernel));
  r.add("ConvInteger", singleOutput(convIntegerKernel));
  r.add("QLinearMatMul", singleOutput(qlinearMatMulKernel));
  r.add("QLinearConv", singleOutput(qlinearConvKernel));
}

} // namespace plumb::ref
