// Reference kernels for elementwise ONNX ops: unary math and activations, broadcasting
// arithmetic, comparison and logic, Where, Cast and Clip.
#include "backends/reference/kernels/Common.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace plumb::ref {
namespace {

// Walks a broadcast result in row-major order, keeping for each input the offset of the
// element that lands on the current output position (strides are 0 on broadcast dims).
class BroadcastWalk {
public:
  BroadcastWalk(const Shape &out, std::vector<std::vector<int64_t>> strides)
      : shape_(out), strides_(std::move(strides)), index_(out.size(), 0),
        offsets_(strides_.size(), 0) {}

  int64_t offset(size_t input) const { return offsets_[input]; }

  void next() {
    for (size_t d = shape_.size(); d-- > 0;) {
      for (size_t k = 0; k < strides_.size(); ++k)
        offsets_[k] += strides_[k][d];
      if (++index_[d] < shape_[d])
        return;
      for (size_t k = 0; k < strides_.size(); ++k)
        offsets_[k] -= strides_[k][d] * shape_[d];
      index_[d] = 0;
    }
  }

private:
  Shape shape_;
  std::vector<std::vector<int64_t>> strides_;
  std::vector<int64_t> index_;
  std::vector<int64_t> offsets_;
};

template <typename TI, typename TO, typename F>
Tensor mapUnary(const Tensor &x, DType outType, F f) {
  Tensor out = Tensor::zeros(outType, x.shape());
  const TI *px = x.data<TI>();
  TO *po = out.mutableData<TO>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i)
    po[i] = f(px[i]);
  return out;
}

template <typename TA, typename TB, typename TO, typename F>
Tensor mapBinary(const KernelCall &call, const Tensor &a, const Tensor &b, DType outType, F f) {
  Shape shape = broadcastShapes(call, a.shape(), b.shape());
  Tensor out = Tensor::zeros(outType, shape);
  const TA *pa = a.data<TA>();
  const TB *pb = b.data<TB>();
  TO *po = out.mutableData<TO>();
  BroadcastWalk walk(shape,
                     {broadcastStrides(a.shape(), shape), broadcastStrides(b.shape(), shape)});
  for (int64_t i = 0, n = out.numel(); i < n; ++i, walk.next())
    po[i] = f(pa[walk.offset(0)], pb[walk.offset(1)]);
  return out;
}

// Numeric types, plus bool read as its uint8_t storage (comparisons, Equal on bool).
template <typename F> auto dispatchNumericOrBool(const KernelCall &call, DType t, F &&f) {
  if (t == DType::Bool)
    return f(uint8_t{});
  return dispatchNumeric(call, t, std::forward<F>(f));
}

void requireSameType(const KernelCall &call, const Tensor &a, const Tensor &b) {
  if (a.dtype() != b.dtype())
    call.fail(std::string("operands have different element types ") + a.describe() + " and " +
              b.describe());
}

void requireType(const KernelCall &call, const Tensor &t, DType want) {
  if (t.dtype() != want)
    call.fail(std::string("expected a ") + dtypeName(want) + " tensor, got " + t.describe());
}

// Opsets before 7 broadcast only B onto A, and only when `broadcast` is set: B's dims line
// up with A's starting at `axis` (default: trailing). Reshape B so numpy rules give that.
Tensor legacyBroadcastOperand(const KernelCall &call, const Tensor &a, const Tensor &b) {
  if (call.opset >= 7)
    return b;
  if (!call.attr().getInt("broadcast", 0)) {
    if (a.shape() != b.shape())
      call.fail("shapes " + shapeToString(a.shape()) + " and " + shapeToString(b.shape()) +
                " differ and attribute broadcast is not set");
    return b;
  }
  if (b.rank() == 0 && !call.attr().has("axis"))
    return b; // a scalar B needs no axis (the default would point past A's last dim)
  int64_t axis = call.attr().getInt("axis", a.rank() - b.rank());
  axis = normalizeAxis(call, axis, a.rank());
  if (axis + b.rank() > a.rank())
    call.fail("legacy broadcast of " + shapeToString(b.shape()) + " at axis " +
              std::to_string(axis) + " overruns " + shapeToString(a.shape()));
  Shape shape = b.shape();
  shape.resize(size_t(a.rank() - axis), 1);
  return b.reshaped(shape);
}

// ---- unary ----

// A unary op on float tensors. `make(call)` reads the node's attributes and returns a
// generic lambda applied to every element in the input's float type.
template <typename Make> KernelFn floatUnaryWith(Make make) {
  return [make](const KernelCall &call) -> std::vector<Tensor> {
    const Tensor &x = call.in(0);
    auto f = make(call);
    return {dispatchFloat(call, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return mapUnary<T, T>(x, x.dtype(), [&](T v) { return T(f(v)); });
    })};
  };
}

template <typename F> KernelFn floatUnary(F f) {
  return floatUnaryWith([f](const KernelCall &) { return f; });
}

// A unary op defined for every numeric type.
template <typename F> KernelFn numericUnary(F f) {
  return [f](const KernelCall &call) -> std::vector<Tensor> {
    const Tensor &x = call.in(0);
    return {dispatchNumeric(call, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return mapUnary<T, T>(x, x.dtype(), [&](T v) { return T(f(v)); });
    })};
  };
}

template <typename T> T negate(T x) {
  if constexpr (std::is_integral_v<T>)
    return wrapping(T(0), x, [](auto a, auto b) { return a - b; });
  else
    return -x;
}

template <typename T> T absolute(T x) {
  if constexpr (std::is_unsigned_v<T>)
    return x;
  else
    return x < T(0) ? negate(x) : x;
}

template <typename T> T sign(T x) {
  if (isNaN(x))
    return x;
  return x > T(0) ? T(1) : x < T(0) ? T(-1) : T(0);
}

// log(1 + e^x) without overflow for large x.
template <typename T> T softplus(T x) {
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kSqrt2OverPi = 0.79788456080286535588; // sqrt(2 / pi)

auto gelu(const KernelCall &call) {
  std::string approx = call.attr().getString("approximate", "none");
  if (approx != "none" && approx != "tanh")
    call.fail("unknown approximate='" + approx + "'");
  bool useTanh = approx == "tanh";
  return [useTanh](auto x) {
    using T = decltype(x);
    if (useTanh) {
      T inner = T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x);
      return T(0.5) * x * (T(1) + std::tanh(inner));
    }
    return T(0.5) * x * (T(1) + std::erf(x / T(kSqrt2)));
  };
}

void registerMath(KernelRegistry &r) {
  r.add("Exp", floatUnary([](auto x) { return std::exp(x); }));
  r.add("Log", floatUnary([](auto x) { return std::log(x); }));
  r.add("Sqrt", floatUnary([](auto x) { return std::sqrt(x); }));
  r.add("Reciprocal", floatUnary([](auto x) { return decltype(x)(1) / x; }));
  r.add("Sin", floatUnary([](auto x) { return std::sin(x); }));
  r.add("Cos", floatUnary([](auto x) { return std::cos(x); }));
  r.add("Tan", floatUnary([](auto x) { return std::tan(x); }));
  r.add("Asin", floatUnary([](auto x) { return std::asin(x); }));
  r.add("Acos", floatUnary([](auto x) { return std::acos(x); }));
  r.add("Atan", floatUnary([](auto x) { return std::atan(x); }));
  r.add("Sinh", floatUnary([](auto x) { return std::sinh(x); }));
  r.add("Cosh", floatUnary([](auto x) { return std::cosh(x); }));
  r.add("Asinh", floatUnary([](auto x) { return std::asinh(x); }));
  r.add("Acosh", floatUnary([](auto x) { return std::acosh(x); }));
  r.add("Atanh", floatUnary([](auto x) { return std::atanh(x); }));
  r.add("Tanh", floatUnary([](auto x) { return std::tanh(x); }));
  r.add("Erf", floatUnary([](auto x) { return std::erf(x); }));
  r.add("Floor", floatUnary([](auto x) { return std::floor(x); }));
  r.add("Ceil", floatUnary([](auto x) { return std::ceil(x); }));
  // nearbyint in the default round-to-nearest mode rounds halves to even, as ONNX asks.
  r.add("Round", floatUnary([](auto x) { return std::nearbyint(x); }));
  r.add("Abs", numericUnary([](auto x) { return absolute(x); }));
  r.add("Neg", numericUnary([](auto x) { return negate(x); }));
  r.add("Sign", numericUnary([](auto x) { return sign(x); }));
}

void registerActivations(KernelRegistry &r) {
  // `x < 0 ? 0 : x` rather than max(0, x) so that NaN passes through.
  r.add("Relu", numericUnary([](auto x) { return x < decltype(x)(0) ? decltype(x)(0) : x; }));
  r.add("Sigmoid",
        floatUnary([](auto x) { return decltype(x)(1) / (decltype(x)(1) + std::exp(-x)); }));
  r.add("Softplus", floatUnary([](auto x) { return softplus(x); }));
  r.add("Softsign", floatUnary([](auto x) { return x / (decltype(x)(1) + std::abs(x)); }));
  r.add("Mish", floatUnary([](auto x) { return x * std::tanh(softplus(x)); }));
  r.add("Swish", floatUnaryWith([](const KernelCall &call) { // opset 24: x * sigmoid(alpha x)
          double alpha = call.attr().getFloat("alpha", 1.0);
          return [alpha](auto x) {
            using T = decltype(x);
            return x / (T(1) + std::exp(-T(alpha) * x));
          };
        }));
  r.add("HardSwish", floatUnary([](auto x) {
          using T = decltype(x);
          // ONNX defines HardSwish as x * HardSigmoid(x) with alpha = float(1/6).
          return x * std::max(T(0), std::min(T(1), T(1.0f / 6.0f) * x + T(0.5)));
        }));
  r.add("Gelu", floatUnaryWith(gelu));
  r.add("LeakyRelu", floatUnaryWith([](const KernelCall &call) {
          double alpha = call.attr().getFloat("alpha", 0.01);
          return [alpha](auto x) {
            using T = decltype(x);
            return x < T(0) ? T(alpha) * x : x;
          };
        }));
  r.add("Elu", floatUnaryWith([](const KernelCall &call) {
          double alpha = call.attr().getFloat("alpha", 1.0);
          return [alpha](auto x) {
            using T = decltype(x);
            return x < T(0) ? T(alpha) * (std::exp(x) - T(1)) : x;
          };
        }));
  r.add("Selu", floatUnaryWith([](const KernelCall &call) {
          double alpha = call.attr().getFloat("alpha", 1.67326319217681884765625);
          double gamma = call.attr().getFloat("gamma", 1.05070102214813232421875);
          return [alpha, gamma](auto x) {
            using T = decltype(x);
            return x <= T(0) ? T(gamma) * (T(alpha) * std::exp(x) - T(alpha)) : T(gamma) * x;
          };
        }));
  r.add("Celu", floatUnaryWith([](const KernelCall &call) {
          double alpha = call.attr().getFloat("alpha", 1.0);
          return [alpha](auto x) {
            using T = decltype(x);
            T a = T(alpha);
            return std::max(T(0), x) + std::min(T(0), a * (std::exp(x / a) - T(1)));
          };
        }));
  r.add("ThresholdedRelu", floatUnaryWith([](const KernelCall &call) {
          double alpha = call.attr().getFloat("alpha", 1.0);
          return [alpha](auto x) {
            using T = decltype(x);
            return x > T(alpha) ? x : T(0);
          };
        }));
  r.add("HardSigmoid", floatUnaryWith([](const KernelCall &call) {
          double alpha = call.attr().getFloat("alpha", 0.2);
          double beta = call.attr().getFloat("beta", 0.5);
          return [alpha, beta](auto x) {
            using T = decltype(x);
            return std::max(T(0), std::min(T(1), T(alpha) * x + T(beta)));
          };
        }));
}

std::vector<Tensor> isNaNKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  return {dispatchFloat(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return mapUnary<T, uint8_t>(x, DType::Bool, [](T v) { return uint8_t(std::isnan(v)); });
  })};
}

std::vector<Tensor> isInfKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  bool pos = call.attr().getInt("detect_positive", 1) != 0;
  bool neg = call.attr().getInt("detect_negative", 1) != 0;
  return {dispatchFloat(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return mapUnary<T, uint8_t>(x, DType::Bool,
                                [&](T v) { return uint8_t(std::isinf(v) && (v > 0 ? pos : neg)); });
  })};
}

// ---- binary arithmetic ----

// Two same-typed operands, after legacy (opset < 7) broadcast handling.
std::pair<Tensor, Tensor> binaryOperands(const KernelCall &call) {
  const Tensor &a = call.in(0);
  const Tensor &b = call.in(1);
  requireSameType(call, a, b);
  return {a, legacyBroadcastOperand(call, a, b)};
}

// A same-type broadcasting binary op; `f` is a generic lambda (T, T) -> T.
template <typename F> KernelFn numericBinary(F f) {
  return [f](const KernelCall &call) -> std::vector<Tensor> {
    auto [a, b] = binaryOperands(call);
    return {dispatchNumeric(call, a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return mapBinary<T, T, T>(call, a, b, a.dtype(), [&](T x, T y) { return T(f(x, y)); });
    })};
  };
}

// Integer division truncates toward zero (C, ONNX Runtime). Division by zero gives 0 like
// numpy rather than trapping; INT_MIN / -1 wraps.
template <typename T> T divide(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == T(0))
      return T(0);
    if constexpr (std::is_signed_v<T>)
      if (b == T(-1))
        return negate(a);
  }
  return T(a / b);
}

// fmod=1: C fmod (result has the dividend's sign). fmod=0: Python/numpy mod (result has
// the divisor's sign), integers only. A zero divisor gives 0 for integers like numpy.
template <typename T> T modulo(T a, T b, bool cFmod) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::fmod(a, b);
  } else {
    if (b == T(0))
      return T(0);
    if constexpr (std::is_signed_v<T>) {
      if (b == T(-1))
        return T(0);
      T r = T(a % b);
      if (!cFmod && r != T(0) && ((r < T(0)) != (b < T(0))))
        r = T(r + b);
      return r;
    } else {
      return T(a % b);
    }
  }
}

std::vector<Tensor> modKernel(const KernelCall &call) {
  auto [a, b] = binaryOperands(call);
  bool cFmod = call.attr().getInt("fmod", 0) != 0;
  if (isFloat(a.dtype()) && !cFmod)
    call.fail("fmod must be 1 for floating-point inputs");
  return {dispatchNumeric(call, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return mapBinary<T, T, T>(call, a, b, a.dtype(), [&](T x, T y) { return modulo(x, y, cFmod); });
  })};
}

// Integer power by squaring (wrapping like the other integer ops). A negative exponent
// gives the truncated value of 1 / base^-e: nonzero only for base 1 and -1.
template <typename T> T intPow(T base, int64_t e) {
  if (e < 0) {
    if (base == T(1))
      return T(1);
    if constexpr (std::is_signed_v<T>)
      if (base == T(-1))
        return (e % 2 == 0) ? T(1) : T(-1);
    return T(0);
  }
  T result = T(1);
  auto mul = [](auto x, auto y) { return x * y; };
  for (; e > 0; e >>= 1) {
    if (e & 1)
      result = wrapping(result, base, mul);
    base = wrapping(base, base, mul);
  }
  return result;
}

// Pow's base and exponent may have different types; the result has the base's type.
template <typename TB, typename TE> TB power(TB base, TE e) {
  if constexpr (std::is_floating_point_v<TB>)
    return std::pow(base, TB(e));
  else if constexpr (std::is_integral_v<TE>)
    return intPow(base, int64_t(e));
  else
    return narrow<TB>(std::pow(double(base), double(e)));
}

std::vector<Tensor> powKernel(const KernelCall &call) {
  const Tensor &a = call.in(0);
  Tensor b = legacyBroadcastOperand(call, a, call.in(1));
  return {dispatchNumeric(call, a.dtype(), [&](auto baseTag) {
    using TB = decltype(baseTag);
    return dispatchNumeric(call, b.dtype(), [&](auto expTag) {
      using TE = decltype(expTag);
      return mapBinary<TB, TE, TB>(call, a, b, a.dtype(), [](TB x, TE y) { return power(x, y); });
    });
  })};
}

std::vector<Tensor> preluKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  Tensor slope = call.in(1);
  requireSameType(call, x, slope);
  // Before opset 7 a 1-D slope of C entries is per channel (axis 1), as PyTorch exports
  // PReLU(num_parameters=C) at those opsets.
  if (call.opset < 7 && slope.rank() == 1 && x.rank() >= 2 && slope.dim(0) == x.dim(1) &&
      slope.dim(0) != 1) {
    Shape s(size_t(x.rank() - 1), 1);
    s[0] = slope.dim(0);
    slope = slope.reshaped(s);
  }
  if (broadcastShapes(call, x.shape(), slope.shape()) != x.shape())
    call.fail("slope " + shapeToString(slope.shape()) + " does not broadcast to X " +
              shapeToString(x.shape()));
  return {dispatchNumeric(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return mapBinary<T, T, T>(call, x, slope, x.dtype(),
                              [](T v, T s) { return v < T(0) ? T(s * v) : v; });
  })};
}

void registerArithmetic(KernelRegistry &r) {
  r.add("Add", numericBinary([](auto a, auto b) {
          return wrapping(a, b, [](auto x, auto y) { return x + y; });
        }));
  r.add("Sub", numericBinary([](auto a, auto b) {
          return wrapping(a, b, [](auto x, auto y) { return x - y; });
        }));
  r.add("Mul", numericBinary([](auto a, auto b) {
          return wrapping(a, b, [](auto x, auto y) { return x * y; });
        }));
  r.add("Div", numericBinary([](auto a, auto b) { return divide(a, b); }));
  r.add("Mod", modKernel);
  r.add("Pow", powKernel);
  r.add("PRelu", preluKernel);
}

// ---- variadic Min/Max/Sum/Mean ----

// Folds all inputs left to right with a broadcasting binary op.
template <typename F> Tensor foldInputs(const KernelCall &call, F f) {
  if (call.numInputs() == 0)
    call.fail("needs at least one input");
  Tensor acc = call.in(0);
  for (size_t i = 1; i < call.numInputs(); ++i) {
    const Tensor &next = call.in(i);
    requireSameType(call, acc, next);
    acc = dispatchNumeric(call, acc.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return mapBinary<T, T, T>(call, acc, next, acc.dtype(), [&](T x, T y) { return T(f(x, y)); });
    });
  }
  return call.numInputs() == 1 ? acc.clone() : acc;
}

auto addOp = [](auto a, auto b) { return wrapping(a, b, [](auto x, auto y) { return x + y; }); };

std::vector<Tensor> meanKernel(const KernelCall &call) {
  Tensor sum = foldInputs(call, addOp);
  auto n = int64_t(call.numInputs());
  return {dispatchNumeric(call, sum.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return mapUnary<T, T>(sum, sum.dtype(), [n](T v) { return T(v / T(n)); });
  })};
}

void registerVariadic(KernelRegistry &r) {
  r.add("Max", [](const KernelCall &call) -> std::vector<Tensor> {
    return {foldInputs(call, [](auto a, auto b) { return maxOf(a, b); })};
  });
  r.add("Min", [](const KernelCall &call) -> std::vector<Tensor> {
    return {foldInputs(call, [](auto a, auto b) { return minOf(a, b); })};
  });
  r.add("Sum",
        [](const KernelCall &call) -> std::vector<Tensor> { return {foldInputs(call, addOp)}; });
  r.add("Mean", meanKernel);
}

// ---- comparison and logic ----

template <typename F> KernelFn comparison(F f) {
  return [f](const KernelCall &call) -> std::vector<Tensor> {
    auto [a, b] = binaryOperands(call);
    return {dispatchNumericOrBool(call, a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return mapBinary<T, T, uint8_t>(call, a, b, DType::Bool,
                                      [&](T x, T y) { return uint8_t(f(x, y)); });
    })};
  };
}

template <typename F> KernelFn logical(F f) {
  return [f](const KernelCall &call) -> std::vector<Tensor> {
    auto [a, b] = binaryOperands(call);
    requireType(call, a, DType::Bool);
    return {mapBinary<uint8_t, uint8_t, uint8_t>(
        call, a, b, DType::Bool, [&](uint8_t x, uint8_t y) { return uint8_t(f(x != 0, y != 0)); })};
  };
}

std::vector<Tensor> notKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  requireType(call, x, DType::Bool);
  return {mapUnary<uint8_t, uint8_t>(x, DType::Bool, [](uint8_t v) { return uint8_t(v == 0); })};
}

void registerCompareLogic(KernelRegistry &r) {
  r.add("Equal", comparison([](auto a, auto b) { return a == b; }));
  r.add("Less", comparison([](auto a, auto b) { return a < b; }));
  r.add("Greater", comparison([](auto a, auto b) { return a > b; }));
  r.add("LessOrEqual", comparison([](auto a, auto b) { return a <= b; }));
  r.add("GreaterOrEqual", comparison([](auto a, auto b) { return a >= b; }));
  r.add("And", logical([](bool a, bool b) { return a && b; }));
  r.add("Or", logical([](bool a, bool b) { return a || b; }));
  r.add("Xor", logical([](bool a, bool b) { return a != b; }));
  r.add("Not", notKernel);
}

// ---- bit operations ----

// Shifting by the type's width or more is UB in C++; every bit is shifted out, so 0.
std::vector<Tensor> bitShiftKernel(const KernelCall &call) {
  auto [a, b] = binaryOperands(call);
  std::string dir = call.attr().getString("direction", "");
  if (dir != "LEFT" && dir != "RIGHT")
    call.fail("direction must be LEFT or RIGHT, got '" + dir + "'");
  if (!isInteger(a.dtype()) || isSigned(a.dtype()))
    call.fail(std::string("needs an unsigned integer type, got ") + dtypeName(a.dtype()));
  bool left = dir == "LEFT";
  return {dispatchBytes(call, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return mapBinary<T, T, T>(call, a, b, a.dtype(), [left](T x, T s) {
      if (s >= T(8 * sizeof(T)))
        return T(0);
      return left ? T(x << s) : T(x >> s);
    });
  })};
}

// Bitwise ops look only at bits, so they run on the unsigned type of the same size.
template <typename F> KernelFn bitwise(F f) {
  return [f](const KernelCall &call) -> std::vector<Tensor> {
    auto [a, b] = binaryOperands(call);
    if (!isInteger(a.dtype()))
      call.fail(std::string("needs an integer type, got ") + dtypeName(a.dtype()));
    return {dispatchBytes(call, a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return mapBinary<T, T, T>(call, a, b, a.dtype(), [&](T x, T y) { return T(f(x, y)); });
    })};
  };
}

std::vector<Tensor> bitwiseNotKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  if (!isInteger(x.dtype()))
    call.fail(std::string("needs an integer type, got ") + dtypeName(x.dtype()));
  return {dispatchBytes(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return mapUnary<T, T>(x, x.dtype(), [](T v) { return T(~v); });
  })};
}

void registerBitOps(KernelRegistry &r) {
  r.add("BitShift", bitShiftKernel);
  r.add("BitwiseAnd", bitwise([](auto a, auto b) { return a & b; }));
  r.add("BitwiseOr", bitwise([](auto a, auto b) { return a | b; }));
  r.add("BitwiseXor", bitwise([](auto a, auto b) { return a ^ b; }));
  r.add("BitwiseNot", bitwiseNotKernel);
}

// ---- Where, Cast, Clip ----

std::vector<Tensor> whereKernel(const KernelCall &call) {
  const Tensor &cond = call.in(0);
  const Tensor &x = call.in(1);
  const Tensor &y = call.in(2);
  requireType(call, cond, DType::Bool);
  requireSameType(call, x, y);
  Shape shape = broadcastShapes(call, cond.shape(), broadcastShapes(call, x.shape(), y.shape()));
  Tensor out = Tensor::zeros(x.dtype(), shape);
  BroadcastWalk walk(shape,
                     {broadcastStrides(cond.shape(), shape), broadcastStrides(x.shape(), shape),
                      broadcastStrides(y.shape(), shape)});
  const auto *pc = cond.data<uint8_t>();
  dispatchBytes(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>();
    const T *py = y.data<T>();
    T *po = out.mutableData<T>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i, walk.next())
      po[i] = pc[walk.offset(0)] ? px[walk.offset(1)] : py[walk.offset(2)];
    return 0;
  });
  return {out};
}

// Cast's `saturate` (float8 targets) and `round_mode` (float8e8m0 target, opset 24).
CastMode castMode(const KernelCall &call) {
  CastMode mode;
  mode.saturate = call.attr().getInt("saturate", 1) != 0;
  std::string name = call.attr().getString("round_mode", "up");
  std::optional<E8M0Rounding> rounding = e8m0RoundingFromName(name);
  if (!rounding)
    call.fail("unknown round_mode '" + name + "' (up, down or nearest)");
  mode.e8m0 = *rounding;
  return mode;
}

std::vector<Tensor> castKernel(const KernelCall &call) {
  if (!call.attr().has("to"))
    call.fail("missing attribute 'to'");
  int64_t code = call.attr().getInt("to", 0);
  std::optional<DType> to = dtypeFromOnnx(int32_t(code));
  if (!to)
    call.fail("unsupported target type code " + std::to_string(code));
  return {call.in(0).cast(call.floatOut(*to), castMode(call))};
}

// The target is input 1's type. A float target arrives already widened (f16 -> f32, or
// f64 in an F64 run); the walker narrows the result to the declared type.
std::vector<Tensor> castLikeKernel(const KernelCall &call) {
  return {call.in(0).cast(call.floatOut(call.in(1).dtype()), castMode(call))};
}

// Reads Clip's optional scalar bound input `i`, or returns `def` when it is absent.
template <typename T> T clipBound(const KernelCall &call, size_t i, const Tensor &x, T def) {
  const Tensor *t = call.input(i);
  if (!t)
    return def;
  requireSameType(call, x, *t);
  if (t->numel() != 1)
    call.fail("min/max must be a scalar, got " + t->describe());
  return t->data<T>()[0];
}

std::vector<Tensor> clipKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  return {dispatchNumeric(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T lo, hi;
    if (call.opset < 11) {
      // Before opset 11 the bounds are float attributes defaulting to the float range.
      lo = T(call.attr().getFloat("min", std::numeric_limits<float>::lowest()));
      hi = T(call.attr().getFloat("max", std::numeric_limits<float>::max()));
    } else {
      // Absent bounds do not clip: use infinities, so that -inf/+inf inputs survive.
      constexpr bool fp = std::is_floating_point_v<T>;
      lo = clipBound<T>(
          call, 1, x, fp ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest());
      hi = clipBound<T>(call, 2, x,
                        fp ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max());
    }
    // max then min: when min > max every value becomes max, as the spec says. NaN stays NaN.
    return mapUnary<T, T>(x, x.dtype(), [lo, hi](T v) {
      if (isNaN(v))
        return v;
      return std::min(std::max(v, lo), hi);
    });
  })};
}

} // namespace

void registerElementwiseKernels(KernelRegistry &r) {
  registerMath(r);
  registerActivations(r);
  r.add("IsNaN", isNaNKernel);
  r.add("IsInf", isInfKernel);
  registerArithmetic(r);
  registerVariadic(r);
  registerCompareLogic(r);
  registerBitOps(r);
  r.add("Where", whereKernel);
  r.add("Cast", castKernel);
  r.add("CastLike", castLikeKernel);
  r.add("Clip", clipKernel);
}

} // namespace plumb::ref
