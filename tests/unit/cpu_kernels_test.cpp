// Parity tests of the cpu.* kernels, shaped like ggml's backend-ops test: every kernel runs
// over a table of shapes, attributes, post-ops and seeds against the reference kernel of the
// same ONNX op (post-ops applied with reference kernels too); a failure prints its case.
// cpu.attention has its own file (cpu_attention_test.cpp); the harness is CpuKernelHarness.h.
#include "tests/unit/CpuKernelHarness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

using namespace plumb;
using namespace plumb::cputest;

namespace {

// ---- cpu.conv ----

struct ConvCase {
  Shape x; // N, C, H, W
  int64_t m, kh, kw, group;
  std::vector<int64_t> strides, pads, dilations; // empty = ONNX default
  std::string autoPad;                           // empty = NOTSET
  bool bias;
  std::vector<std::string> post;
  bool constW = true;
  unsigned seed = 0;
};

std::ostream &operator<<(std::ostream &os, const ConvCase &c) {
  return os << "conv x=" << shapeToString(c.x) << " m=" << c.m << " k=" << c.kh << "x" << c.kw
            << " group=" << c.group << " strides=" << join(c.strides) << " pads=" << join(c.pads)
            << " dilations=" << join(c.dilations) << " auto_pad=" << c.autoPad << " bias=" << c.bias
            << " post=" << join(c.post) << " constW=" << c.constW << " seed=" << c.seed;
}

std::vector<ConvCase> convCases() {
  std::vector<ConvCase> base{
      {{1, 3, 8, 8}, 4, 3, 3, 1, {}, {1, 1, 1, 1}, {}, "", true, {}},
      {{2, 8, 9, 7}, 16, 3, 3, 1, {2, 2}, {1, 0, 1, 2}, {}, "", false, {"relu"}},
      {{1, 8, 10, 10}, 8, 3, 3, 1, {}, {2, 2, 2, 2}, {2, 2}, "", true, {"clip:0:6"}},
      {{1, 16, 8, 8}, 16, 3, 3, 16, {}, {1, 1, 1, 1}, {}, "", true, {"sigmoid_mul"}},
      {{1, 8, 8, 8}, 12, 3, 3, 4, {}, {1, 1, 1, 1}, {}, "", false, {"gelu_erf"}},
      {{1, 32, 7, 7}, 16, 1, 1, 1, {}, {}, {}, "", true, {"gelu_tanh"}},
      {{1, 16, 8, 8}, 16, 3, 3, 1, {}, {1, 1, 1, 1}, {}, "", true, {"sum", "relu"}},
      {{1, 8, 6, 6}, 8, 3, 3, 2, {}, {1, 1, 1, 1}, {}, "", false, {"relu", "sum"}},
      {{1, 4, 11, 11}, 8, 5, 5, 1, {2, 2}, {}, {}, "SAME_UPPER", true, {"sigmoid"}},
      {{1, 4, 10, 9}, 8, 4, 4, 1, {3, 2}, {}, {}, "SAME_LOWER", false, {"tanh"}},
      {{1, 4, 6, 6}, 4, 3, 3, 1, {}, {1, 1, 1, 1}, {}, "", true, {"tanh"}, false},
      {{2, 6, 5, 9}, 6, 1, 3, 1, {}, {0, 1, 0, 1}, {}, "", true, {"leaky_relu:0.1"}},
      {{1, 3, 32, 32}, 8, 7, 7, 1, {2, 2}, {3, 3, 3, 3}, {}, "", true, {"relu"}},
      {{1, 32, 14, 14}, 64, 3, 3, 1, {}, {1, 1, 1, 1}, {}, "", true, {"elu", "hardswish"}},
      {{1, 16, 9, 9}, 32, 3, 3, 1, {2, 2}, {1, 1, 0, 0}, {1, 2}, "", true, {"softplus"}},
      {{1, 8, 7, 7}, 8, 3, 3, 1, {}, {}, {}, "VALID", true, {"linear:0.5:0.25", "elu:0.5"}},
      {{3, 2, 5, 5}, 5, 2, 2, 1, {1, 2}, {0, 0, 1, 1}, {}, "", true, {}, false},
  };
  std::vector<ConvCase> all;
  for (unsigned seed : {1u, 2u})
    for (ConvCase c : base) {
      c.seed = seed;
      all.push_back(c);
    }
  return all;
}

ref::Attrs convAttrs(const ConvCase &c) {
  ref::Attrs a;
  a.set("group", intAttr(c.group));
  if (!c.strides.empty())
    a.set("strides", intsAttr(c.strides));
  if (!c.pads.empty())
    a.set("pads", intsAttr(c.pads));
  if (!c.dilations.empty())
    a.set("dilations", intsAttr(c.dilations));
  if (!c.autoPad.empty())
    a.set("auto_pad", stringAttr(c.autoPad));
  return a;
}

class CpuConv : public testing::TestWithParam<ConvCase> {};

TEST_P(CpuConv, MatchesReference) {
  const ConvCase &c = GetParam();
  std::ostringstream trace;
  trace << c;
  SCOPED_TRACE(trace.str());
  Tensor x = randomF32(c.x, c.seed);
  Tensor w = randomF32({c.m, c.x[1] / c.group, c.kh, c.kw}, c.seed + 100);
  Tensor b = c.bias ? randomF32({c.m}, c.seed + 200) : Tensor();
  ref::Attrs attrs = convAttrs(c);
  Tensor conv = refOp("Conv", {&x, &w, c.bias ? &b : nullptr}, attrs);
  Tensor residual = randomF32(conv.shape(), c.seed + 300);
  Tensor want = refPostOps(conv, c.post, &residual);
  std::vector<Arg> args{{x}, {w, c.constW}, {b, true}};
  bool sum = std::find(c.post.begin(), c.post.end(), "sum") != c.post.end();
  if (sum)
    args.push_back({residual});
  attrs.set("post_ops", stringsAttr(c.post));
  expectClose(runCpu("cpu.conv", attrs, args, want.shape()), want, kDotTol);
}

INSTANTIATE_TEST_SUITE_P(Table, CpuConv, testing::ValuesIn(convCases()));

// The same kernel serves 1-D and 3-D convolutions (oneDNN's ncw / ncdhw).
TEST(CpuConv, OneAndThreeSpatialDims) {
  for (Shape xs : {Shape{2, 4, 13}, Shape{1, 3, 5, 6, 7}}) {
    SCOPED_TRACE("x=" + shapeToString(xs));
    size_t nd = xs.size() - 2;
    Shape ws{6, xs[1]};
    ws.resize(xs.size(), 3);
    Tensor x = randomF32(xs, 1), w = randomF32(ws, 2), b = randomF32({6}, 3);
    ref::Attrs attrs;
    attrs.set("pads", intsAttr(std::vector<int64_t>(2 * nd, 1)));
    attrs.set("strides", intsAttr(std::vector<int64_t>(nd, 2)));
    Tensor want = refPostOps(refOp("Conv", {&x, &w, &b}, attrs), {"relu"}, nullptr);
    attrs.set("post_ops", stringsAttr({"relu"}));
    expectClose(runCpu("cpu.conv", attrs, {{x}, {w, true}, {b, true}}, want.shape()), want,
                kDotTol);
  }
}

// Layout::ChannelBlocked source, output and residual, in every combination, give the plain
// result: 1-D, 2-D and 3-D, strided, grouped, and a plain 3-channel source into a blocked
// output (ResNet's stem).
TEST(CpuConv, ChannelBlockedLayouts) {
  struct LayoutCase {
    Shape x;
    int64_t m, group;
    std::vector<std::string> post;
  };
  const std::vector<LayoutCase> cases = {
      {{1, 16, 9, 9}, 32, 1, {"relu"}},  {{2, 32, 8, 7}, 16, 1, {"sum", "relu"}},
      {{1, 32, 6, 6}, 32, 2, {"sum"}},   {{1, 16, 11}, 16, 1, {"relu", "sum"}},
      {{1, 16, 4, 5, 6}, 16, 1, {"sum"}}, {{1, 3, 12, 12}, 16, 1, {"relu"}},
  };
  auto lay = [](bool blocked) { return blocked ? Layout::ChannelBlocked : Layout::Plain; };
  for (const LayoutCase &c : cases) {
    size_t nd = c.x.size() - 2;
    Shape ws{c.m, c.x[1] / c.group};
    ws.resize(c.x.size(), 3);
    Tensor x = randomF32(c.x, 1), w = randomF32(ws, 2), b = randomF32({c.m}, 3);
    ref::Attrs attrs;
    attrs.set("group", intAttr(c.group));
    attrs.set("pads", intsAttr(std::vector<int64_t>(2 * nd, 1)));
    attrs.set("strides", intsAttr(std::vector<int64_t>(nd, c.x[0] == 2 ? 2 : 1)));
    Tensor conv = refOp("Conv", {&x, &w, &b}, attrs);
    Tensor residual = randomF32(conv.shape(), 4);
    Tensor want = refPostOps(conv, c.post, &residual);
    attrs.set("post_ops", stringsAttr(c.post));
    bool sum = std::find(c.post.begin(), c.post.end(), "sum") != c.post.end();
    for (int mask = 0; mask < 8; ++mask) {
      bool srcB = mask & 1, dstB = mask & 2, resB = mask & 4;
      if ((srcB && c.x[1] % 16 != 0) || (resB && !sum))
        continue;
      SCOPED_TRACE("x=" + shapeToString(c.x) + " group=" + std::to_string(c.group) +
                   " post=" + join(c.post) + " blocked src/dst/residual=" + std::to_string(srcB) +
                   std::to_string(dstB) + std::to_string(resB));
      std::vector<Arg> args{{x, false, lay(srcB)}, {w, true}, {b, true}};
      if (sum)
        args.push_back({residual, false, lay(resB)});
      expectClose(runCpu("cpu.conv", attrs, args, want.shape(), 17, lay(dstB)), want, kDotTol);
    }
  }
}

// ---- cpu.matmul ----

struct MatMulCase {
  Shape a, b;
  bool hasBias;
  Shape bias;
  std::vector<std::string> post;
  bool gemm = false;
  int64_t transA = 0, transB = 0;
  float alpha = 1, beta = 1;
  bool constB = true, constBias = true;
  unsigned seed = 0;
};

std::ostream &operator<<(std::ostream &os, const MatMulCase &c) {
  os << (c.gemm ? "gemm" : "matmul") << " a=" << shapeToString(c.a) << " b=" << shapeToString(c.b)
     << " bias=" << (c.hasBias ? shapeToString(c.bias) : "none") << " post=" << join(c.post);
  if (c.gemm)
    os << " transA=" << c.transA << " transB=" << c.transB << " alpha=" << c.alpha
       << " beta=" << c.beta;
  return os << " constB=" << c.constB << " constBias=" << c.constBias << " seed=" << c.seed;
}

std::vector<MatMulCase> matmulCases() {
  std::vector<MatMulCase> base{
      {{5, 7}, {7, 3}, false, {}, {}},
      {{2, 5, 16}, {16, 8}, true, {8}, {"gelu_erf"}},
      {{2, 3, 4, 16}, {16, 5}, false, {}, {"relu"}},
      {{3, 4, 8}, {3, 8, 6}, false, {}, {}, false, 0, 0, 1, 1, false},
      {{2, 2, 5, 8}, {2, 2, 8, 3}, false, {}, {"sigmoid_mul"}, false, 0, 0, 1, 1, false},
      {{2, 1, 5, 8}, {1, 3, 8, 4}, false, {}, {}, false, 0, 0, 1, 1, false},
      {{4, 8}, {2, 8, 3}, false, {}, {}, false, 0, 0, 1, 1, false},
      {{8}, {8, 4}, true, {4}, {}},
      {{3, 8}, {8}, false, {}, {"tanh"}},
      {{4, 8}, {8, 8}, true, {8}, {"sum", "relu"}},
      {{2, 3, 4}, {4, 5}, true, {3, 5}, {}},
      {{64, 256}, {256, 128}, true, {128}, {"gelu_tanh"}},
      {{6, 10}, {4, 10}, true, {4}, {}, true, 0, 1, 0.5f, 2.f},
      {{10, 6}, {10, 4}, true, {6, 4}, {"clip:-0.5:0.5"}, true, 1, 0, 1.f, 0.3f},
      {{10, 6}, {4, 10}, true, {6, 1}, {}, true, 1, 1, 1.5f, 1.f},
      {{3, 4}, {4, 5}, true, {1, 5}, {}, true, 0, 0, 2.f, 1.f, false},
      {{3, 4}, {4, 5}, true, {}, {}, true, 0, 0, 1.f, -1.f},
      {{3, 4}, {4, 5}, true, {3, 5}, {"relu"}, true, 0, 0, 1.f, 1.f, true, false},
      {{3, 4}, {5, 4}, false, {}, {}, true, 0, 1, 3.f, 1.f, false},
      // Odd shapes: row and column tails, long K, more rows than one block, activations
      // before and after the residual sum.
      {{13, 600}, {600, 37}, true, {37}, {"gelu_erf"}},
      {{2, 7, 300}, {300, 50}, true, {50}, {"sum", "gelu_tanh"}},
      {{5, 40}, {40, 33}, true, {1}, {"relu", "sum"}},
      {{150, 64}, {64, 24}, false, {}, {"gelu_tanh", "tanh"}},
      {{7, 260}, {20, 260}, true, {20}, {"gelu_erf"}, true, 0, 1, 0.5f, 2.f},
      {{1, 16}, {16, 16}, true, {1, 16}, {"relu"}},
      // A trailing gelu_tanh runs after the primitive (takeTrailingGeluTanh): an output of
      // several 16384-element chunks, split over the team, with a tail of 37 elements.
      {{129, 64}, {64, 509}, true, {509}, {"gelu_tanh"}},
      {{129, 64}, {64, 509}, false, {}, {"linear:0.5:1", "gelu_tanh"}},
  };
  std::vector<MatMulCase> all;
  for (unsigned seed : {1u, 2u})
    for (MatMulCase c : base) {
      c.seed = seed;
      all.push_back(c);
    }
  return all;
}

class CpuMatMul : public testing::TestWithParam<MatMulCase> {};

TEST_P(CpuMatMul, MatchesReference) {
  const MatMulCase &c = GetParam();
  std::ostringstream trace;
  trace << c;
  SCOPED_TRACE(trace.str());
  Tensor a = randomF32(c.a, c.seed), b = randomF32(c.b, c.seed + 100);
  Tensor bias = c.hasBias ? randomF32(c.bias, c.seed + 200) : Tensor();
  ref::Attrs attrs;
  Tensor y;
  if (c.gemm) {
    attrs.set("transA", intAttr(c.transA));
    attrs.set("transB", intAttr(c.transB));
    attrs.set("alpha", floatAttr(c.alpha));
    attrs.set("beta", floatAttr(c.beta));
    y = refOp("Gemm", {&a, &b, c.hasBias ? &bias : nullptr}, attrs);
  } else {
    y = refOp("MatMul", {&a, &b});
    if (c.hasBias)
      y = refOp("Add", {&y, &bias});
  }
  Tensor residual = randomF32(y.shape(), c.seed + 300);
  Tensor want = refPostOps(y, c.post, &residual);
  std::vector<Arg> args{{a}, {b, c.constB}, {bias, c.constBias}};
  if (std::find(c.post.begin(), c.post.end(), "sum") != c.post.end())
    args.push_back({residual});
  attrs.set("post_ops", stringsAttr(c.post));
  expectClose(runCpu("cpu.matmul", attrs, args, want.shape()), want, kDotTol);
}

INSTANTIATE_TEST_SUITE_P(Table, CpuMatMul, testing::ValuesIn(matmulCases()));

TEST(CpuMatMul, RefusesWhatItCannotRun) {
  Tensor a = randomF32({3, 4}, 1), b = randomF32({4, 5}, 2), c = randomF32({3, 5}, 3);
  ref::Attrs attrs;
  attrs.set("beta", floatAttr(0.5));
  // A runtime C with beta != 1 cannot be a oneDNN bias: the lowering must use ref.Gemm.
  EXPECT_THROW(runCpu("cpu.matmul", attrs, {{a}, {b, true}, {c, false}}, {3, 5}), Error);
  EXPECT_THROW(runCpu("cpu.matmul", {}, {{a}, {b, true}}, {3, 6}), Error);
}

// ---- the other kernels: one table, the ONNX op's own attributes on both sides ----

struct In {
  Shape shape;
  float lo = -1, hi = 1; // uniform range; lo == hi gives that constant value
  bool constant = false;
  bool present = true; // false: an absent optional input
};

struct OpCase {
  std::string kernel, op; // cpu kernel; ONNX op (also the kernel's "op" attribute)
  std::vector<In> inputs;
  ref::Attrs attrs; // ONNX attributes
  std::vector<std::string> post;
  int64_t opset = 17;
  unsigned seed = 0;
  std::string text; // the attributes, for the failure message
  Layout inLayout = Layout::Plain, outLayout = Layout::Plain; // input 0; output and residual

  OpCase(std::string k, std::string o, std::vector<In> in)
      : kernel(std::move(k)), op(std::move(o)), inputs(std::move(in)) {}
  OpCase &i(const std::string &n, std::vector<int64_t> v) {
    text += " " + n + "=" + join(v);
    attrs.set(n, v.size() == 1 && n != "kernel_shape" && n != "axes" && n != "perm" ? intAttr(v[0]) : intsAttr(v));
    return *this;
  }
  OpCase &f(const std::string &n, double v) {
    text += " " + n + "=" + std::to_string(v);
    attrs.set(n, floatAttr(v));
    return *this;
  }
  OpCase &s(const std::string &n, const std::string &v) {
    text += " " + n + "=" + v;
    attrs.set(n, stringAttr(v));
    return *this;
  }
  OpCase &then(std::vector<std::string> p) { return post = std::move(p), *this; }
  OpCase &at(int64_t o) { return opset = o, *this; }
  OpCase &blocked(bool in, bool out) {
    text += std::string(" blocked in/out=") + (in ? "1" : "0") + (out ? "1" : "0");
    inLayout = in ? Layout::ChannelBlocked : Layout::Plain;
    outLayout = out ? Layout::ChannelBlocked : Layout::Plain;
    return *this;
  }
};

std::ostream &operator<<(std::ostream &os, const OpCase &c) {
  os << c.kernel << " " << c.op << " inputs=";
  for (const In &in : c.inputs)
    os << shapeToString(in.shape) << (in.constant ? "(const) " : " ");
  return os << "attrs:" << c.text << " post=" << join(c.post) << " opset=" << c.opset
            << " seed=" << c.seed;
}

std::vector<OpCase> normCases() {
  In c4{{4}, -1, 1, true}, var4{{4}, 0.1f, 2.f, true};
  return {
      OpCase("cpu.softmax", "Softmax", {{{2, 3, 5}}}),
      OpCase("cpu.softmax", "Softmax", {{{2, 3, 5}}}).i("axis", {1}),
      OpCase("cpu.softmax", "Softmax", {{{2, 3, 19}, -8, 8}}).i("axis", {1}),
      OpCase("cpu.softmax", "Softmax", {{{4, 10}, -20, 20}}).i("axis", {0}).then({"sum"}),
      OpCase("cpu.softmax", "Softmax", {{{2, 3, 4}}}).i("axis", {1}).at(11),
      OpCase("cpu.softmax", "LogSoftmax", {{{3, 7}, -5, 5}}),
      OpCase("cpu.softmax", "LogSoftmax", {{{2, 5, 12}, -5, 5}}).i("axis", {1}),
      OpCase("cpu.softmax", "LogSoftmax", {{{2, 3, 4}, -5, 5}}).i("axis", {1}).at(11),
      OpCase("cpu.softmax", "LogSoftmax", {{{3, 7}, -5, 5}}).then({"relu"}),
      OpCase("cpu.layer_norm", "LayerNormalization", {{{2, 5, 16}}, {{16}}, {{16}}}),
      OpCase("cpu.layer_norm", "LayerNormalization", {{{2, 3, 4, 5}}, {{4, 5}, -1, 1, true}})
          .i("axis", {2})
          .f("epsilon", 1e-3),
      OpCase("cpu.layer_norm", "LayerNormalization",
             {{{2, 8}}, {{1, 8}}, {{1, 1, 8}, -1, 1, true}}),
      OpCase("cpu.layer_norm", "LayerNormalization",
             {{{3, 4, 6}, -3, 5}, {{6}, -1, 1, true}, {{1, 6}, -1, 1, true}})
          .i("axis", {1})
          .then({"relu"}),
      OpCase("cpu.layer_norm", "LayerNormalization", {{{4, 9}}, {{9}}}).then({"sum"}),
      OpCase("cpu.batch_norm", "BatchNormalization", {{{2, 4, 5, 3}}, c4, c4, c4, var4}),
      OpCase("cpu.batch_norm", "BatchNormalization", {{{3, 4, 7}}, c4, c4, c4, var4})
          .f("epsilon", 0.01)
          .then({"relu"}),
  };
}

std::vector<OpCase> poolCases() {
  auto pool = [](const char *op, Shape x) { return OpCase("cpu.pool", op, {{x}}); };
  return {
      pool("MaxPool", {2, 4, 9, 9})
          .i("kernel_shape", {3, 3})
          .i("strides", {2, 2})
          .i("pads", {1, 1, 1, 1}),
      pool("MaxPool", {1, 2, 7, 7})
          .i("kernel_shape", {2, 2})
          .i("strides", {2, 2})
          .i("ceil_mode", {1}),
      pool("MaxPool", {1, 3, 10, 10}).i("kernel_shape", {3, 3}).i("dilations", {2, 2}),
      pool("AveragePool", {2, 3, 8, 8}).i("kernel_shape", {3, 3}).i("pads", {1, 1, 1, 1}),
      pool("AveragePool", {2, 3, 8, 8})
          .i("kernel_shape", {3, 3})
          .i("pads", {1, 1, 1, 1})
          .i("count_include_pad", {1}),
      // Ceil mode needs one more end pad than the model's here, which must not be counted.
      pool("AveragePool", {1, 2, 8, 8})
          .i("kernel_shape", {3, 3})
          .i("strides", {2, 2})
          .i("pads", {1, 1, 1, 1})
          .i("ceil_mode", {1})
          .i("count_include_pad", {1}),
      pool("AveragePool", {1, 2, 8, 6})
          .i("kernel_shape", {2, 3})
          .i("strides", {3, 2})
          .i("ceil_mode", {1}),
      pool("AveragePool", {1, 2, 9, 9})
          .i("kernel_shape", {4, 4})
          .i("strides", {2, 2})
          .s("auto_pad", "SAME_UPPER")
          .then({"sum", "tanh"}),
      pool("GlobalAveragePool", {2, 8, 5, 7}),
      pool("GlobalMaxPool", {2, 8, 5, 7}).then({"relu"}),
      // Channel-blocked tensors (kept between convolutions): ResNet's stem pool, blocked in
      // and out, and the ways in and out of the blocked layout.
      pool("MaxPool", {1, 16, 12, 12})
          .i("kernel_shape", {3, 3})
          .i("strides", {2, 2})
          .i("pads", {1, 1, 1, 1})
          .blocked(true, true),
      pool("MaxPool", {2, 32, 7, 7}).i("kernel_shape", {2, 2}).blocked(true, false),
      pool("MaxPool", {1, 16, 6, 6}).i("kernel_shape", {3, 3}).blocked(false, true),
      pool("AveragePool", {1, 16, 9, 9})
          .i("kernel_shape", {3, 3})
          .i("pads", {1, 1, 1, 1})
          .blocked(true, true)
          .then({"sum", "relu"}),
      pool("AveragePool", {1, 16, 5, 5, 5}).i("kernel_shape", {2, 2, 2}).blocked(true, true),
      pool("GlobalAveragePool", {2, 32, 5, 7}).blocked(true, false),
      pool("GlobalMaxPool", {1, 16, 9}).blocked(true, true),
  };
}

std::vector<OpCase> eltwiseCases() {
  In pos{{3, 17}, 0.05f, 4.f};
  auto unary = [&](const char *op, In x = {{3, 17}}) { return OpCase("cpu.eltwise", op, {x}); };
  auto scalar = [](float v) { return In{{}, v, v, true}; };
  return {
      unary("Relu"),
      unary("Tanh"),
      unary("Sigmoid", {{3, 17}, -8, 8}),
      unary("Exp"),
      unary("Log", pos),
      unary("Sqrt", pos),
      unary("Abs"),
      unary("HardSwish", {{3, 17}, -5, 5}),
      unary("Softplus", {{3, 17}, -5, 5}),
      unary("Mish"),
      unary("Neg"),
      unary("Gelu", {{3, 17}, -4, 4}),
      unary("Gelu", {{3, 17}, -4, 4}).s("approximate", "tanh"),
      unary("Elu"),
      unary("Elu").f("alpha", 0.5),
      unary("LeakyRelu"),
      unary("LeakyRelu").f("alpha", 0.2),
      unary("HardSigmoid", {{3, 17}, -4, 4}),
      unary("HardSigmoid", {{3, 17}, -4, 4}).f("alpha", 0.3).f("beta", 0.4),
      OpCase("cpu.eltwise", "Clip", {{{3, 17}}, scalar(-0.5f), scalar(0.25f)}),
      OpCase("cpu.eltwise", "Clip", {{{3, 17}}, {{}, 0, 0, false, false}, scalar(0.25f)}),
      OpCase("cpu.eltwise", "Clip", {{{3, 17}}}).f("min", -0.1).f("max", 0.2).at(6),
      unary("Tanh").then({"sum", "relu"}),
      // The residual follows the op's own inputs: here it must not be taken for Clip's min.
      OpCase("cpu.eltwise", "Clip", {{{3, 17}}}).then({"sum"}),
  };
}

std::vector<OpCase> binaryCases() {
  auto binary = [](const char *op, Shape a, Shape b) {
    return OpCase("cpu.binary", op, {{a}, {b}});
  };
  return {
      binary("Add", {2, 3, 4}, {2, 3, 4}),
      binary("Mul", {2, 3, 4}, {4}),
      binary("Sub", {1, 4}, {3, 4}),
      binary("Div", {3, 1}, {1, 4}),
      binary("Max", {4}, {2, 4}),
      binary("Min", {2, 3}, {}),
      binary("Add", {2, 8, 5, 5}, {1, 8, 1, 1}).then({"relu"}),
      binary("Add", {2, 3, 4}, {2, 3, 4}).then({"sum", "clip:0:1"}),
      binary("Sub", {5}, {2, 3, 5}).then({"sigmoid"}),
      // Broadcasts oneDNN 2.6 runs on its reference implementation (a strided loop here).
      binary("Mul", {1, 6, 4, 8}, {1, 6, 4, 1}),
      binary("Mul", {1, 6, 4, 8}, {1, 1, 4, 1}),
      binary("Div", {2, 1, 4, 1}, {2, 3, 4, 5}),
      binary("Sub", {3, 1, 5}, {3, 4, 1}),
  };
}

std::vector<OpCase> layoutCases() {
  return {
      OpCase("cpu.transpose", "Transpose", {{{2, 3, 4, 5}}}).i("perm", {0, 2, 1, 3}),
      OpCase("cpu.transpose", "Transpose", {{{2, 3, 4, 5}}}).i("perm", {0, 2, 3, 1}),
      OpCase("cpu.transpose", "Transpose", {{{7, 5}}}).i("perm", {1, 0}),
      OpCase("cpu.transpose", "Transpose", {{{2, 3, 4}}}), // default: reversed dims
      OpCase("cpu.transpose", "Transpose", {{{1, 6, 1, 3}}}).i("perm", {3, 1, 2, 0}),
      OpCase("cpu.copy", "Flatten", {{{2, 3, 4}}}).i("axis", {2}),
      OpCase("cpu.copy", "Identity", {{{5, 1, 3}}}),
      OpCase("cpu.einsum", "Einsum", {{{2, 3, 4}}, {{2, 4, 5}}}).s("equation", "bij,bjk->bik"),
      OpCase("cpu.einsum", "Einsum", {{{3, 4}}, {{5, 4}}}).s("equation", "ik,jk->ji"),
      OpCase("cpu.einsum", "Einsum", {{{2, 3}}, {{4}}}).s("equation", "ab,c->cab"),
      OpCase("cpu.einsum", "Einsum", {{{2, 3, 4}}}).s("equation", "abc->cab"),
      // Mamba2's SSD shapes in small: four operands, an elementwise pair in the middle.
      OpCase("cpu.einsum", "Einsum",
             {{{1, 2, 3, 2, 4}}, {{1, 2, 5, 2, 4}}, {{1, 2, 2, 3, 5}}, {{1, 2, 5, 2, 3}}})
          .s("equation", "bclhn,bcshn,bhcls,bcshp->bclhp"),
      OpCase("cpu.einsum", "Einsum", {{{1, 2, 2, 3}}, {{1, 3, 2, 4, 5}}})
          .s("equation", "bhzc,bchpn->bzhpn"),
  };
}

std::vector<OpCase> opCases() {
  std::vector<OpCase> all;
  for (auto family : {normCases, poolCases, eltwiseCases, binaryCases, layoutCases})
    for (unsigned seed : {1u, 2u})
      for (OpCase c : family()) {
        c.seed = seed;
        all.push_back(c);
      }
  return all;
}

class CpuOps : public testing::TestWithParam<OpCase> {};

TEST_P(CpuOps, MatchesReference) {
  const OpCase &c = GetParam();
  std::ostringstream trace;
  trace << c;
  SCOPED_TRACE(trace.str());
  std::vector<Tensor> ts;
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    const In &in = c.inputs[k];
    ts.push_back(in.present ? randomF32(in.shape, c.seed + 100 * unsigned(k), in.lo, in.hi)
                            : Tensor());
  }
  std::vector<const Tensor *> refIn;
  std::vector<Arg> args;
  for (size_t k = 0; k < ts.size(); ++k) {
    refIn.push_back(ts[k].defined() ? &ts[k] : nullptr);
    args.push_back({ts[k], c.inputs[k].constant, k == 0 ? c.inLayout : Layout::Plain});
  }
  Tensor y = refOp(c.op, refIn, c.attrs, c.opset);
  Tensor residual = randomF32(y.shape(), c.seed + 999);
  Tensor want = refPostOps(y, c.post, &residual);
  if (std::find(c.post.begin(), c.post.end(), "sum") != c.post.end())
    args.push_back({residual, false, c.outLayout});
  ref::Attrs attrs = c.attrs;
  attrs.set("op", stringAttr(c.op));
  attrs.set("post_ops", stringsAttr(c.post));
  expectClose(runCpu(c.kernel, attrs, args, want.shape(), c.opset, c.outLayout), want, kElemTol);
}

INSTANTIATE_TEST_SUITE_P(Table, CpuOps, testing::ValuesIn(opCases()));

TEST(CpuThreads, SetAndRestore) {
  int before = cpu::cpuThreads();
  cpu::setCpuThreads(1);
  EXPECT_EQ(cpu::cpuThreads(), 1);
  cpu::setCpuThreads(0);
  EXPECT_EQ(cpu::cpuThreads(), before);
}

} // namespace
