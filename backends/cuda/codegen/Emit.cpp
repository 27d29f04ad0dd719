// Scalar CUDA expressions for ONNX elementwise ops, written to match the reference kernels'
// formulas (backends/reference/kernels/Elementwise.cpp) so that parity is rounding-level.
#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/Writer.h"

#include "runtime/Error.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>

namespace plumb::cuda {

std::string storageType(DType t) {
  switch (t) {
  case DType::F32: return "float";
  case DType::F16: return "__half";
  case DType::BF16: return "__nv_bfloat16";
  case DType::F64: return "double";
  case DType::I64: return "long long";
  case DType::I32: return "int";
  case DType::I16: return "short";
  case DType::I8: return "signed char";
  case DType::U8: return "unsigned char";
  case DType::U16: return "unsigned short";
  case DType::U32: return "unsigned int";
  case DType::U64: return "unsigned long long";
  case DType::Bool: return "bool";
  case DType::F8E4M3FN:
  case DType::F8E4M3FNUZ:
  case DType::F8E5M2:
  case DType::F8E5M2FNUZ:
    return "unsigned char"; // the bit pattern; loadAs/storeAs convert (smallFloatHelpers)
  case DType::F4E2M1: // the bit pattern in the low four bits
  case DType::F8E8M0:
    return "unsigned char";
  case DType::I4: return "signed char";   // the value, sign-extended (runtime/DType.h)
  case DType::U4: return "unsigned char"; // the value
  }
  throw Error(std::string("the CUDA kernel generator does not support element type ") +
              dtypeName(t));
}

bool isFloat8(DType t) {
  return t == DType::F8E4M3FN || t == DType::F8E4M3FNUZ || t == DType::F8E5M2 ||
         t == DType::F8E5M2FNUZ;
}

// The helper functions' name for a float8 or float4 type.
static std::string float8Name(DType t) {
  switch (t) {
  case DType::F4E2M1: return "e2m1";
  case DType::F8E8M0: return "e8m0";
  case DType::F8E4M3FNUZ: return "e4m3fnuz";
  case DType::F8E5M2: return "e5m2";
  case DType::F8E5M2FNUZ: return "e5m2fnuz";
  default: return "e4m3fn";
  }
}

std::string computeType(DType t) {
  if (t == DType::F32 || t == DType::F16 || t == DType::BF16 || isSmallFloat(t))
    return "float";
  if (t == DType::F64)
    return "double";
  if (t == DType::Bool)
    return "bool";
  return "long long";
}

std::string loadAs(DType t, const std::string &expr) {
  if (t == DType::F16)
    return "__half2float(" + expr + ")";
  if (t == DType::BF16)
    return "__bfloat162float(" + expr + ")";
  if (isSmallFloat(t))
    return "plumb_from_" + float8Name(t) + "(" + expr + ")";
  if (t == DType::F32 || t == DType::F64 || t == DType::Bool || t == DType::I64)
    return expr;
  return "(long long)(" + expr + ")";
}

std::string storeAs(DType t, const std::string &expr) {
  if (t == DType::F16)
    return "__float2half_rn(" + expr + ")";
  if (t == DType::BF16)
    return "__float2bfloat16_rn(" + expr + ")";
  // A Cast rounds and saturates before: the values stored are exact.
  if (isFloat8(t) || t == DType::F4E2M1)
    return "plumb_to_" + float8Name(t) + "(" + expr + ")";
  if (t == DType::F8E8M0) // rounding down, exact for the powers of two a Cast leaves
    return "plumb_to_e8m0(" + expr + ", 1, 1)";
  if (t == DType::I4) // the low four bits, sign-extended: ONNX Cast's wrap (wrapToI4)
    return "(signed char)(((((long long)(" + expr + ")) & 15LL) ^ 8LL) - 8LL)";
  if (t == DType::U4)
    return "(unsigned char)(((long long)(" + expr + ")) & 15LL)";
  return "(" + storageType(t) + ")(" + expr + ")";
}

// float8 <-> float as ONNX's Cast defines them (runtime/SmallFloat.cpp is the reference's):
// decoding is exact; encoding rounds to nearest even at the value's binade (never below the
// subnormal quantum), overflow gives infinity (E5M2) or NaN (the others), the UZ formats have
// no -0 and one NaN (the sign bit alone). Formats: kind 0 e4m3fn, 1 e4m3fnuz, 2 e5m2,
// 3 e5m2fnuz, 4 float4e2m1 (no NaN or infinity: NaN gives the -0 pattern as ONNX's
// reference, overflow always saturates). float8e8m0 is 2^(b - 127) (0xff NaN), encoded from
// the float32 bits with the sign ignored, rounding up, down or to nearest (mode 0, 1, 2: Cast's
// round_mode), a carry past 2^127 giving 0xfe when saturating, else NaN.
std::string smallFloatHelpers() {
  return R"(__device__ __forceinline__ float plumb_f8_decode(unsigned char b, int eb, int mb, int bias, int kind) {
  const unsigned sign = 1u << (eb + mb), mag = b & (sign - 1u);
  const unsigned expMask = ((1u << eb) - 1u) << mb, mantMask = (1u << mb) - 1u;
  const bool nan = (kind == 1 || kind == 3) ? b == sign
                 : kind == 0 ? mag == (expMask | mantMask)
                 : kind == 2 && (mag & expMask) == expMask && (mag & mantMask) != 0u;
  if (nan) // signed, so a narrowing Cast's round trip (encode, decode, store) keeps the pattern
    return __int_as_float((b & sign) ? int(0xffc00000u) : 0x7fc00000);
  const int e = int((mag >> mb) & ((1u << eb) - 1u)), m = int(mag & mantMask);
  float v;
  if (kind == 2 && e == (1 << eb) - 1)
    v = __int_as_float(0x7f800000);
  else if (e == 0)
    v = ldexpf(float(m), 1 - bias - mb);
  else
    v = ldexpf(float(m + (1 << mb)), e - bias - mb);
  return (b & sign) ? -v : v;
}
__device__ __forceinline__ unsigned char plumb_f8_encode(float v, int eb, int mb, int bias, int kind, unsigned maxBits) {
  const unsigned sign = 1u << (eb + mb);
  const bool uz = kind == 1 || kind == 3;
  const unsigned s = signbit(v) ? sign : 0u;
  const unsigned nanBits = uz || kind == 4 ? sign : (kind == 2 ? (s | 0x7eu) : (s | 0x7fu));
  if (v != v)
    return (unsigned char)nanBits;
  const unsigned overflow = kind == 4 ? (s | maxBits) : kind == 2 ? (s | 0x7cu) : nanBits;
  const unsigned zero = uz ? 0u : s;
  const float a = fabsf(v);
  if (isinf(a))
    return (unsigned char)overflow;
  if (a == 0.0f)
    return (unsigned char)zero;
  int e2;
  frexpf(a, &e2);
  int e = e2 - 1 > 1 - bias ? e2 - 1 : 1 - bias;
  const float r = rintf(a / ldexpf(1.0f, e - mb));
  if (ldexpf(r, e - mb) > plumb_f8_decode((unsigned char)maxBits, eb, mb, bias, kind))
    return (unsigned char)overflow;
  if (r == 0.0f)
    return (unsigned char)zero;
  const int implicit = 1 << mb;
  int expField = 0, m = int(r);
  if (m >= implicit) {
    if (m == 2 * implicit) {
      ++e;
      m = implicit;
    }
    expField = e + bias;
    m -= implicit;
  }
  return (unsigned char)(s | unsigned(expField << mb) | unsigned(m));
}
__device__ __forceinline__ float plumb_from_e4m3fn(unsigned char b) { return plumb_f8_decode(b, 4, 3, 7, 0); }
__device__ __forceinline__ float plumb_from_e4m3fnuz(unsigned char b) { return plumb_f8_decode(b, 4, 3, 8, 1); }
__device__ __forceinline__ float plumb_from_e5m2(unsigned char b) { return plumb_f8_decode(b, 5, 2, 15, 2); }
__device__ __forceinline__ float plumb_from_e5m2fnuz(unsigned char b) { return plumb_f8_decode(b, 5, 2, 16, 3); }
__device__ __forceinline__ unsigned char plumb_to_e4m3fn(float v) { return plumb_f8_encode(v, 4, 3, 7, 0, 0x7eu); }
__device__ __forceinline__ unsigned char plumb_to_e4m3fnuz(float v) { return plumb_f8_encode(v, 4, 3, 8, 1, 0x7fu); }
__device__ __forceinline__ unsigned char plumb_to_e5m2(float v) { return plumb_f8_encode(v, 5, 2, 15, 2, 0x7bu); }
__device__ __forceinline__ unsigned char plumb_to_e5m2fnuz(float v) { return plumb_f8_encode(v, 5, 2, 16, 3, 0x7fu); }
__device__ __forceinline__ float plumb_from_e2m1(unsigned char b) { return plumb_f8_decode(b & 15u, 2, 1, 1, 4); }
__device__ __forceinline__ unsigned char plumb_to_e2m1(float v) { return plumb_f8_encode(v, 2, 1, 1, 4, 0x7u); }
__device__ __forceinline__ float plumb_from_e8m0(unsigned char b) {
  return b == 0xffu ? __int_as_float(0x7fc00000) : ldexpf(1.0f, int(b) - 127);
}
__device__ __forceinline__ unsigned char plumb_to_e8m0(float v, int saturate, int mode) {
  const unsigned bits = __float_as_uint(v), m = bits & 0x7fffffu;
  unsigned e = (bits >> 23) & 0xffu;
  if (e == 0xffu)
    return 0xffu;
  const bool up = mode == 0 ? m != 0u
                : mode == 2 && ((m >> 22) & 1u) != 0u &&
                      (((m >> 21) & 1u) != 0u || (m & 0x1fffffu) != 0u || e > 0u);
  if (up) {
    if (e == 0xfeu)
      return saturate ? 0xfeu : 0xffu;
    ++e;
  }
  return (unsigned char)e;
}
)";
}

// The largest finite value of a float8 type (a saturating Cast clamps to it).
static double float8Max(DType t) {
  switch (t) {
  case DType::F8E4M3FNUZ: return 240;
  case DType::F8E5M2:
  case DType::F8E5M2FNUZ: return 57344;
  default: return 448;
  }
}

std::string literal(DType t, double v) {
  std::string ct = computeType(t);
  char buf[64];
  if (ct == "bool")
    return v != 0 ? "true" : "false";
  if (ct == "long long") {
    std::snprintf(buf, sizeof buf, "%lldLL", (long long)v);
    return buf;
  }
  if (ct == "double") {
    if (std::isnan(v))
      return "__longlong_as_double(0x7ff8000000000000LL)";
    if (std::isinf(v))
      return v > 0 ? "__longlong_as_double(0x7ff0000000000000LL)"
                   : "__longlong_as_double(0xfff0000000000000LL)";
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string("(") + buf + ")";
  }
  float f = float(v);
  if (std::isnan(f))
    return "__int_as_float(0x7fffffff)";
  if (std::isinf(f))
    return f > 0 ? "__int_as_float(0x7f800000)" : "__int_as_float(0xff800000)";
  // Bit-exact: the f32 value the reference computes with.
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  std::snprintf(buf, sizeof buf, "__int_as_float(0x%08x) /* %.9g */", bits, double(f));
  return buf;
}

namespace {

using Args = std::vector<std::string>;
// (graph, node, args, result dtype) -> expression
using Rule = std::function<std::string(const KernelGraph &, const KNode &, const Args &, DType)>;

std::string fn(const std::string &f, DType t, const std::string &x) {
  // f32 math functions (expf...) for float compute, the double ones otherwise.
  return computeType(t) == "float" ? f + "f(" + x + ")" : f + "(" + x + ")";
}

Rule unary(const char *f) {
  return [f](const KernelGraph &, const KNode &, const Args &a, DType t) { return fn(f, t, a[0]); };
}

Rule infix(const char *op) {
  return [op](const KernelGraph &, const KNode &, const Args &a, DType) {
    return "(" + a[0] + " " + op + " " + a[1] + ")";
  };
}

// `body` with x bound to operand 0 (evaluated once).
std::string let(const std::string &x, const std::string &ct, const std::string &body) {
  return "([&]() { " + ct + " x = " + x + "; return " + body + "; }())";
}

double attrF(const KNode &n, const char *name, double def) { return n.attrs.getFloat(name, def); }

DType operandType(const KernelGraph &g, const KNode &n, size_t i) {
  return g.values[size_t(n.operands[i])].dtype;
}

} // namespace

// A float cast to an integer type as the reference casts it (runtime/Tensor.cpp): NaN gives
// 0, values past the type's range its bound, others truncate toward zero. (A bare C cast is
// undefined there: on x86 and in PTX it gave 0 for -inf to int32, where the reference gives
// INT32_MIN.) 4-bit types saturate to int64 and wrap when stored, as the reference does.
std::string floatToInteger(const std::string &x, const std::string &ct, DType t) {
  if (t == DType::U64) // all ones past 2^64 - 1; from 2^63 through unsigned
    return let(x, ct, "x != x || x <= 0 ? 0LL : x >= 18446744073709551615.0 ? -1LL : x >= "
                      "9223372036854775808.0 ? (long long)(unsigned long long)x : (long long)x");
  // int64, and int4/uint4 before their wrap: int64's range.
  auto [lo, hi] = *integerRange(t == DType::I4 || t == DType::U4 ? DType::I64 : t);
  std::string loI = lo < -9.2e18 ? "(-9223372036854775807LL - 1LL)" : std::to_string((long long)lo) + "LL";
  std::string hiI = hi > 9.2e18 ? "9223372036854775807LL" : std::to_string((long long)hi) + "LL";
  char bounds[128];
  std::snprintf(bounds, sizeof bounds, "x <= %.17g ? %s : x >= %.17g ? %s : ", lo, loI.c_str(),
                hi, hiI.c_str());
  return let(x, ct, "x != x ? 0LL : " + std::string(bounds) + "(long long)x");
}

namespace {

const std::map<std::string, Rule> &rules() {
  static const std::map<std::string, Rule> table = [] {
    std::map<std::string, Rule> r;
    for (const char *f : {"exp", "log", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
                          "cosh", "asinh", "acosh", "atanh", "tanh", "erf", "floor", "ceil"}) {
      std::string name = f;
      name[0] = char(std::toupper(name[0]));
      r[name] = unary(f);
    }
    r["Round"] = unary("rint"); // halves to even, as ONNX asks
    r["Reciprocal"] = [](auto &, auto &, const Args &a, DType t) {
      return "(" + literal(t, 1) + " / " + a[0] + ")";
    };
    r["Abs"] = [](auto &, auto &, const Args &a, DType) {
      return let(a[0], "auto", "x < 0 ? -x : x");
    };
    r["Neg"] = [](auto &, auto &, const Args &a, DType) { return "(-" + a[0] + ")"; };
    r["Identity"] = [](auto &, auto &, const Args &a, DType) { return a[0]; };
    r["Sign"] = [](auto &, auto &, const Args &a, DType t) {
      std::string ct = computeType(t);
      return let(a[0], ct, "x != x ? x : (x > 0 ? (" + ct + ")1 : x < 0 ? (" + ct + ")-1 : (" +
                               ct + ")0)");
    };
    r["Relu"] = [](auto &, auto &, const Args &a, DType t) {
      return let(a[0], computeType(t), "x < 0 ? 0 : x");
    };
    r["Sigmoid"] = [](auto &, auto &, const Args &a, DType t) {
      return "(" + literal(t, 1) + " / (" + literal(t, 1) + " + " + fn("exp", t, "-" + a[0]) + "))";
    };
    auto softplus = [](DType t) {
      return "(x > 0 ? x : 0) + " + fn("log1p", t, fn("exp", t, "-" + fn("fabs", t, "x")));
    };
    r["Softplus"] = [softplus](auto &, auto &, const Args &a, DType t) {
      return let(a[0], computeType(t), softplus(t));
    };
    r["Mish"] = [softplus](auto &, auto &, const Args &a, DType t) {
      return let(a[0], computeType(t), "x * " + fn("tanh", t, softplus(t)));
    };
    r["Softsign"] = [](auto &, auto &, const Args &a, DType t) {
      return let(a[0], computeType(t), "x / (1 + " + fn("fabs", t, "x") + ")");
    };
    r["HardSwish"] = [](auto &, auto &, const Args &a, DType t) {
      return let(a[0], computeType(t),
                 "x * " + fn("fmax", t, "0, " + fn("fmin", t, "1, " + literal(t, 1.0f / 6.0f) +
                                                                " * x + " + literal(t, 0.5))));
    };
    r["HardSigmoid"] = [](auto &, const KNode &n, const Args &a, DType t) {
      return let(a[0], computeType(t),
                 fn("fmax", t, "0, " + fn("fmin", t, "1, " + literal(t, attrF(n, "alpha", 0.2)) +
                                                         " * x + " +
                                                         literal(t, attrF(n, "beta", 0.5)))));
    };
    r["Gelu"] = [](auto &, const KNode &n, const Args &a, DType t) {
      std::string approx = n.attrs.getString("approximate", "none");
      if (approx == "tanh")
        return let(a[0], computeType(t),
                   literal(t, 0.5) + " * x * (1 + " +
                       fn("tanh", t, literal(t, 0.79788456080286535588) + " * (x + " +
                                         literal(t, 0.044715) + " * x * x * x)") + ")");
      return let(a[0], computeType(t),
                 literal(t, 0.5) + " * x * (1 + " +
                     fn("erf", t, "x / " + literal(t, 1.41421356237309504880)) + ")");
    };
    r["LeakyRelu"] = [](auto &, const KNode &n, const Args &a, DType t) {
      return let(a[0], computeType(t), "x < 0 ? " + literal(t, attrF(n, "alpha", 0.01)) + " * x : x");
    };
    r["Elu"] = [](auto &, const KNode &n, const Args &a, DType t) {
      return let(a[0], computeType(t), "x < 0 ? " + literal(t, attrF(n, "alpha", 1.0)) + " * (" +
                                           fn("exp", t, "x") + " - 1) : x");
    };
    r["Selu"] = [](auto &, const KNode &n, const Args &a, DType t) {
      std::string al = literal(t, attrF(n, "alpha", 1.67326319217681884765625));
      std::string ga = literal(t, attrF(n, "gamma", 1.05070102214813232421875));
      return let(a[0], computeType(t), "x <= 0 ? " + ga + " * (" + al + " * " + fn("exp", t, "x") +
                                           " - " + al + ") : " + ga + " * x");
    };
    r["Celu"] = [](auto &, const KNode &n, const Args &a, DType t) {
      std::string al = literal(t, attrF(n, "alpha", 1.0));
      return let(a[0], computeType(t), fn("fmax", t, "0, x") + " + " +
                                           fn("fmin", t, "0, " + al + " * (" +
                                                             fn("exp", t, "x / " + al) + " - 1)"));
    };
    r["ThresholdedRelu"] = [](auto &, const KNode &n, const Args &a, DType t) {
      return let(a[0], computeType(t), "x > " + literal(t, attrF(n, "alpha", 1.0)) + " ? x : 0");
    };
    r["Shrink"] = [](auto &, const KNode &n, const Args &a, DType t) {
      std::string l = literal(t, attrF(n, "lambd", 0.5)), b = literal(t, attrF(n, "bias", 0.0));
      return let(a[0], computeType(t), "x < -(" + l + ") ? x + " + b + " : (x > " + l + " ? x - " +
                                           b + " : " + literal(t, 0) + ")");
    };
    r["Swish"] = [](auto &, const KNode &n, const Args &a, DType t) { // opset 24
      return let(a[0], computeType(t),
                 "x / (" + literal(t, 1) + " + " +
                     fn("exp", t, "-(" + literal(t, attrF(n, "alpha", 1.0)) + ") * x") + ")");
    };
    r["IsNaN"] = [](auto &, auto &, const Args &a, DType) { return let(a[0], "auto", "x != x"); };
    r["IsInf"] = [](const KernelGraph &g, const KNode &n, const Args &a, DType) {
      bool neg = n.attrs.getInt("detect_negative", 1), pos = n.attrs.getInt("detect_positive", 1);
      std::string inf = literal(operandType(g, n, 0), INFINITY);
      std::string c = std::string("false") + (pos ? " || x == " + inf : "") +
                      (neg ? " || x == -" + inf : "");
      return let(a[0], "auto", c);
    };
    r["Not"] = [](auto &, auto &, const Args &a, DType) { return "(!" + a[0] + ")"; };
    // A cast to a float type narrower than the compute type rounds there (through its
    // storage), so the kernel's later ops see the value the model's tensor holds; to float8
    // with saturate (the default) finite overflow and infinities clamp to the largest value
    // first (without, they become infinity or NaN as the encoder gives them).
    r["Cast"] = [](const KernelGraph &g, const KNode &n, const Args &a, DType t) {
      if (t == DType::Bool)
        return "(" + a[0] + " != 0)";
      DType from = operandType(g, n, 0);
      if (isInteger(t) && computeType(from) != "long long" && computeType(from) != "bool")
        return floatToInteger(a[0], computeType(from), t);
      std::string x = "(" + computeType(t) + ")(" + a[0] + ")";
      if (isFloat8(t) && n.attrs.getInt("saturate", 1) != 0) {
        std::string m = literal(DType::F32, float8Max(t));
        x = let(x, "float", "x != x ? x : fminf(fmaxf(x, -" + m + "), " + m + ")");
      }
      if (t == DType::F8E8M0) {
        std::string mode = n.attrs.getString("round_mode", "up");
        if (mode != "up" && mode != "down" && mode != "nearest")
          codegenError(g, "node '" + n.name + "' (" + n.op + ") has round_mode '" + mode +
                              "' (up, down or nearest)");
        return loadAs(t, "plumb_to_e8m0(" + x + ", " + (n.attrs.getInt("saturate", 1) != 0 ? "1" : "0") +
                             ", " + (mode == "down" ? "1" : mode == "nearest" ? "2" : "0") + ")");
      }
      if (t == DType::F16 || t == DType::BF16 || isSmallFloat(t))
        x = loadAs(t, storeAs(t, x));
      return x;
    };
    r["CastLike"] = r["Cast"];
    r["Clip"] = [](const KernelGraph &g, const KNode &n, const Args &a, DType t) {
      std::string lo = a.size() > 1 ? a[1] : "", hi = a.size() > 2 ? a[2] : "";
      if (n.attrs.has("min"))
        lo = literal(t, n.attrs.getFloat("min", 0));
      if (n.attrs.has("max"))
        hi = literal(t, n.attrs.getFloat("max", 0));
      std::string body = "x";
      if (!lo.empty())
        body = "(" + body + " < " + lo + " ? " + lo + " : " + body + ")";
      if (!hi.empty())
        body = "(" + body + " > " + hi + " ? " + hi + " : " + body + ")";
      return let(a[0], computeType(t), body);
    };
    r["Add"] = infix("+");
    r["Sub"] = infix("-");
    r["Mul"] = infix("*");
    r["Div"] = infix("/");
    r["And"] = infix("&&");
    r["Or"] = infix("||");
    r["Xor"] = infix("!=");
    r["Equal"] = infix("==");
    r["Less"] = infix("<");
    r["Greater"] = infix(">");
    r["LessOrEqual"] = infix("<=");
    r["GreaterOrEqual"] = infix(">=");
    // Integers compute in long long: the bit patterns of the narrower types, and of uint64
    // (wrapped), are kept, and the store truncates as the type's own arithmetic would. Shifts
    // (ONNX's BitShift takes unsigned types only) run unsigned, so a right shift brings in
    // zeros.
    r["BitwiseAnd"] = infix("&");
    r["BitwiseOr"] = infix("|");
    r["BitwiseXor"] = infix("^");
    r["BitwiseNot"] = [](auto &, auto &, const Args &a, DType) { return "(~" + a[0] + ")"; };
    r["BitShift"] = [](auto &, const KNode &n, const Args &a, DType) {
      std::string dir = n.attrs.getString("direction", "") == "LEFT" ? " << " : " >> ";
      // A shift by the type's width or more gives 0, as in the reference (the store's
      // truncation does it below 64 bits).
      return "([&]() { unsigned long long x = (unsigned long long)" + a[0] +
             ", s = (unsigned long long)" + a[1] + "; return s >= 64ULL ? 0LL : (long long)(x" +
             dir + "s); }())";
    };
    r["Pow"] = [](const KernelGraph &g, const KNode &n, const Args &a, DType t) {
      std::string ct = computeType(t);
      if (ct == "long long")
        return "(long long)pow((double)" + a[0] + ", (double)" + a[1] + ")";
      return fn("pow", t, a[0] + ", (" + ct + ")" + a[1]);
    };
    r["Mod"] = [](auto &, const KNode &n, const Args &a, DType t) {
      std::string ct = computeType(t);
      if (ct != "long long")
        return fn("fmod", t, a[0] + ", " + a[1]);
      if (n.attrs.getInt("fmod", 0))
        return "(" + a[0] + " % " + a[1] + ")";
      // Python-style: the result takes the divisor's sign.
      return "([&]() { long long r = " + a[0] + " % " + a[1] + "; return (r != 0 && ((r < 0) != (" +
             a[1] + " < 0))) ? r + " + a[1] + " : r; }())";
    };
    r["PRelu"] = [](auto &, auto &, const Args &a, DType) {
      return "(" + a[0] + " < 0 ? " + a[1] + " * " + a[0] + " : " + a[0] + ")";
    };
    auto fold = [](const char *how) {
      return [how](const KernelGraph &, const KNode &n, const Args &a, DType t) {
        std::string ct = computeType(t), acc = a[0];
        for (size_t i = 1; i < a.size(); ++i) {
          if (std::strcmp(how, "max") == 0 || std::strcmp(how, "min") == 0) {
            // A NaN on the left propagates; one on the right is taken by the final `: q`.
            std::string cmp = std::strcmp(how, "max") == 0 ? ">" : "<";
            acc = "([&]() { " + ct + " p = " + acc + ", q = " + a[i] + "; return (p != p || p " +
                  cmp + " q) ? p : q; }())";
          } else {
            acc = "(" + acc + " + " + a[i] + ")";
          }
        }
        if (std::strcmp(how, "mean") == 0)
          acc = "(" + acc + " / " + literal(t, double(a.size())) + ")";
        return acc;
      };
    };
    r["Max"] = fold("max");
    r["Min"] = fold("min");
    r["Sum"] = fold("sum");
    r["Mean"] = fold("mean");
    r["Where"] = [](auto &, auto &, const Args &a, DType) {
      return "(" + a[0] + " ? " + a[1] + " : " + a[2] + ")";
    };
    return r;
  }();
  return table;
}

} // namespace

bool isSupportedElementwise(const std::string &op) { return rules().count(op) != 0; }

std::string emitElementwise(const KernelGraph &g, const KNode &node, const Args &args) {
  auto it = rules().find(node.op);
  if (it == rules().end())
    throw Error("cuda codegen: node '" + node.name + "' (" + node.op +
                ") has no CUDA kernel generator rule (fusion '" + g.kind + "' over [" + g.label +
                "])");
  if (node.results.size() != 1)
    throw Error("cuda codegen: node '" + node.name + "' (" + node.op + ") has " +
                std::to_string(node.results.size()) + " results; generated kernels take one");
  return it->second(g, node, args, g.values[size_t(node.results[0])].dtype);
}

} // namespace plumb::cuda
