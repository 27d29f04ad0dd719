// Reference kernels for reductions (Reduce*, ArgMax/ArgMin), CumSum, the softmax family
// (Softmax, LogSoftmax, Hardmax) and TopK.
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

namespace plumb::ref {
namespace {

template <typename T> T add(T a, T b) {
  return wrapping(a, b, [](auto x, auto y) { return x + y; });
}
template <typename T> T mul(T a, T b) {
  return wrapping(a, b, [](auto x, auto y) { return x * y; });
}

// Applies a floating-point function to an accumulator: in T for float types, through double
// for integer types.
template <typename T, typename F> T applyFloat(T v, F f) {
  if constexpr (std::is_floating_point_v<T>)
    return f(v);
  else
    return narrow<T>(f(double(v)));
}

template <typename T> T absValue(T v) {
  if constexpr (std::is_signed_v<T>)
    return v < T(0) ? wrapping(T(0), v, [](auto x, auto y) { return x - y; }) : v;
  else
    return v;
}

// The largest/smallest value of T, infinities for floats: the empty Max/Min reduction.
template <typename T> T lowestValue() {
  if constexpr (std::is_floating_point_v<T>)
    return -std::numeric_limits<T>::infinity();
  else
    return std::numeric_limits<T>::lowest();
}
template <typename T> T highestValue() {
  if constexpr (std::is_floating_point_v<T>)
    return std::numeric_limits<T>::infinity();
  else
    return std::numeric_limits<T>::max();
}

// A tensor viewed as [outer, len, inner] around one axis.
struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
  int64_t at(int64_t o, int64_t k, int64_t i) const { return (o * len + k) * inner + i; }
};

AxisSplit splitAt(const Shape &shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d)
    (d < axis ? s.outer : d == axis ? s.len : s.inner) *= shape[size_t(d)];
  return s;
}

// ---- Reduce* ----

// What a Reduce* node reduces and what it produces.
struct ReducePlan {
  bool identity = false;           // empty axes with noop_with_empty_axes: output = input
  Shape outShape;                  // honours keepdims
  std::vector<int64_t> outStrides; // per input axis: stride into the output, 0 when reduced
  int64_t count = 1;               // input elements folded into each output element
};

// Axes come from the `axes` attribute, or from optional input 1 from opset 13 for
// ReduceSum and from opset 18 for the others. A newer-opset node with the attribute and no
// input is invalid ONNX, but ONNX Runtime honours the attribute, so this does too rather
// than silently reducing everything.
ReducePlan planReduce(const KernelCall &call, const Shape &in) {
  bool axesFromInput = call.opType == "ReduceSum" ? call.opset >= 13 : call.opset >= 18;
  std::vector<int64_t> axes;
  if (const Tensor *t = axesFromInput ? call.input(1) : nullptr)
    axes = t->toInts();
  else
    axes = call.attr().getInts("axes");
  ReducePlan plan;
  if (axes.empty() && axesFromInput && call.attr().getInt("noop_with_empty_axes", 0) != 0) {
    plan.identity = true;
    return plan;
  }
  int64_t rank = int64_t(in.size());
  std::vector<bool> reduced(in.size(), axes.empty());
  for (int64_t a : axes) {
    int64_t axis = normalizeAxis(call, a, rank);
    if (reduced[size_t(axis)])
      call.fail("axis " + std::to_string(a) + " appears twice in axes");
    reduced[size_t(axis)] = true;
  }
  bool keepdims = call.attr().getInt("keepdims", 1) != 0;
  Shape kept = in;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d])
      continue;
    plan.count *= in[d];
    kept[d] = 1;
  }
  plan.outStrides = stridesOf(kept);
  for (size_t d = 0; d < in.size(); ++d) {
    if (reduced[d])
      plan.outStrides[d] = 0;
    if (!reduced[d] || keepdims)
      plan.outShape.push_back(kept[d]);
  }
  return plan;
}

// Calls visit(outputOffset, inputIndex) for every input element in row-major order, so each
// output element sees its inputs in increasing index order.
template <typename Visit> void forEachInput(const Shape &in, const ReducePlan &plan, Visit visit) {
  std::vector<int64_t> index(in.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0, n = numElements(in); i < n; ++i) {
    visit(off, i);
    for (size_t d = in.size(); d-- > 0;) {
      off += plan.outStrides[d];
      if (++index[d] < in[d])
        break;
      off -= plan.outStrides[d] * in[d];
      index[d] = 0;
    }
  }
}

// acc = init; acc = step(acc, x) over the reduced elements; out = finish(acc). Accumulates
// in T: the op's own precision.
template <typename T, typename Step, typename Finish>
Tensor reduce(const Tensor &x, const ReducePlan &plan, T init, Step step, Finish finish) {
  Tensor out = Tensor::zeros(x.dtype(), plan.outShape);
  T *po = out.mutableData<T>();
  std::fill(po, po + out.numel(), init);
  const T *px = x.data<T>();
  forEachInput(x.shape(), plan, [&](int64_t o, int64_t i) { po[o] = step(po[o], px[i]); });
  for (int64_t j = 0; j < out.numel(); ++j)
    po[j] = finish(po[j]);
  return out;
}

// log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the maximum, so that large
// inputs do not overflow.
template <typename T> Tensor reduceLogSumExp(const Tensor &x, const ReducePlan &plan) {
  using W = std::conditional_t<std::is_floating_point_v<T>, T, double>;
  int64_t n = numElements(plan.outShape);
  std::vector<W> shift(size_t(n), -std::numeric_limits<W>::infinity());
  std::vector<W> sum(size_t(n), W(0));
  const T *px = x.data<T>();
  forEachInput(x.shape(), plan,
               [&](int64_t o, int64_t i) { shift[o] = maxOf(shift[o], W(px[i])); });
  for (W &s : shift)
    if (!std::isfinite(s))
      s = W(0); // all -inf (or empty): log(0) = -inf; any +inf or NaN: let it propagate
  forEachInput(x.shape(), plan,
               [&](int64_t o, int64_t i) { sum[o] += std::exp(W(px[i]) - shift[o]); });
  Tensor out = Tensor::zeros(x.dtype(), plan.outShape);
  T *po = out.mutableData<T>();
  for (int64_t j = 0; j < n; ++j)
    po[j] = narrow<T>(std::log(sum[size_t(j)]) + shift[size_t(j)]);
  return out;
}

template <typename T>
Tensor reduceByOp(const KernelCall &call, const Tensor &x, const ReducePlan &plan) {
  const std::string &op = call.opType;
  auto same = [](T a) { return a; };
  auto plus = [](T a, T b) { return add(a, b); };
  auto plusSquare = [](T a, T b) { return add(a, mul(b, b)); };
  if (op == "ReduceSum")
    return reduce<T>(x, plan, T(0), plus, same);
  if (op == "ReduceMean") {
    // An empty mean is 0/0: NaN for floats; integers give 0 instead of trapping.
    T count = T(plan.count);
    return reduce<T>(x, plan, T(0), plus, [count](T a) {
      if constexpr (std::is_integral_v<T>)
        return count == T(0) ? T(0) : T(a / count);
      else
        return a / count;
    });
  }
  if (op == "ReduceMax")
    return reduce<T>(
        x, plan, lowestValue<T>(), [](T a, T b) { return maxOf(a, b); }, same);
  if (op == "ReduceMin")
    return reduce<T>(
        x, plan, highestValue<T>(), [](T a, T b) { return minOf(a, b); }, same);
  if (op == "ReduceProd")
    return reduce<T>(
        x, plan, T(1), [](T a, T b) { return mul(a, b); }, same);
  if (op == "ReduceSumSquare")
    return reduce<T>(x, plan, T(0), plusSquare, same);
  if (op == "ReduceL1")
    return reduce<T>(
        x, plan, T(0), [](T a, T b) { return add(a, absValue(b)); }, same);
  if (op == "ReduceL2")
    return reduce<T>(x, plan, T(0), plusSquare,
                     [](T a) { return applyFloat(a, [](auto v) { return std::sqrt(v); }); });
  if (op == "ReduceLogSum")
    return reduce<T>(x, plan, T(0), plus,
                     [](T a) { return applyFloat(a, [](auto v) { return std::log(v); }); });
  if (op == "ReduceLogSumExp")
    return reduceLogSumExp<T>(x, plan);
  call.fail("unknown reduction " + op);
}

std::vector<Tensor> reduceKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  ReducePlan plan = planReduce(call, x.shape());
  if (plan.identity)
    return {x.clone()};
  // ReduceMax/ReduceMin accept bool (opset 20): max is "any", min is "all" on 0/1 bytes.
  bool boolOk = call.opType == "ReduceMax" || call.opType == "ReduceMin";
  if (x.dtype() == DType::Bool && boolOk)
    return {reduceByOp<uint8_t>(call, x, plan)};
  return {dispatchNumeric(call, x.dtype(),
                          [&](auto tag) { return reduceByOp<decltype(tag)>(call, x, plan); })};
}

// ---- ArgMax / ArgMin ----

// NaN counts as the extreme value, and the first NaN wins, like numpy.argmax/argmin.
template <typename T>
int64_t argExtreme(const T *x, const AxisSplit &s, int64_t o, int64_t i, bool isMax,
                   bool selectLast) {
  int64_t best = 0;
  T bestV = x[s.at(o, 0, i)];
  for (int64_t k = 1; k < s.len; ++k) {
    T v = x[s.at(o, k, i)];
    if (isNaN(bestV))
      break;
    bool better = isNaN(v) || (isMax ? v > bestV : v < bestV);
    if (better || (selectLast && v == bestV)) {
      best = k;
      bestV = v;
    }
  }
  return best;
}

std::vector<Tensor> argKernel(const KernelCall &call, bool isMax) {
  const Tensor &x = call.in(0);
  int64_t axis = normalizeAxis(call, call.attr().getInt("axis", 0), x.rank());
  bool keepdims = call.attr().getInt("keepdims", 1) != 0;
  bool selectLast = call.attr().getInt("select_last_index", 0) != 0;
  if (x.rank() == 0)
    call.fail("input must have rank >= 1");
  AxisSplit s = splitAt(x.shape(), axis);
  if (s.len == 0)
    call.fail("cannot take the arg-extreme of an empty axis");
  Shape outShape = x.shape();
  if (keepdims)
    outShape[size_t(axis)] = 1;
  else
    outShape.erase(outShape.begin() + axis);
  Tensor out = Tensor::zeros(DType::I64, outShape);
  int64_t *po = out.mutableData<int64_t>();
  dispatchNumeric(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i)
        po[o * s.inner + i] = argExtreme(x.data<T>(), s, o, i, isMax, selectLast);
    return 0;
  });
  return {out};
}

// ---- CumSum ----

std::vector<Tensor> cumSumKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  const Tensor &axisT = call.in(1);
  if (axisT.numel() != 1)
    call.fail("axis must hold one value, got " + axisT.describe());
  int64_t axis = normalizeAxis(call, axisT.getAsInt(0), x.rank());
  bool exclusive = call.attr().getInt("exclusive", 0) != 0;
  bool reverse = call.attr().getInt("reverse", 0) != 0;
  AxisSplit s = splitAt(x.shape(), x.rank() == 0 ? 0 : axis);
  Tensor out = Tensor::zeros(x.dtype(), x.shape());
  dispatchNumeric(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>();
    T *po = out.mutableData<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        T acc = T(0);
        for (int64_t step = 0; step < s.len; ++step) {
          int64_t at = s.at(o, reverse ? s.len - 1 - step : step, i);
          if (exclusive)
            po[at] = acc;
          acc = add(acc, px[at]);
          if (!exclusive)
            po[at] = acc;
        }
      }
    return 0;
  });
  return {out};
}

// ---- Softmax, LogSoftmax, Hardmax ----

enum class SoftKind { Softmax, LogSoftmax, Hardmax };

// Before opset 13 these ops coerce the input to 2-D at `axis` (default 1) and normalise each
// row; from 13 they normalise along the single `axis` (default -1).
AxisSplit softmaxSplit(const KernelCall &call, const Tensor &x) {
  if (call.opset >= 13)
    return splitAt(x.shape(), normalizeAxis(call, call.attr().getInt("axis", -1), x.rank()));
  int64_t axis = normalizeAxis(call, call.attr().getInt("axis", 1), x.rank());
  AxisSplit s;
  for (int64_t d = 0; d < x.rank(); ++d)
    (d < axis ? s.outer : s.len) *= x.dim(d);
  return s;
}

// One row of `len` elements `stride` apart. Softmax subtracts the row maximum first so exp
// cannot overflow. Hardmax marks the first maximum, a NaN counting as the maximum (the first
// NaN wins), as ArgMax and ONNX's reference (numpy.argmax) pick it.
template <typename T> void softRow(const T *x, T *y, int64_t len, int64_t stride, SoftKind kind) {
  if (len == 0)
    return;
  if (kind == SoftKind::Hardmax) {
    int64_t argmax = 0;
    for (int64_t k = 1; k < len && !isNaN(x[argmax * stride]); ++k)
      if (isNaN(x[k * stride]) || x[k * stride] > x[argmax * stride])
        argmax = k;
    for (int64_t k = 0; k < len; ++k)
      y[k * stride] = k == argmax ? T(1) : T(0);
    return;
  }
  T m = x[0];
  for (int64_t k = 1; k < len; ++k)
    if (x[k * stride] > m)
      m = x[k * stride];
  T sum = T(0);
  for (int64_t k = 0; k < len; ++k)
    sum += std::exp(x[k * stride] - m);
  for (int64_t k = 0; k < len; ++k) {
    T shifted = x[k * stride] - m;
    y[k * stride] = kind == SoftKind::Softmax ? std::exp(shifted) / sum : shifted - std::log(sum);
  }
}

KernelFn softKernel(SoftKind kind) {
  return [kind](const KernelCall &call) -> std::vector<Tensor> {
    const Tensor &x = call.in(0);
    AxisSplit s = softmaxSplit(call, x);
    Tensor out = Tensor::zeros(x.dtype(), x.shape());
    dispatchFloat(call, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.inner; ++i)
          softRow(x.data<T>() + s.at(o, 0, i), out.mutableData<T>() + s.at(o, 0, i), s.len, s.inner,
                  kind);
      return 0;
    });
    return {out};
  };
}

// ---- TopK ----

// Orders positions along the axis: by value (NaN counts as the largest), ties by index.
template <typename T>
std::vector<int64_t> rankRow(const T *x, int64_t len, int64_t stride, bool largest) {
  std::vector<int64_t> order(static_cast<size_t>(len));
  std::iota(order.begin(), order.end(), 0);
  auto greater = [](T a, T b) { return isNaN(a) ? !isNaN(b) : (!isNaN(b) && a > b); };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    T va = x[a * stride], vb = x[b * stride];
    return largest ? greater(va, vb) : greater(vb, va);
  });
  return order;
}

int64_t topKCount(const KernelCall &call) {
  if (call.opset < 10)
    return call.attr().getInt("k", -1);
  const Tensor &k = call.in(1);
  if (k.numel() != 1)
    call.fail("K must hold one value, got " + k.describe());
  return k.getAsInt(0);
}

// Always returns sorted results: `sorted=0` leaves the order unspecified, so sorted is valid.
std::vector<Tensor> topKKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  if (x.rank() == 0)
    call.fail("input must have rank >= 1");
  int64_t axis = normalizeAxis(call, call.attr().getInt("axis", -1), x.rank());
  bool largest = call.attr().getInt("largest", 1) != 0;
  int64_t k = topKCount(call);
  AxisSplit s = splitAt(x.shape(), axis);
  if (k < 0 || k > s.len)
    call.fail("K = " + std::to_string(k) + " is outside [0, " + std::to_string(s.len) + "]");
  Shape outShape = x.shape();
  outShape[size_t(axis)] = k;
  Tensor values = Tensor::zeros(x.dtype(), outShape);
  Tensor indices = Tensor::zeros(DType::I64, outShape);
  AxisSplit os{s.outer, k, s.inner};
  dispatchNumeric(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        std::vector<int64_t> order = rankRow(px + s.at(o, 0, i), s.len, s.inner, largest);
        for (int64_t j = 0; j < k; ++j) {
          values.mutableData<T>()[os.at(o, j, i)] = px[s.at(o, order[size_t(j)], i)];
          indices.mutableData<int64_t>()[os.at(o, j, i)] = order[size_t(j)];
        }
      }
    return 0;
  });
  return {values, indices};
}

} // namespace

void registerReductionKernels(KernelRegistry &r) {
  for (const char *op :
       {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
        "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
    r.add(op, reduceKernel);
  r.add("ArgMax", [](const KernelCall &call) { return argKernel(call, true); });
  r.add("ArgMin", [](const KernelCall &call) { return argKernel(call, false); });
  r.add("CumSum", cumSumKernel);
  r.add("Softmax", softKernel(SoftKind::Softmax));
  r.add("LogSoftmax", softKernel(SoftKind::LogSoftmax));
  r.add("Hardmax", softKernel(SoftKind::Hardmax));
  r.add("TopK", topKKernel);
}

} // namespace plumb::ref
