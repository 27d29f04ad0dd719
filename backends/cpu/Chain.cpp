// cpu.chain: a fusion's elementwise ops (and reductions over the last axis) run as one
// program, tile by tile, so that no intermediate tensor is written to memory. The program is
// a list of instructions over registers: registers 0..I-1 are the step's inputs (broadcast to
// the chain's shape by numpy's rules), register I+k the result of instruction k.
//
// Two ways to walk the chain's shape S:
// - flat: no reduction, every output of shape S. Trailing dims are merged into one row as far
//   as every input is either dense over them or constant over them; rows are cut in tiles.
// - rows: some instruction reduces the last axis (or an output has S's shape with the last dim
//   1). A row is the last axis, whole; a register holds a row or one value per row.
// In both, a register is "wide" (one value per element of the tile) or "narrow" (one value for
// the whole tile), and instructions broadcast narrow operands.
//
// Attributes: shape (S), ops (instruction names), args (3 registers per instruction, -1 for
// none), params (2 floats per instruction), outs (the register of each output).
#include "backends/cpu/Kernels.h"

#include "backends/cpu/Avx2Math.h"
#include "backends/cpu/VecMath.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

namespace plumb::cpu {

namespace {

struct Params {
  float a = 0, b = 0;
};

// One operand of an instruction over a tile: stride 1 (wide) or 0 (narrow).
struct Operand {
  const float *p = nullptr;
  int64_t stride = 0;
};

// Each op: kArity operands, s() on floats, and v() on 8 lanes when kVec. Booleans are 0 or 1.
#ifdef PLUMB_X86
#define PLUMB_LANES(expr)                                                                          \
  static constexpr bool kVec = true;                                                               \
  PLUMB_AVX2 static __m256 v(const __m256 *x, const Params &p) {                                   \
    (void)p;                                                                                       \
    return expr;                                                                                   \
  }
#else
#define PLUMB_LANES(expr) static constexpr bool kVec = false;
#endif
#define PLUMB_SCALAR_ONLY static constexpr bool kVec = false;

#define PLUMB_OP(Name, arity, scalar, lanes)                                                       \
  struct Name {                                                                                    \
    static constexpr int kArity = arity;                                                           \
    static float s(const float *x, const Params &p) {                                              \
      (void)p;                                                                                     \
      return scalar;                                                                               \
    }                                                                                              \
    lanes                                                                                          \
  };

#ifdef PLUMB_X86
PLUMB_AVX2 inline __m256 one256() { return _mm256_set1_ps(1.f); }
PLUMB_AVX2 inline __m256 mask01(__m256 m) { return _mm256_and_ps(m, one256()); }
PLUMB_AVX2 inline __m256 nonzero(__m256 x) {
  return _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NEQ_UQ);
}
#endif

float softplus(float x) { return std::max(x, 0.f) + std::log1p(std::exp(-std::abs(x))); }
float sign(float x) { return std::isnan(x) ? x : x > 0 ? 1.f : x < 0 ? -1.f : 0.f; }
float geluErf(float x) { return 0.5f * x * (1.f + std::erf(x * 0.70710678118654752f)); }
float hardSigmoid(float x, float a, float b) { return std::max(0.f, std::min(1.f, a * x + b)); }
float libmSin(float x) { return std::sin(x); }
float libmCos(float x) { return std::cos(x); }

// clang-format off
PLUMB_OP(Add, 2, x[0] + x[1], PLUMB_LANES(_mm256_add_ps(x[0], x[1])))
PLUMB_OP(Sub, 2, x[0] - x[1], PLUMB_LANES(_mm256_sub_ps(x[0], x[1])))
PLUMB_OP(Mul, 2, x[0] * x[1], PLUMB_LANES(_mm256_mul_ps(x[0], x[1])))
PLUMB_OP(Div, 2, x[0] / x[1], PLUMB_LANES(_mm256_div_ps(x[0], x[1])))
PLUMB_OP(Max, 2, std::max(x[0], x[1]), PLUMB_LANES(_mm256_max_ps(x[1], x[0])))
PLUMB_OP(Min, 2, std::min(x[0], x[1]), PLUMB_LANES(_mm256_min_ps(x[1], x[0])))
PLUMB_OP(Pow, 2, std::pow(x[0], x[1]), PLUMB_SCALAR_ONLY)
PLUMB_OP(Square, 1, x[0] * x[0], PLUMB_LANES(_mm256_mul_ps(x[0], x[0])))
PLUMB_OP(Identity, 1, x[0], PLUMB_LANES(x[0]))
PLUMB_OP(Neg, 1, -x[0], PLUMB_LANES(_mm256_xor_ps(x[0], _mm256_set1_ps(-0.f))))
PLUMB_OP(Abs, 1, std::abs(x[0]), PLUMB_LANES(_mm256_andnot_ps(_mm256_set1_ps(-0.f), x[0])))
// x < 0 ? 0 : x, so that NaN passes through (as the reference kernel).
PLUMB_OP(Relu, 1, x[0] < 0 ? 0.f : x[0],
         PLUMB_LANES(_mm256_andnot_ps(_mm256_cmp_ps(x[0], _mm256_setzero_ps(), _CMP_LT_OQ), x[0])))
PLUMB_OP(Sqrt, 1, std::sqrt(x[0]), PLUMB_LANES(_mm256_sqrt_ps(x[0])))
PLUMB_OP(Reciprocal, 1, 1.f / x[0], PLUMB_LANES(_mm256_div_ps(one256(), x[0])))
PLUMB_OP(Floor, 1, std::floor(x[0]),
         PLUMB_LANES(_mm256_round_ps(x[0], _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)))
PLUMB_OP(Ceil, 1, std::ceil(x[0]),
         PLUMB_LANES(_mm256_round_ps(x[0], _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC)))
PLUMB_OP(Round, 1, std::nearbyint(x[0]),
         PLUMB_LANES(_mm256_round_ps(x[0], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)))
PLUMB_OP(Exp, 1, std::exp(x[0]), PLUMB_LANES(vec::exp256(x[0])))
PLUMB_OP(Sigmoid, 1, 1.f / (1.f + std::exp(-x[0])),
         PLUMB_LANES(_mm256_div_ps(one256(), _mm256_add_ps(one256(),
                                   vec::exp256(_mm256_xor_ps(x[0], _mm256_set1_ps(-0.f)))))))
PLUMB_OP(Gelu, 1, geluErf(x[0]), PLUMB_LANES(vec::geluErf256(x[0])))
PLUMB_OP(GeluTanh, 1, vec::geluTanh(x[0]), PLUMB_LANES(vec::geluTanh256(x[0])))
PLUMB_OP(Clip, 1, std::min(std::max(x[0], p.a), p.b),
         PLUMB_LANES(_mm256_min_ps(_mm256_max_ps(x[0], _mm256_set1_ps(p.a)), _mm256_set1_ps(p.b))))
PLUMB_OP(LeakyRelu, 1, x[0] < 0 ? p.a * x[0] : x[0],
         PLUMB_LANES(_mm256_blendv_ps(x[0], _mm256_mul_ps(x[0], _mm256_set1_ps(p.a)),
                                      _mm256_cmp_ps(x[0], _mm256_setzero_ps(), _CMP_LT_OQ))))
PLUMB_OP(HardSigmoid, 1, hardSigmoid(x[0], p.a, p.b),
         PLUMB_LANES(_mm256_max_ps(_mm256_setzero_ps(), _mm256_min_ps(one256(),
             _mm256_fmadd_ps(x[0], _mm256_set1_ps(p.a), _mm256_set1_ps(p.b))))))
PLUMB_OP(HardSwish, 1, x[0] * hardSigmoid(x[0], 1.f / 6.f, 0.5f),
         PLUMB_LANES(_mm256_mul_ps(x[0], _mm256_max_ps(_mm256_setzero_ps(), _mm256_min_ps(one256(),
             _mm256_fmadd_ps(x[0], _mm256_set1_ps(1.f / 6.f), _mm256_set1_ps(0.5f)))))))
PLUMB_OP(Log, 1, std::log(x[0]), PLUMB_LANES(vec::log256(x[0])))
PLUMB_OP(Sin, 1, std::sin(x[0]), PLUMB_LANES(vec::sinCos256<false>(x[0], libmSin)))
PLUMB_OP(Cos, 1, std::cos(x[0]), PLUMB_LANES(vec::sinCos256<true>(x[0], libmCos)))
PLUMB_OP(Tanh, 1, std::tanh(x[0]), PLUMB_LANES(vec::tanh256(x[0])))
PLUMB_OP(Erf, 1, std::erf(x[0]), PLUMB_LANES(vec::erf256(x[0])))
PLUMB_OP(Softplus, 1, softplus(x[0]), PLUMB_LANES(vec::softplus256(x[0])))
PLUMB_OP(Mish, 1, x[0] * std::tanh(softplus(x[0])), PLUMB_LANES(vec::mish256(x[0])))
PLUMB_OP(Sign, 1, sign(x[0]), PLUMB_SCALAR_ONLY)
PLUMB_OP(Elu, 1, x[0] < 0 ? p.a * std::expm1(x[0]) : x[0], PLUMB_SCALAR_ONLY)
PLUMB_OP(Equal, 2, float(x[0] == x[1]), PLUMB_LANES(mask01(_mm256_cmp_ps(x[0], x[1], _CMP_EQ_OQ))))
PLUMB_OP(Less, 2, float(x[0] < x[1]), PLUMB_LANES(mask01(_mm256_cmp_ps(x[0], x[1], _CMP_LT_OQ))))
PLUMB_OP(LessOrEqual, 2, float(x[0] <= x[1]),
         PLUMB_LANES(mask01(_mm256_cmp_ps(x[0], x[1], _CMP_LE_OQ))))
PLUMB_OP(Greater, 2, float(x[0] > x[1]), PLUMB_LANES(mask01(_mm256_cmp_ps(x[0], x[1], _CMP_GT_OQ))))
PLUMB_OP(GreaterOrEqual, 2, float(x[0] >= x[1]),
         PLUMB_LANES(mask01(_mm256_cmp_ps(x[0], x[1], _CMP_GE_OQ))))
PLUMB_OP(Not, 1, float(x[0] == 0), PLUMB_LANES(mask01(_mm256_cmp_ps(x[0], _mm256_setzero_ps(), _CMP_EQ_OQ))))
PLUMB_OP(And, 2, float(x[0] != 0 && x[1] != 0),
         PLUMB_LANES(mask01(_mm256_and_ps(nonzero(x[0]), nonzero(x[1])))))
PLUMB_OP(Or, 2, float(x[0] != 0 || x[1] != 0),
         PLUMB_LANES(mask01(_mm256_or_ps(nonzero(x[0]), nonzero(x[1])))))
PLUMB_OP(Where, 3, x[0] != 0 ? x[1] : x[2], PLUMB_LANES(_mm256_blendv_ps(x[2], x[1], nonzero(x[0]))))
// clang-format on

using Loop = void (*)(float *d, const Operand *o, int64_t n, const Params &p);

#ifdef PLUMB_X86
template <class F>
PLUMB_AVX2 int64_t lanesLoop(float *d, const Operand *o, int64_t n, const Params &p) {
  __m256 bc[F::kArity];
  for (int k = 0; k < F::kArity; ++k)
    bc[k] = _mm256_set1_ps(o[k].p[0]);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 x[F::kArity];
    for (int k = 0; k < F::kArity; ++k)
      x[k] = o[k].stride ? _mm256_loadu_ps(o[k].p + i) : bc[k];
    _mm256_storeu_ps(d + i, F::v(x, p));
  }
  return i;
}
#endif

template <class F> void loop(float *d, const Operand *o, int64_t n, const Params &p) {
  int64_t i = 0;
#ifdef PLUMB_X86
  if constexpr (F::kVec)
    if (vec::hasAvx2())
      i = lanesLoop<F>(d, o, n, p);
#endif
  for (; i < n; ++i) {
    float x[F::kArity];
    for (int k = 0; k < F::kArity; ++k)
      x[k] = o[k].p[o[k].stride * i];
    d[i] = F::s(x, p);
  }
}

// Register types: f32, bool (0 or 1), an integer input (converted to f32 as it is read;
// only Cast takes it). Any: an operand of any of them.
enum class Arg { F32, Bool, Int, Any };
enum class Reduce { None, Sum, Mean, Max, Min };

struct OpInfo {
  int arity;
  Loop run;
  Arg result;
  Arg args[3];
  Reduce reduce = Reduce::None;
};

template <class F> OpInfo math() { return {F::kArity, loop<F>, Arg::F32, {Arg::F32, Arg::F32, Arg::F32}}; }
template <class F> OpInfo compare() { return {2, loop<F>, Arg::Bool, {Arg::F32, Arg::F32}}; }
template <class F> OpInfo logic() { return {F::kArity, loop<F>, Arg::Bool, {Arg::Bool, Arg::Bool}}; }
OpInfo reduction(Reduce r) { return {1, nullptr, Arg::F32, {Arg::F32}, r}; }

const std::map<std::string, OpInfo> &opTable() {
  static const std::map<std::string, OpInfo> t = {
      {"Add", math<Add>()}, {"Sub", math<Sub>()}, {"Mul", math<Mul>()}, {"Div", math<Div>()},
      {"Max", math<Max>()}, {"Min", math<Min>()}, {"Pow", math<Pow>()},
      {"Square", math<Square>()}, {"Identity", math<Identity>()}, {"Neg", math<Neg>()},
      {"Abs", math<Abs>()}, {"Relu", math<Relu>()}, {"Sqrt", math<Sqrt>()},
      {"Reciprocal", math<Reciprocal>()}, {"Floor", math<Floor>()}, {"Ceil", math<Ceil>()},
      {"Round", math<Round>()}, {"Exp", math<Exp>()}, {"Sigmoid", math<Sigmoid>()},
      {"Gelu", math<Gelu>()}, {"GeluTanh", math<GeluTanh>()}, {"Clip", math<Clip>()},
      {"LeakyRelu", math<LeakyRelu>()}, {"HardSigmoid", math<HardSigmoid>()},
      {"HardSwish", math<HardSwish>()}, {"Log", math<Log>()}, {"Sin", math<Sin>()},
      {"Cos", math<Cos>()}, {"Tanh", math<Tanh>()}, {"Erf", math<Erf>()},
      {"Softplus", math<Softplus>()}, {"Mish", math<Mish>()}, {"Sign", math<Sign>()}, {"Elu", math<Elu>()},
      {"Equal", compare<Equal>()}, {"Less", compare<Less>()},
      {"LessOrEqual", compare<LessOrEqual>()}, {"Greater", compare<Greater>()},
      {"GreaterOrEqual", compare<GreaterOrEqual>()}, {"Not", logic<Not>()},
      {"And", logic<And>()}, {"Or", logic<Or>()},
      {"Where", {3, loop<Where>, Arg::F32, {Arg::Bool, Arg::F32, Arg::F32}}},
      {"Cast", {1, loop<Identity>, Arg::F32, {Arg::Any}}}, // to f32: the value as read
      {"ReduceSum", reduction(Reduce::Sum)}, {"ReduceMean", reduction(Reduce::Mean)},
      {"ReduceMax", reduction(Reduce::Max)}, {"ReduceMin", reduction(Reduce::Min)},
  };
  return t;
}

// A whole row (n values, or one value standing for n when narrow) reduced to one value.
float reduceRow(Reduce r, const Operand &x, int64_t n) {
  if (!x.stride) // a row-constant operand
    return r == Reduce::Sum ? x.p[0] * float(n) : x.p[0];
  if (r == Reduce::Max || r == Reduce::Min) {
    float m = x.p[0];
    for (int64_t i = 1; i < n; ++i)
      m = r == Reduce::Max ? std::max(m, x.p[i]) : std::min(m, x.p[i]);
    return m;
  }
  // Eight interleaved partial sums (pairwise-ish, vectorisable) in double.
  double acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k)
      acc[k] += x.p[i + k];
  for (; i < n; ++i)
    acc[0] += x.p[i];
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  return float(r == Reduce::Mean ? s / double(n) : s);
}

struct Instr {
  const OpInfo *op;
  int args[3];
  Params p;
};

struct Input {
  DType dtype = DType::F32;
  int64_t rowStride = 0;             // 1: dense along the row; 0: one value per row
  std::vector<int64_t> outerStrides; // per outer dim, 0 where broadcast
};

const int64_t kTile = 1024; // flat chains: elements per tile (all registers stay in L1/L2)

class ChainKernel final : public RuntimeKernel {
public:
  explicit ChainKernel(const KernelArgs &a) {
    const ref::Attrs &at = a.attrs();
    shape_ = at.getInts("shape", {});
    for (int64_t d : shape_)
      if (d < 0)
        a.fail("cpu.chain: negative dim in attrs 'shape'");
    std::vector<std::string> ops;
    if (const ref::AttrValue *v = at.find("ops"))
      ops = v->strings;
    std::vector<int64_t> args = at.getInts("args", {}), outs = at.getInts("outs", {});
    std::vector<double> params = at.getFloats("params", {});
    if (ops.empty() || args.size() != 3 * ops.size() || params.size() != 2 * ops.size())
      a.fail("cpu.chain: attrs need ops, 3 args and 2 params per op");
    size_t nIn = a.in.size(), nReg = nIn + ops.size();
    std::vector<Arg> kind(nReg);
    std::vector<bool> wide(nReg);
    bool rows = false;
    for (size_t i = 0; i < nIn; ++i) {
      const BufferInfo &b = a.input(i);
      if (b.dtype != DType::F32 && b.dtype != DType::Bool && b.dtype != DType::I64 &&
          b.dtype != DType::I32)
        a.fail("cpu.chain: input " + std::to_string(i) + " must be f32, bool, i64 or i32");
      if (!broadcastsTo(b.shape, shape_))
        a.fail("cpu.chain: input " + std::to_string(i) + " " + shapeToString(b.shape) +
               " does not broadcast to " + shapeToString(shape_));
      kind[i] = b.dtype == DType::Bool ? Arg::Bool : b.dtype == DType::F32 ? Arg::F32 : Arg::Int;
    }
    for (size_t k = 0; k < ops.size(); ++k) {
      auto it = opTable().find(ops[k]);
      if (it == opTable().end())
        a.fail("cpu.chain: unknown op '" + ops[k] + "'");
      Instr in{&it->second, {-1, -1, -1}, {float(params[2 * k]), float(params[2 * k + 1])}};
      for (int j = 0; j < 3; ++j) {
        int64_t r = args[3 * k + size_t(j)];
        bool used = j < in.op->arity;
        if (used ? (r < 0 || r >= int64_t(nIn + k)) : r != -1)
          a.fail("cpu.chain: op " + std::to_string(k) + " (" + ops[k] + ") has a bad operand");
        if (used && in.op->args[j] != Arg::Any && kind[size_t(r)] != in.op->args[j])
          a.fail("cpu.chain: op " + std::to_string(k) + " (" + ops[k] + ") operand " +
                 std::to_string(j) + " has the wrong type");
        in.args[j] = int(r);
      }
      kind[nIn + k] = in.op->result;
      rows |= in.op->reduce != Reduce::None;
      prog_.push_back(in);
    }
    if (outs.size() != a.out.size())
      a.fail("cpu.chain: attrs 'outs' must name one register per output");
    Shape rowShape = shape_;
    if (!rowShape.empty())
      rowShape.back() = 1;
    for (size_t j = 0; j < outs.size(); ++j) {
      const BufferInfo &b = a.output(j);
      if (outs[j] < 0 || outs[j] >= int64_t(nReg))
        a.fail("cpu.chain: output " + std::to_string(j) + " names no register");
      if (b.dtype != (kind[size_t(outs[j])] == Arg::Bool ? DType::Bool : DType::F32))
        a.fail("cpu.chain: output " + std::to_string(j) + " has the wrong type");
      if (b.shape != shape_ && !(b.shape == rowShape && !shape_.empty()))
        a.fail("cpu.chain: output " + std::to_string(j) + " " + shapeToString(b.shape) +
               " is neither " + shapeToString(shape_) + " nor " + shapeToString(rowShape));
      rows |= b.shape != shape_;
      outs_.push_back({int(outs[j]), b.shape != shape_});
    }
    checkLayouts(a, rows);
    walk(a, rows);
    // Widths: an input is wide when dense along the row; an op when any operand is (a
    // reduction gives one value per row).
    for (size_t i = 0; i < nIn; ++i)
      wide[i] = inputs_[i].rowStride == 1;
    for (size_t k = 0; k < prog_.size(); ++k) {
      bool w = false;
      for (int j = 0; j < prog_[k].op->arity; ++j)
        w = w || wide[size_t(prog_[k].args[j])];
      wide[nIn + k] = w && prog_[k].op->reduce == Reduce::None;
    }
    for (const Out &o : outs_)
      if (o.rowShaped && wide[size_t(o.reg)])
        a.fail("cpu.chain: output register " + std::to_string(o.reg) +
               " has a value per element, not per row");
    wide_ = wide;
    nIn_ = nIn;
  }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    int64_t items = outer_ * tiles_;
    auto body = [&](std::vector<float> &scratch, int64_t lo, int64_t hi) {
      std::vector<const float *> reg(wide_.size());
      for (int64_t w = lo; w < hi; ++w)
        runItem(w, in, out, scratch, reg);
    };
    if (outer_ * row_ < 32768 || omp_get_max_threads() == 1) {
      std::vector<float> scratch(wide_.size() * size_t(tile_));
      body(scratch, 0, items);
      return;
    }
#pragma omp parallel
    {
      std::vector<float> scratch(wide_.size() * size_t(tile_));
      int nt = omp_get_num_threads(), t = omp_get_thread_num();
      int64_t per = (items + nt - 1) / nt;
      body(scratch, std::min(items, per * t), std::min(items, per * (t + 1)));
    }
  }

private:
  struct Out {
    int reg;
    bool rowShaped;
  };

  // Plain tensors, or any one layout for a program that is per element: no reduction, every
  // input of the chain's shape (then stored like the outputs) or a single value.
  void checkLayouts(const KernelArgs &a, bool rows) {
    std::vector<const BufferInfo *> full;
    bool plain = true, perElement = !rows;
    for (const BufferInfo &b : a.in) {
      if (b.shape == shape_)
        full.push_back(&b);
      else
        perElement &= numElements(b.shape) == 1 && b.layout == Layout::Plain;
    }
    for (const BufferInfo &b : a.out)
      full.push_back(&b);
    for (const BufferInfo *b : full)
      plain &= b->layout == Layout::Plain;
    if (plain)
      return;
    if (!perElement)
      a.fail("cpu.chain: a program with reductions or broadcasts runs on plain tensors only");
    sameLayout(full, "cpu.chain");
  }

  // Decides the row (merged trailing dims, or the last axis) and every input's strides.
  void walk(const KernelArgs &a, bool rows) {
    size_t r = shape_.size();
    std::vector<Shape> aligned;
    for (size_t i = 0; i < a.in.size(); ++i)
      aligned.push_back(rightAlign(a.input(i).shape, r));
    auto uniform = [&](size_t from) { // every input dense or constant over dims [from, r)
      for (const Shape &s : aligned) {
        bool dense = true, constant = true;
        for (size_t d = from; d < r; ++d)
          dense &= s[d] == shape_[d], constant &= s[d] == 1;
        if (!dense && !constant)
          return false;
      }
      return true;
    };
    size_t k = r == 0 ? 0 : r - 1;
    if (!rows)
      while (k > 0 && uniform(k - 1))
        --k;
    row_ = 1;
    for (size_t d = k; d < r; ++d)
      row_ *= shape_[d];
    outerDims_.assign(shape_.begin(), shape_.begin() + std::ptrdiff_t(k));
    outer_ = numElements(outerDims_);
    tile_ = rows ? std::max<int64_t>(row_, 1) : std::min(std::max<int64_t>(row_, 1), kTile);
    tiles_ = rows || row_ == 0 ? 1 : (row_ + tile_ - 1) / tile_;
    if (row_ == 0)
      outer_ = 0;
    for (size_t i = 0; i < aligned.size(); ++i) {
      const Shape &s = aligned[i];
      Input in;
      in.dtype = a.input(i).dtype;
      bool dense = true;
      for (size_t d = k; d < r; ++d)
        dense &= s[d] == shape_[d];
      in.rowStride = dense && row_ > 1 ? 1 : 0;
      int64_t stride = 1;
      for (size_t d = k; d < r; ++d)
        stride *= s[d];
      in.outerStrides.assign(k, 0);
      for (size_t d = k; d-- > 0;) {
        in.outerStrides[d] = s[d] == 1 ? 0 : stride;
        stride *= s[d];
      }
      inputs_.push_back(in);
    }
  }

  void runItem(int64_t w, const std::vector<const Tensor *> &in, std::vector<Tensor *> &out,
               std::vector<float> &scratch, std::vector<const float *> &reg) {
    int64_t o = w / tiles_, t = w % tiles_;
    int64_t start = t * tile_, n = std::min(tile_, row_ - start);
    // The outer multi-index of row o, folded into every input's offset.
    std::vector<int64_t> off(inputs_.size(), 0);
    for (size_t d = outerDims_.size(), rest = size_t(o); d-- > 0;) {
      size_t idx = rest % size_t(outerDims_[d]);
      rest /= size_t(outerDims_[d]);
      for (size_t i = 0; i < inputs_.size(); ++i)
        off[i] += int64_t(idx) * inputs_[i].outerStrides[d];
    }
    auto slot = [&](size_t r) { return scratch.data() + r * size_t(tile_); };
    for (size_t i = 0; i < nIn_; ++i) {
      const Input &x = inputs_[i];
      int64_t first = off[i] + start * x.rowStride, count = x.rowStride ? n : 1;
      float *f = slot(i);
      switch (x.dtype) {
      case DType::Bool:
        for (int64_t e = 0; e < count; ++e)
          f[e] = in[i]->data<uint8_t>()[first + e] ? 1.f : 0.f;
        break;
      case DType::I64:
        for (int64_t e = 0; e < count; ++e)
          f[e] = float(in[i]->data<int64_t>()[first + e]);
        break;
      case DType::I32:
        for (int64_t e = 0; e < count; ++e)
          f[e] = float(in[i]->data<int32_t>()[first + e]);
        break;
      default:
        f = const_cast<float *>(in[i]->data<float>()) + first; // read in place
      }
      reg[i] = f;
    }
    // Wide f32 outputs computed by an op are written in place; the rest are copied below.
    std::vector<float *> direct(prog_.size(), nullptr);
    for (size_t j = 0; j < outs_.size(); ++j) {
      size_t r = size_t(outs_[j].reg);
      if (r >= nIn_ && wide_[r] && !outs_[j].rowShaped && out[j]->dtype() == DType::F32 &&
          !direct[r - nIn_])
        direct[r - nIn_] = out[j]->mutableData<float>() + o * row_ + start;
    }
    for (size_t k = 0; k < prog_.size(); ++k) {
      const Instr &ins = prog_[k];
      size_t r = nIn_ + k;
      float *d = direct[k] ? direct[k] : slot(r);
      Operand ops[3];
      for (int j = 0; j < ins.op->arity; ++j)
        ops[j] = {reg[size_t(ins.args[j])], wide_[size_t(ins.args[j])] ? 1 : 0};
      if (ins.op->reduce != Reduce::None)
        d[0] = reduceRow(ins.op->reduce, ops[0], n);
      else
        ins.op->run(d, ops, wide_[r] ? n : 1, ins.p);
      reg[r] = d;
    }
    for (size_t j = 0; j < outs_.size(); ++j) {
      size_t r = size_t(outs_[j].reg);
      const float *v = reg[r];
      if (r >= nIn_ && direct[r - nIn_] == v)
        continue;
      int64_t at = outs_[j].rowShaped ? o : o * row_ + start, count = outs_[j].rowShaped ? 1 : n;
      bool w = wide_[r];
      if (out[j]->dtype() == DType::Bool) {
        uint8_t *b = out[j]->mutableData<uint8_t>() + at;
        for (int64_t e = 0; e < count; ++e)
          b[e] = v[w ? e : 0] != 0;
      } else if (w) {
        std::memcpy(out[j]->mutableData<float>() + at, v, size_t(count) * sizeof(float));
      } else {
        std::fill_n(out[j]->mutableData<float>() + at, count, v[0]);
      }
    }
  }

  Shape shape_, outerDims_;
  int64_t row_ = 1, outer_ = 1, tile_ = 1, tiles_ = 1;
  size_t nIn_ = 0;
  std::vector<Input> inputs_;
  std::vector<Instr> prog_;
  std::vector<Out> outs_;
  std::vector<bool> wide_;
};

} // namespace

std::unique_ptr<RuntimeKernel> makeChainKernel(const KernelArgs &a) {
  return std::make_unique<ChainKernel>(a);
}

} // namespace plumb::cpu
