// Channel-blocked intermediates in the CPU plan: which buffers the lowering blocks, that the
// executor and artifact keep the layout, and that blocking changes no bit of any tensor.
#include "backends/cpu/CpuBackend.h"
#include "backends/cpu/lowering/Lowering.h"
#include "runtime/Artifact.h"
#include "runtime/BufferPlanner.h"
#include "runtime/Error.h"
#include "runtime/Executor.h"
#include "tests/TempFiles.h"
#include "tests/TestAttrs.h"
#include "tests/unit/CpuKernelHarness.h"
#include "tools/lib/Compile.h"
#include "tools/lib/Inputs.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

namespace plumb {
namespace {

using namespace testattrs;

// conv -> conv(+sum residual) -> pool -> copy, plus a conv whose output feeds a non-blockable
// slot and one with too few channels for blocking.
TEST(ChooseLayouts, BlocksOnlyWhatLayoutAwareStepsTouch) {
  Plan p;
  Tensor w16 = Tensor::empty(DType::F32, {16, 16, 1, 1});
  int x = p.addInput(DType::F32, {1, 16, 8, 8}, "x");
  int w = p.addConstant("w", w16);
  int a = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 8, 8}, "a");
  int b = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 8, 8}, "b");
  int c = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 4, 4}, "c");
  int d = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 256}, "d");
  int e = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 8, 8}, "e");
  int f = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 8, 8, 8}, "f");
  int g = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 8, 8, 8}, "g");
  int y = p.addOutput(DType::F32, {1, 16, 8, 8}, "y");
  p.addStep("cpu.conv", {x, w}, {a});
  p.addStep("cpu.conv", {a, w, -1, a}, {b}).attrs.set("post_ops", stringsAttr({"sum"}));
  Step &pool = p.addStep("cpu.pool", {b}, {c});
  pool.attrs.set("op", stringAttr("MaxPool"));
  p.addStep("cpu.copy", {c}, {d});             // plain reader: c stays plain
  p.addStep("cpu.conv", {a, w}, {e});          // e is read as weights below: plain
  p.addStep("cpu.conv", {x, e}, {f});          // f has 8 channels: plain
  p.addStep("cpu.pool", {f}, {g}).attrs.set("op", stringAttr("MaxPool"));
  p.addStep("cpu.conv", {b, w}, {y});          // graph outputs stay plain
  EXPECT_EQ(cpu::chooseLayouts(p), 2);
  std::map<std::string, Layout> got;
  for (const Buffer &buf : p.buffers)
    got[buf.name] = buf.layout;
  EXPECT_EQ(got["a"], Layout::ChannelBlocked); // conv source and residual
  EXPECT_EQ(got["b"], Layout::ChannelBlocked); // pool and conv source
  for (const char *plain : {"x", "w", "c", "d", "e", "f", "g", "y"})
    EXPECT_EQ(got[plain], Layout::Plain) << plain;
  validatePlan(p);
}

TEST(ChooseLayouts, PlanValidationAndExecutorRefuseMisplacedLayouts) {
  Plan p;
  int x = p.addInput(DType::F32, {1, 16, 4, 4}, "x");
  int y = p.addOutput(DType::F32, {1, 16, 4, 4}, "y");
  p.addStep("ref.Relu", {x}, {y});
  p.buffers[size_t(y)].layout = Layout::ChannelBlocked;
  EXPECT_THROW(validatePlan(p), Error); // outputs are plain
  p.buffers[size_t(y)].layout = Layout::Plain;
  int t = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 12, 4, 4}, "t");
  p.addStep("ref.Relu", {y}, {t});
  p.buffers[size_t(t)].layout = Layout::ChannelBlocked;
  EXPECT_THROW(validatePlan(p), Error); // 12 channels: not a multiple of 16
  p.buffers[size_t(t)].shape = {1, 16, 4, 4};
  validatePlan(p);
  KernelFactoryRegistry noConverter;
  noConverter.add("ref.*", *cpu::cpuKernelRegistry().find("ref.Relu"));
  try {
    Executor ex(p, noConverter);
    FAIL() << "an executor without a layout converter accepted a blocked buffer";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("'t' is channel-blocked"), std::string::npos) << e.what();
  }
}

// resnet_tiny compiled for the CPU has blocked intermediates and residual sums computed in
// place; with every layout reset to plain and no in-place outputs, the same plan gives bitwise
// the same outputs and the same observed tensor at every step (reorders move values, they do
// not round them; the residual is the same either way), and an artifact keeps both.
TEST(ChannelBlocked, ResNetTinyIsBitwiseTheSameAsPlain) {
  mlir::MLIRContext ctx;
  std::vector<Tensor> inputs;
  std::string dir = std::string(PLUMB_SOURCE_DIR) + "/tests/models/";
  auto module =
      importWithInputs(ctx, dir + "resnet_tiny.onnx", {}, dir + "resnet_tiny.inputs.npz", 0, inputs);
  CompileSettings cs;
  cs.shapeInputs = inputs;
  Compiled c = compileModule(std::move(module), cs);
  if (cpu::channelBlock() == 0)
    GTEST_SKIP() << "oneDNN prefers plain activations on this CPU: nothing is blocked";
  ASSERT_GT(c.lowering.blockedBuffers, 0);
  // The im2col and Winograd routes, taken only on blocked maps, sum in another order than
  // the direct convolution the plain plan gets: they have their own tests
  // (cpu_conv_im2col_test, cpu_conv_winograd_test).
  cputest::ConvRoutes directOnly(0, false);

  Plan plain = c.plan;
  for (Buffer &b : plain.buffers)
    b.layout = Layout::Plain;
  int64_t inPlace = 0;
  for (int alias : inPlaceAliases(c.plan))
    inPlace += alias >= 0;
  EXPECT_GT(inPlace, 0) << "no residual sum took its residual's memory";
  for (Step &s : plain.steps)
    s.inPlaceInput = -1;
  std::string path = testing_util::scratchPath("resnet_tiny_blocked.plumb");
  writeArtifact(path, c.plan);
  Plan loaded = readArtifact(path);
  int64_t blockedLoaded = 0;
  for (const Buffer &b : loaded.buffers)
    blockedLoaded += b.layout == Layout::ChannelBlocked;
  EXPECT_EQ(blockedLoaded, c.lowering.blockedBuffers);
  EXPECT_EQ(inPlaceAliases(loaded), inPlaceAliases(c.plan));

  auto runObserved = [&](const Plan &plan, std::map<std::string, Tensor> &seen) {
    Executor ex(plan, cpu::cpuKernelRegistry());
    ex.setObserver([&](const std::string &name, const Tensor &v) { seen[name] = v.clone(); });
    return ex.run(inputs);
  };
  std::map<std::string, Tensor> seenBlocked, seenPlain, seenLoaded;
  std::vector<Tensor> outBlocked = runObserved(c.plan, seenBlocked);
  std::vector<Tensor> outPlain = runObserved(plain, seenPlain);
  std::vector<Tensor> outLoaded = runObserved(loaded, seenLoaded);
  ASSERT_EQ(outBlocked.size(), outPlain.size());
  for (size_t i = 0; i < outBlocked.size(); ++i) {
    EXPECT_EQ(std::memcmp(outBlocked[i].raw(), outPlain[i].raw(), outPlain[i].nbytes()), 0);
    EXPECT_EQ(std::memcmp(outLoaded[i].raw(), outPlain[i].raw(), outPlain[i].nbytes()), 0);
  }
  ASSERT_EQ(seenBlocked.size(), seenPlain.size());
  for (const auto &[name, v] : seenPlain) {
    ASSERT_TRUE(seenBlocked.count(name)) << name;
    const Tensor &b = seenBlocked.at(name);
    ASSERT_EQ(b.shape(), v.shape()) << name;
    EXPECT_EQ(std::memcmp(b.raw(), v.raw(), v.nbytes()), 0) << "observed '" << name << "' differs";
  }
}

// Per-element steps between convolutions keep the blocked layout: conv -> eltwise ->
// batch_norm -> chain (x * 2) -> binary (+ the conv's output) -> conv. What a broadcasting
// binary or chain, or a chain with a reduction, reads stays plain; so does a group of buffers
// that no convolution or pool touches.
struct PerElementPlan {
  Plan p;
  Tensor w = randomF32({16, 16, 3, 3}, 1, -0.3f, 0.3f), bias16 = randomF32({16}, 2);
  Tensor var16 = randomF32({16}, 3, 0.5f, 2.f);
  PerElementPlan() {
    Shape s{2, 16, 6, 6};
    int x = p.addInput(DType::F32, s, "x");
    int wi = p.addConstant("w", w), b16 = p.addConstant("b16", bias16);
    int v16 = p.addConstant("v16", var16), two = p.addConstant("two", Tensor::scalarF32(2.f));
    int c16 = p.addConstant("c16", Tensor::copyOf(DType::F32, {16, 1, 1}, bias16.raw()));
    auto buf = [&](const char *n, Shape sh) {
      return p.addBuffer(BufferKind::Intermediate, DType::F32, sh, n);
    };
    int a = buf("a", s), b = buf("b", s), c = buf("c", s), d = buf("d", s), e = buf("e", s);
    int f = buf("f", s), g = buf("g", s), h = buf("h", {2, 16, 6, 1}), k = buf("k", s);
    int l = buf("l", s), m = buf("m", s);
    int y = p.addOutput(DType::F32, s, "y"), z = p.addOutput(DType::F32, s, "z");
    auto conv = [&](int in, int out) {
      p.addStep("cpu.conv", {in, wi, b16}, {out}).attrs.set("pads", intsAttr({1, 1, 1, 1}));
    };
    conv(x, a);
    p.addStep("cpu.eltwise", {a}, {b}).attrs.set("op", stringAttr("Relu"));
    p.addStep("cpu.batch_norm", {b, v16, b16, b16, v16}, {c});
    Step &ch2 = p.addStep("cpu.chain", {c, two}, {e}); // c * 2: per element
    ch2.attrs = chainAttrs(s, {"Mul"}, {0, 1, -1}, {2});
    p.addStep("cpu.binary", {e, a}, {f}).attrs.set("op", stringAttr("Add"));
    conv(f, g);
    Step &ch = p.addStep("cpu.chain", {g, two, c16}, {d}); // g * 2 + c16 (broadcast): plain
    ch.attrs = chainAttrs(s, {"Mul", "Add"}, {0, 1, -1, 3, 2, -1}, {4});
    Step &red = p.addStep("cpu.chain", {g}, {h}); // row max: reductions stay plain
    red.attrs = chainAttrs(s, {"ReduceMax"}, {0, -1, -1}, {1});
    p.addStep("cpu.binary", {g, h}, {k}).attrs.set("op", stringAttr("Sub")); // broadcast
    p.addStep("cpu.eltwise", {d}, {l}).attrs.set("op", stringAttr("Exp"));   // d's group: plain
    p.addStep("cpu.eltwise", {l}, {m}).attrs.set("op", stringAttr("Neg"));
    conv(k, y);
    p.addStep("cpu.eltwise", {m}, {z}).attrs.set("op", stringAttr("Relu"));
  }
  static ref::Attrs chainAttrs(const Shape &s, std::vector<std::string> ops,
                               std::vector<int64_t> args, std::vector<int64_t> outs) {
    ref::Attrs at;
    at.set("shape", intsAttr(s));
    at.set("ops", stringsAttr(ops));
    at.set("args", intsAttr(args));
    at.set("params", floatsAttr(std::vector<double>(2 * ops.size(), 0.0)));
    at.set("outs", intsAttr(outs));
    return at;
  }
};

TEST(ChooseLayouts, PerElementStepsBetweenConvolutionsStayBlocked) {
  PerElementPlan pe;
  Plan &p = pe.p;
  int64_t blocked = cpu::chooseLayouts(p);
  std::map<std::string, Layout> got;
  for (const Buffer &buf : p.buffers)
    got[buf.name] = buf.layout;
  for (const char *b : {"a", "b", "c", "e", "f"})
    EXPECT_EQ(got[b], Layout::ChannelBlocked) << b;
  // g feeds a broadcasting Sub, a broadcasting chain and a reduction; d, l and m only
  // per-element steps (nothing saved); h, k are not per element.
  for (const char *plain : {"d", "g", "h", "k", "l", "m", "x", "y", "z"})
    EXPECT_EQ(got[plain], Layout::Plain) << plain;
  EXPECT_EQ(blocked, 5);
  validatePlan(p);
}

// The same plan with and without blocking gives the same tensors: oneDNN's batch norm rounds
// differently on blocked data (measured: 2.4e-7 on 'c'), and the differences then grow
// through the convolutions and exp (relative, 1e-5 covers them); the per-element kernels
// themselves are bitwise layout-independent (next test).
TEST(ChannelBlocked, PerElementStepsGiveTheSameAsPlain) {
  if (cpu::channelBlock() == 0)
    GTEST_SKIP() << "oneDNN prefers plain activations on this CPU: nothing is blocked";
  PerElementPlan blockedPlan, plainPlan;
  ASSERT_GT(cpu::chooseLayouts(blockedPlan.p), 0);
  Tensor x = randomF32({2, 16, 6, 6}, 9);
  auto runObserved = [&](const Plan &plan, std::map<std::string, Tensor> &seen) {
    Executor ex(plan, cpu::cpuKernelRegistry());
    ex.setObserver([&](const std::string &name, const Tensor &v) { seen[name] = v.clone(); });
    return ex.run({x});
  };
  std::map<std::string, Tensor> seenBlocked, seenPlain;
  runObserved(blockedPlan.p, seenBlocked);
  runObserved(plainPlan.p, seenPlain);
  ASSERT_EQ(seenBlocked.size(), seenPlain.size());
  for (const auto &[name, v] : seenPlain) {
    SCOPED_TRACE("observed '" + name + "'");
    cputest::expectClose(seenBlocked.at(name), v, 1e-5);
  }
}

// Each per-element kernel on channel-blocked operands gives bitwise what it gives on plain ones.
TEST(ChannelBlocked, PerElementKernelsAreLayoutIndependent) {
  if (cpu::channelBlock() == 0)
    GTEST_SKIP() << "oneDNN prefers plain activations on this CPU: nothing is blocked";
  Shape s{2, 32, 5, 7};
  Tensor a = randomF32(s, 1, -3, 3), b = randomF32(s, 2, -3, 3);
  using cputest::Arg;
  auto same = [&](const std::string &kernel, const ref::Attrs &at, std::vector<Tensor> ins) {
    std::vector<Arg> blocked, plain;
    for (const Tensor &t : ins) {
      bool full = t.shape() == s;
      blocked.push_back({t, false, full ? Layout::ChannelBlocked : Layout::Plain});
      plain.push_back({t, false, Layout::Plain});
    }
    Tensor yb = cputest::runCpu(kernel, at, blocked, s, 17, Layout::ChannelBlocked);
    Tensor yp = cputest::runCpu(kernel, at, plain, s, 17, Layout::Plain);
    EXPECT_EQ(std::memcmp(yb.raw(), yp.raw(), yp.nbytes()), 0) << kernel;
  };
  for (const char *op : {"Relu", "Gelu", "Exp", "Tanh", "HardSwish"}) {
    ref::Attrs at;
    at.set("op", stringAttr(op));
    same("cpu.eltwise", at, {a});
  }
  for (const char *op : {"Add", "Sub", "Mul", "Div", "Max"}) {
    ref::Attrs at;
    at.set("op", stringAttr(op));
    same("cpu.binary", at, {a, b});
  }
  // (a * b + 0.5) then sigmoid, with the scalar a plain single value.
  same("cpu.chain",
       PerElementPlan::chainAttrs(s, {"Mul", "Add", "Sigmoid"}, {0, 1, -1, 3, 2, -1, 4, -1, -1},
                                  {5}),
       {a, b, Tensor::scalarF32(0.5f)});
}

// A kernel given operands of the output's shape in different layouts, or a blocked operand
// it would have to broadcast, refuses in one line.
TEST(ChannelBlocked, PerElementKernelsRefuseMixedLayouts) {
  Shape s{1, 16, 4, 4};
  auto info = [](Shape sh, Layout l) { return BufferInfo{true, DType::F32, sh, "", l}; };
  auto refuse = [&](const std::string &kernel, ref::Attrs at, std::vector<BufferInfo> in,
                    std::vector<BufferInfo> out, const std::string &what) {
    Step st;
    st.kernel = kernel;
    st.attrs = at;
    std::vector<const Tensor *> constants(in.size(), nullptr);
    try {
      (*cpu::cpuKernelRegistry().find(kernel))(st, in, out, constants);
      ADD_FAILURE() << kernel << " accepted";
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  ref::Attrs relu;
  relu.set("op", stringAttr("Relu"));
  refuse("cpu.eltwise", relu, {info(s, Layout::ChannelBlocked)}, {info(s, Layout::Plain)},
         "different layouts");
  ref::Attrs add;
  add.set("op", stringAttr("Add"));
  refuse("cpu.binary", add, {info(s, Layout::ChannelBlocked), info({16, 1, 1}, Layout::Plain)},
         {info(s, Layout::ChannelBlocked)}, "broadcasts only plain");
  refuse("cpu.chain", PerElementPlan::chainAttrs(s, {"ReduceMax"}, {0, -1, -1}, {1}),
         {info(s, Layout::ChannelBlocked)}, {info({1, 16, 4, 1}, Layout::Plain)},
         "plain tensors only");
  refuse("cpu.chain", PerElementPlan::chainAttrs(s, {"Add"}, {0, 1, -1}, {2}),
         {info(s, Layout::ChannelBlocked), info(s, Layout::Plain)}, {info(s, Layout::Plain)},
         "different layouts");
}

} // namespace
} // namespace plumb
