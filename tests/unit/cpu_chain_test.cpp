// cpu.chain against the reference kernels of the ONNX ops its instructions stand for: every
// instruction over a table of broadcast patterns (dense, per-row, outer-broadcast, scalar;
// shapes small, tiled and large enough to run threaded), then whole programs as the lowering
// emits them (RMSNorm in rows, a softmax with per-row outputs, RoPE, Mamba2's masked exp,
// bool outputs), and malformed programs refused with one line.
#include "tests/unit/CpuKernelHarness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <sstream>

using namespace plumb;
using namespace plumb::cputest;

namespace {

struct Program {
  std::string label;
  Shape shape;
  std::vector<Tensor> inputs;
  struct Instr {
    Instr(std::string o, std::initializer_list<int64_t> a, std::array<float, 2> p = {0, 0})
        : op(std::move(o)), params(p) {
      std::copy(a.begin(), a.end(), args.begin());
    }
    std::string op;
    std::array<int64_t, 3> args{-1, -1, -1}; // registers; -1 past the op's arity
    std::array<float, 2> params;
  };
  std::vector<Instr> code;
  std::vector<int64_t> outs;
  std::vector<Shape> outShapes;
};

ref::Attrs attrsOf(const Program &p) {
  ref::Attrs at;
  std::vector<std::string> ops;
  std::vector<int64_t> args;
  std::vector<double> params;
  for (const Program::Instr &i : p.code) {
    ops.push_back(i.op);
    args.insert(args.end(), i.args.begin(), i.args.end());
    params.insert(params.end(), i.params.begin(), i.params.end());
  }
  at.set("shape", intsAttr(p.shape));
  at.set("ops", stringsAttr(ops));
  at.set("args", intsAttr(args));
  at.set("params", floatsAttr(params));
  at.set("outs", intsAttr(p.outs));
  return at;
}

// The program's registers evaluated with the reference kernels, one ONNX op per instruction.
std::vector<Tensor> reference(const Program &p) {
  std::vector<Tensor> reg = p.inputs;
  Tensor shape = Tensor::fromVector<int64_t>(DType::I64, {int64_t(p.shape.size())}, p.shape);
  for (const Program::Instr &i : p.code) {
    std::vector<const Tensor *> a;
    for (int64_t r : i.args)
      if (r >= 0)
        a.push_back(&reg[size_t(r)]);
    ref::Attrs at;
    std::string op = i.op;
    Tensor lo = Tensor::scalarF32(i.params[0]), hi = Tensor::scalarF32(i.params[1]);
    if (op == "Square") {
      a.push_back(a[0]);
      op = "Mul";
    } else if (op == "GeluTanh") {
      at.set("approximate", stringAttr("tanh"));
      op = "Gelu";
    } else if (op == "Identity") {
      a.push_back(&shape);
      op = "Expand";
    } else if (op == "Clip") {
      a.insert(a.end(), {&lo, &hi});
    } else if (op == "LeakyRelu" || op == "Elu" || op == "HardSigmoid") {
      at.set("alpha", floatAttr(i.params[0]));
      if (op == "HardSigmoid")
        at.set("beta", floatAttr(i.params[1]));
    } else if (op == "Cast") {
      at.set("to", intAttr(1)); // FLOAT
    } else if (op.rfind("Reduce", 0) == 0) {
      at.set("axes", intsAttr({-1}));
      at.set("keepdims", intAttr(1));
    }
    reg.push_back(refOp(op, a, at));
  }
  std::vector<Tensor> outs;
  for (size_t j = 0; j < p.outs.size(); ++j) {
    Tensor t = reg[size_t(p.outs[j])];
    if (t.shape() != p.outShapes[j]) {
      Tensor s = Tensor::fromVector<int64_t>(DType::I64, {int64_t(p.outShapes[j].size())}, p.outShapes[j]);
      t = refOp("Expand", {&t, &s});
    }
    outs.push_back(t);
  }
  return outs;
}

std::unique_ptr<RuntimeKernel> prepare(const Program &p) {
  Step step;
  step.kernel = "cpu.chain";
  step.attrs = attrsOf(p);
  std::vector<BufferInfo> ins, outs;
  std::vector<const Tensor *> constants;
  for (const Tensor &t : p.inputs) {
    ins.push_back({true, t.dtype(), t.shape(), "", Layout::Plain});
    constants.push_back(nullptr);
  }
  std::vector<Tensor> want = reference(p);
  for (size_t j = 0; j < p.outs.size(); ++j)
    outs.push_back({true, want[j].dtype(), p.outShapes[j], "", Layout::Plain});
  return (*cpu::cpuKernelRegistry().find("cpu.chain"))(step, ins, outs, constants);
}

// Runs twice (a prepared kernel must be re-runnable and deterministic) and compares each
// output with the reference: bools exactly, floats within `tol` * (1 + |ref|).
void check(const Program &p, double tol) {
  SCOPED_TRACE(p.label);
  std::vector<Tensor> want = reference(p);
  std::unique_ptr<RuntimeKernel> k = prepare(p);
  std::vector<const Tensor *> in;
  for (const Tensor &t : p.inputs)
    in.push_back(&t);
  for (int rep = 0; rep < 2; ++rep) {
    std::vector<Tensor> got;
    std::vector<Tensor *> out;
    for (const Tensor &w : want)
      got.push_back(Tensor::empty(w.dtype(), w.shape()));
    for (Tensor &g : got)
      out.push_back(&g);
    k->run(in, out);
    for (size_t j = 0; j < want.size(); ++j) {
      SCOPED_TRACE("output " + std::to_string(j) + ", run " + std::to_string(rep));
      if (want[j].dtype() == DType::Bool)
        EXPECT_EQ(std::memcmp(got[j].raw(), want[j].raw(), want[j].nbytes()), 0);
      else
        expectClose(got[j], want[j], tol);
    }
  }
}

Tensor randomBool(Shape shape, unsigned seed) {
  Tensor r = randomF32(shape, seed);
  Tensor b = Tensor::empty(DType::Bool, shape);
  for (int64_t i = 0; i < r.numel(); ++i)
    b.mutableData<uint8_t>()[i] = r.data<float>()[i] > 0;
  return b;
}

// Operands of each arity, with the chain's shape, over sizes that exercise one tile, tile
// tails (1300 = 1024 + 276) and the threaded path (48000 elements).
struct Pattern {
  Shape shape;
  std::vector<Shape> operands;
};

std::vector<Pattern> patterns(int arity) {
  if (arity == 1)
    return {{{3, 5, 17}, {{3, 5, 17}}}, {{}, {{}}}, {{4, 1300}, {{4, 1300}}},
            {{2, 3, 8, 1000}, {{2, 3, 8, 1000}}}};
  if (arity == 2)
    return {{{3, 5, 17}, {{3, 5, 17}, {3, 5, 17}}}, {{3, 5, 17}, {{3, 5, 17}, {3, 5, 1}}},
            {{3, 5, 17}, {{5, 17}, {3, 5, 17}}},    {{3, 5, 17}, {{3, 5, 17}, {}}},
            {{3, 5, 17}, {{3, 1, 17}, {1, 5, 1}}},  {{4, 1300}, {{1300}, {4, 1}}},
            {{2, 3, 8, 1000}, {{2, 3, 8, 1000}, {1000}}},
            {{2, 3, 8, 1000}, {{2, 1, 8, 1}, {2, 3, 8, 1000}}}};
  return {{{3, 5, 17}, {{5, 17}, {3, 5, 17}, {}}},
          {{3, 5, 17}, {{3, 5, 17}, {3, 1, 17}, {17}}},
          {{2, 3, 8, 1000}, {{8, 1000}, {2, 3, 8, 1000}, {2, 3, 1, 1}}}};
}

struct OpCase {
  std::string op;
  int arity;
  float lo = -3, hi = 3; // input range (positive where the op needs it)
  std::array<float, 2> params{0, 0};
  bool boolArgs = false;
};

std::vector<OpCase> opCases() {
  std::vector<OpCase> c;
  for (const char *op : {"Identity", "Neg", "Abs", "Relu", "Reciprocal", "Floor", "Ceil", "Round",
                         "Exp", "Sigmoid", "HardSwish", "Sin", "Cos", "Tanh", "Erf", "Softplus",
                         "Sign", "Gelu", "GeluTanh", "Square", "Mish"})
    c.push_back({op, 1});
  c.push_back({"Sqrt", 1, 0.01f, 4});
  c.push_back({"Log", 1, 0.01f, 4});
  c.push_back({"Clip", 1, -3, 3, {-0.5f, 1.25f}});
  c.push_back({"LeakyRelu", 1, -3, 3, {0.1f, 0}});
  c.push_back({"Elu", 1, -3, 3, {0.7f, 0}});
  c.push_back({"HardSigmoid", 1, -3, 3, {0.2f, 0.5f}});
  for (const char *op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Less", "LessOrEqual",
                         "Greater", "GreaterOrEqual"})
    c.push_back({op, 2});
  c.push_back({"Pow", 2, 0.1f, 2});
  c.push_back({"Not", 1, -1, 1, {0, 0}, true});
  c.push_back({"And", 2, -1, 1, {0, 0}, true});
  c.push_back({"Or", 2, -1, 1, {0, 0}, true});
  c.push_back({"Where", 3});
  return c;
}

// exp, log, sigmoid, GELU and Mish run on AVX2 polynomials (relative error below 2e-7, erf's
// absolute 1.5e-7; MathWithinUlpsOfDouble holds log and Mish to ulps); the rest is the
// reference's own formula in f32. 1e-5 * (1 + |ref|) as for the
// other elementwise kernels (kElemTol).
TEST(CpuChain, EveryInstructionOverEveryBroadcastPattern) {
  int cases = 0;
  unsigned seed = 1;
  for (const OpCase &oc : opCases())
    for (const Pattern &pat : patterns(oc.arity)) {
      Program p;
      std::ostringstream label;
      label << oc.op << " over " << shapeToString(pat.shape) << " from";
      p.shape = pat.shape;
      for (size_t i = 0; i < pat.operands.size(); ++i) {
        bool b = oc.boolArgs || (oc.op == "Where" && i == 0);
        p.inputs.push_back(b ? randomBool(pat.operands[i], seed++)
                             : randomF32(pat.operands[i], seed++, oc.lo, oc.hi));
        label << " " << shapeToString(pat.operands[i]);
      }
      p.label = label.str();
      Program::Instr in{oc.op, {}, oc.params};
      for (int j = 0; j < oc.arity; ++j)
        in.args[size_t(j)] = j;
      p.code = {in};
      p.outs = {oc.arity};
      p.outShapes = {pat.shape};
      check(p, kElemTol);
      ++cases;
    }
  EXPECT_GT(cases, 150);
}

// Reductions add up to 4096 terms: the reference sums sequentially in f32 (error up to
// ~n * 2^-24 relative to the sum of magnitudes), the kernel in double: 1e-4 covers the
// reference's own rounding.
TEST(CpuChain, ProgramsAsTheLoweringEmitsThem) {
  std::vector<Program> progs;
  for (Shape s : {Shape{2, 7, 64}, Shape{16, 4096}, Shape{5, 1}}) {
    Program p; // RMSNorm: x * (1 / sqrt(mean(x^2) + eps)) * w
    p.label = "rms_norm " + shapeToString(s);
    p.shape = s;
    p.inputs = {randomF32(s, 3), Tensor::scalarF32(1e-6f), Tensor::scalarF32(1.f),
                randomF32({s.back()}, 4)};
    p.code = {{"Square", {0}}, {"ReduceMean", {4}},   {"Add", {5, 1}}, {"Sqrt", {6}},
              {"Div", {2, 7}}, {"Mul", {0, 8}}, {"Mul", {9, 3}}};
    p.outs = {10};
    p.outShapes = {s};
    progs.push_back(p);
  }
  for (Shape s : {Shape{3, 9, 33}, Shape{4, 2000}}) {
    Program p; // softmax with the row max and sum as outputs of their own
    p.label = "softmax with per-row outputs " + shapeToString(s);
    p.shape = s;
    p.inputs = {randomF32(s, 5, -4, 4)};
    p.code = {{"ReduceMax", {0}}, {"Sub", {0, 1}}, {"Exp", {2}}, {"ReduceSum", {3}},
              {"Div", {3, 4}},    {"ReduceMin", {0}}};
    Shape row = s;
    row.back() = 1;
    p.outs = {1, 5, 4, 6};
    p.outShapes = {row, s, row, row};
    progs.push_back(p);
  }
  {
    Program p; // RoPE: x * cos + rotate(x) * sin
    p.label = "rope";
    p.shape = {1, 4, 16, 8};
    p.inputs = {randomF32({1, 4, 16, 8}, 6), randomF32({1, 1, 16, 8}, 7),
                randomF32({1, 4, 16, 8}, 8), randomF32({1, 1, 16, 8}, 9)};
    p.code = {{"Mul", {0, 1}}, {"Mul", {2, 3}}, {"Add", {4, 5}}};
    p.outs = {6};
    p.outShapes = {p.shape};
    progs.push_back(p);
  }
  {
    Program p; // Mamba2's segment sum: exp(where(tril, x, -inf))
    p.label = "masked exp";
    p.shape = {1, 4, 4, 8, 8};
    p.inputs = {randomBool({8, 8}, 10), Tensor::scalarF32(-INFINITY),
                randomF32({1, 4, 4, 8, 8}, 11, -3, 0)};
    p.code = {{"Where", {0, 1, 2}}, {"Exp", {3}}};
    p.outs = {4};
    p.outShapes = {p.shape};
    progs.push_back(p);
  }
  {
    Program p; // a bool output next to the value it selects
    p.label = "bool output";
    p.shape = {6, 50};
    p.inputs = {randomF32({6, 50}, 12), randomF32({6, 1}, 13)};
    p.code = {{"Less", {0, 1}}, {"Neg", {0}}, {"Where", {2, 0, 3}}};
    p.outs = {2, 4};
    p.outShapes = {p.shape, p.shape};
    progs.push_back(p);
  }
  for (DType dt : {DType::I64, DType::I32, DType::Bool, DType::F32}) {
    Program p; // Cast to f32 (position ids, masks) times an f32 tensor
    p.label = std::string("cast from ") + dtypeName(dt);
    p.shape = {3, 4, 7};
    Tensor ints = Tensor::zeros(DType::F64, {3, 1, 7});
    for (int64_t i = 0; i < ints.numel(); ++i)
      ints.mutableData<double>()[i] = double((i * 37) % 23) - 11; // exact in every type
    p.inputs = {dt == DType::Bool ? randomBool({3, 1, 7}, 15) : ints.cast(dt),
                randomF32({3, 4, 7}, 16)};
    p.code = {{"Cast", {0}}, {"Mul", {2, 1}}};
    p.outs = {3, 2};
    p.outShapes = {p.shape, p.shape};
    progs.push_back(p);
  }
  for (Shape from : {Shape{3, 1, 5}, Shape{3, 4, 1}, Shape{}}) {
    Program p; // Expand: a broadcast copy
    p.label = "expand " + shapeToString(from);
    p.shape = {3, 4, from.empty() ? 2 : from.back() == 1 ? 7 : 5};
    p.inputs = {randomF32(from, 14)};
    p.code = {{"Identity", {0}}};
    p.outs = {1};
    p.outShapes = {p.shape};
    progs.push_back(p);
  }
  for (const Program &p : progs)
    check(p, 1e-4);
}

// Log (an AVX2 polynomial, Avx2Math.h's log256), Mish, Softplus, Erf, Sin, Cos, Tanh and Elu
// against libm in double, the result rounded once to f32, in ulps: for log every binade from
// subnormals to FLT_MAX, the neighbourhood of 1 (where oneDNN's eltwise_log, which the CPU
// backend used before, was thousands of ulps off and log(1) was -1.4e-6), and the special
// values; for sin and cos the multiples of pi/2. 8 * 1024 + 5 elements: the 8-lane path and
// the scalar tail both run.
TEST(CpuChain, MathWithinUlpsOfDouble) {
  std::vector<float> logIn = {0.f, -0.f, -1.f, -1e-30f, INFINITY, -INFINITY, NAN, 1.f,
                              std::numeric_limits<float>::min(),
                              std::numeric_limits<float>::denorm_min(),
                              std::numeric_limits<float>::max()};
  for (int e = -149; e < 128 && logIn.size() < 1400; ++e)
    for (float m : {1.f, 1.1f, 1.41421354f, 1.41421366f, 1.7f, 1.99999988f})
      logIn.push_back(std::ldexp(m, e));
  for (int k = 1; logIn.size() < 4000; ++k) // 1 +- k ulps
    logIn.insert(logIn.end(), {1.f + float(k) * 1.1920929e-7f, 1.f - float(k) * 5.9604645e-8f});
  for (int i = 0; logIn.size() < 8 * 1024 + 5; ++i)
    logIn.push_back(0.5f + 1.5f * float(i) / 4000.f);
  std::vector<float> mishIn;
  for (int i = 0; mishIn.size() < 8 * 1024 + 5; ++i)
    mishIn.push_back(-30.f + 60.f * float(i) / float(8 * 1024 + 4));
  std::vector<float> erfIn = {0.f, -0.f, 1e-30f, -1e-30f, INFINITY, -INFINITY, NAN};
  for (int i = 0; erfIn.size() < 8 * 1024 + 5; ++i)
    erfIn.push_back(-4.5f + 9.f * float(i) / float(8 * 1024 - 3));
  // Around 0 and every multiple of pi/2 up to 1000 (where the reduction cancels), a dense grid
  // to 200, some past 65536 (libm lane by lane), the specials.
  std::vector<float> trigIn = {0.f, -0.f, 1e-30f, INFINITY, -INFINITY, NAN, 1e5f, -3e6f, 1e30f};
  for (int k = 1; k <= 636; ++k)
    for (float d : {-1e-3f, 0.f, 1e-3f})
      trigIn.push_back(float(k * 1.5707963267948966) + d);
  for (int i = 0; trigIn.size() < 8 * 1024 + 5; ++i)
    trigIn.push_back(-200.f + 400.f * float(i) / 6000.f);
  struct Case {
    const char *op;
    std::vector<float> in;
    double (*truth)(double);
    double maxUlps;
    std::array<float, 2> params{0, 0}; // the instruction's (Elu's alpha)
  };
  for (const Case &c :
       {Case{"Log", logIn, [](double x) { return std::log(x); }, 1.0},
        Case{"Mish", mishIn, [](double x) { return x * std::tanh(std::log1p(std::exp(x))); }, 4.0},
        Case{"Softplus", mishIn,
             [](double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }, 3.0},
        Case{"Erf", erfIn, [](double x) { return std::erf(x); }, 2.0},
        Case{"Sin", trigIn, [](double x) { return std::sin(x); }, 2.0},
        Case{"Cos", trigIn, [](double x) { return std::cos(x); }, 2.0},
        Case{"Tanh", erfIn, [](double x) { return std::tanh(x); }, 2.0},
        // alpha 0.7: e^x - 1 cancelled near 0 (960 ulps), expm1 does not
        Case{"Elu", erfIn, [](double x) { return x < 0 ? 0.7 * std::expm1(x) : x; }, 2.0,
             {0.7f, 0.f}}}) {
    SCOPED_TRACE(c.op);
    Program p;
    p.shape = {int64_t(c.in.size())};
    p.inputs = {Tensor::fromVector(DType::F32, p.shape, c.in)};
    p.code = {{c.op, {0}, c.params}};
    p.outs = {1};
    p.outShapes = {p.shape};
    std::unique_ptr<RuntimeKernel> k = prepare(p);
    Tensor got = Tensor::empty(DType::F32, p.shape);
    std::vector<const Tensor *> in = {&p.inputs[0]};
    std::vector<Tensor *> out = {&got};
    k->run(in, out);
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < c.in.size(); ++i) {
      double u = ulpsFrom(got.data<float>()[i], c.truth(double(c.in[i])));
      if (u > worst)
        worst = u, at = i;
    }
    EXPECT_LE(worst, c.maxUlps) << "at x = " << c.in[at] << ": " << got.data<float>()[at]
                                << ", libm " << c.truth(double(c.in[at]));
  }
}

TEST(CpuChain, MalformedProgramsAreRefused) {
  auto base = [] {
    Program p;
    p.shape = {2, 3};
    p.inputs = {randomF32({2, 3}, 1), randomF32({3}, 2)};
    p.code = {{"Add", {0, 1}}};
    p.outs = {2};
    p.outShapes = {{2, 3}};
    return p;
  };
  auto expectRefused = [&](Program p, const std::string &what) {
    SCOPED_TRACE(what);
    try {
      Step step;
      step.kernel = "cpu.chain";
      step.attrs = attrsOf(p);
      std::vector<BufferInfo> ins, outs;
      for (const Tensor &t : p.inputs)
        ins.push_back({true, t.dtype(), t.shape(), "", Layout::Plain});
      for (const Shape &s : p.outShapes)
        outs.push_back({true, DType::F32, s, "", Layout::Plain});
      std::vector<const Tensor *> constants(ins.size(), nullptr);
      (*cpu::cpuKernelRegistry().find("cpu.chain"))(step, ins, outs, constants);
      ADD_FAILURE() << "accepted";
    } catch (const Error &e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  };
  Program p = base();
  p.code[0].op = "Frobnicate";
  expectRefused(p, "unknown op 'Frobnicate'");
  p = base();
  p.code[0].args = {0, 2, -1}; // its own result
  expectRefused(p, "bad operand");
  p = base();
  p.code[0].args = {0, -1, -1};
  expectRefused(p, "bad operand");
  p = base();
  p.code[0] = {"Where", {0, 0, 1}};
  expectRefused(p, "wrong type");
  p = base();
  p.outShapes = {{3, 2}};
  expectRefused(p, "is neither");
  p = base();
  p.outShapes = {{2, 1}};
  expectRefused(p, "per element, not per row");
  p = base();
  p.inputs[1] = randomF32({2}, 3);
  expectRefused(p, "does not broadcast");
  p = base();
  p.outs = {7};
  expectRefused(p, "names no register");
  p = base();
  p.code.clear();
  expectRefused(p, "attrs need ops");
}

} // namespace
