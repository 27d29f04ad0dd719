// cpu.conv's Winograd route (backends/cpu/ConvWinograd.cpp): 3x3 stride-1 convolutions between
// blocked maps as F(2x2, 3x3) around a oneDNN 1x1 convolution. Same harness and truth as
// cpu_kernels_test: the reference Conv, plus the direct route (Winograd and im2col turned off).
#include "tests/unit/CpuKernelHarness.h"

#include "runtime/Artifact.h"
#include "runtime/Executor.h"
#include "runtime/Packing.h"
#include "tests/unit/ArtifactTestUtil.h"

#include <gtest/gtest.h>

using namespace plumb;
using namespace plumb::cputest;

namespace {

// Against the reference and the direct route: maps whose sides are odd (a last tile half
// outside), asymmetric pads, no pads, pads wider than the kernel's reach, batches, channel
// counts that are not powers of two, bias or none, Relu, LeakyRelu, nothing after.
TEST(CpuConv, WinogradRouteMatchesReferenceAndDirectRoute) {
  if (cpu::channelBlock() != 8)
    GTEST_SKIP() << "the Winograd route is taken on AVX2 (block 8) only; this CPU blocks by "
                 << cpu::channelBlock();
  struct Case {
    Shape x;
    int64_t m;
    std::vector<int64_t> pads;
    bool bias;
    std::vector<std::string> post;
  };
  const std::vector<Case> cases = {
      {{1, 16, 14, 14}, 32, {1, 1, 1, 1}, true, {"relu"}},
      {{2, 8, 9, 7}, 16, {1, 0, 1, 2}, false, {}},
      {{1, 24, 5, 6}, 8, {0, 0, 0, 0}, true, {"leaky_relu:0.1"}},
      {{3, 8, 4, 4}, 24, {2, 2, 2, 2}, true, {"relu"}},
      {{1, 8, 3, 3}, 8, {0, 0, 0, 0}, false, {}},
      {{1, 64, 56, 56}, 64, {1, 1, 1, 1}, true, {"relu"}},
      {{2, 40, 13, 11}, 48, {1, 1, 1, 1}, true, {}},
  };
  ConvRoutes restore(cpu::im2colConvMaxPixels(), true);
  for (const Case &c : cases) {
    SCOPED_TRACE("x=" + shapeToString(c.x) + " m=" + std::to_string(c.m) + " pads=" +
                 join(c.pads) + " post=" + join(c.post));
    Tensor x = randomF32(c.x, 5), w = randomF32({c.m, c.x[1], 3, 3}, 6);
    Tensor b = c.bias ? randomF32({c.m}, 7) : Tensor();
    ref::Attrs attrs;
    attrs.set("pads", intsAttr(c.pads));
    Tensor want = refPostOps(refOp("Conv", {&x, &w, c.bias ? &b : nullptr}, attrs), c.post, nullptr);
    attrs.set("post_ops", stringsAttr(c.post));
    std::vector<Arg> args{{x, false, Layout::ChannelBlocked}, {w, true}, {b, true}};
    cpu::setWinogradConv(true);
    Tensor winograd = runCpu("cpu.conv", attrs, args, want.shape(), 17, Layout::ChannelBlocked);
    expectClose(winograd, want, kDotTol);
    cpu::setWinogradConv(false);
    cpu::setIm2colConvMaxPixels(0);
    Tensor direct = runCpu("cpu.conv", attrs, args, want.shape(), 17, Layout::ChannelBlocked);
    cpu::setIm2colConvMaxPixels(restore.im2colDefault);
    expectClose(winograd, direct, kDotTol);
  }
}

// Which steps take the route: the per-op yardstick names it for an eligible step, and not for
// a stride 2, a 5x5 kernel, a GELU after, a residual sum, a runtime bias, or the route off.
TEST(CpuConv, WinogradRouteIsTakenOnlyWhereItApplies) {
  if (cpu::channelBlock() != 8)
    GTEST_SKIP() << "the Winograd route is taken on AVX2 (block 8) only";
  ConvRoutes restore(cpu::im2colConvMaxPixels(), true);
  struct Variant {
    int64_t k = 3, stride = 1;
    std::vector<std::string> post;
    bool constBias = true, on = true;
  };
  auto routeOf = [](const Variant &v) {
    cpu::setWinogradConv(v.on);
    Shape xs{1, 16, 14, 14}, ys{1, 16, 14 / v.stride, 14 / v.stride};
    Step step;
    step.kernel = "cpu.conv";
    int64_t p = v.k / 2;
    step.attrs.set("pads", intsAttr({p, p, p, p}));
    step.attrs.set("strides", intsAttr({v.stride, v.stride}));
    step.attrs.set("post_ops", stringsAttr(v.post));
    Tensor w = randomF32({16, 16, v.k, v.k}, 1), b = randomF32({16}, 2);
    Tensor r = randomF32(ys, 3);
    std::vector<BufferInfo> in{{true, DType::F32, xs, "x", Layout::ChannelBlocked},
                               {true, DType::F32, w.shape(), "w"},
                               {true, DType::F32, b.shape(), "b"}};
    std::vector<const Tensor *> consts{nullptr, &w, v.constBias ? &b : nullptr};
    bool sum = !v.post.empty() && v.post[0] == "sum";
    if (sum) {
      in.push_back({true, DType::F32, ys, "r", Layout::ChannelBlocked});
      consts.push_back(nullptr);
    }
    BufferInfo out{true, DType::F32, ys, "y", Layout::ChannelBlocked};
    auto k = (*cpu::cpuKernelRegistry().find("cpu.conv"))(step, in, {out}, consts);
    auto alone = k->alone();
    return alone ? alone->shape : std::string("(none)");
  };
  EXPECT_NE(routeOf({}).find("winograd"), std::string::npos) << routeOf({});
  EXPECT_NE(routeOf({3, 1, {"relu"}}).find("winograd"), std::string::npos);
  EXPECT_EQ(routeOf({3, 2, {}}).find("winograd"), std::string::npos);
  EXPECT_EQ(routeOf({5, 1, {}}).find("winograd"), std::string::npos);
  EXPECT_EQ(routeOf({3, 1, {"gelu_erf"}}).find("winograd"), std::string::npos);
  EXPECT_EQ(routeOf({3, 1, {"sum"}}).find("winograd"), std::string::npos);
  EXPECT_EQ(routeOf({3, 1, {}, false}).find("winograd"), std::string::npos);
  EXPECT_EQ(routeOf({3, 1, {}, true, false}).find("winograd"), std::string::npos);
}

// Kernels prepared over one constant (the executors of a session's pool) share one copy of the
// transformed weights (sharedDerived), and free it with the last of them.
TEST(CpuConv, WinogradWeightsAreSharedBetweenKernels) {
  if (cpu::channelBlock() != 8)
    GTEST_SKIP() << "the Winograd route is taken on AVX2 (block 8) only";
  ConvRoutes restore(cpu::im2colConvMaxPixels(), true);
  cpu::setWinogradConv(true);
  Step step;
  step.kernel = "cpu.conv";
  step.attrs.set("pads", intsAttr({1, 1, 1, 1}));
  Shape xs{1, 16, 10, 10}, ys{1, 24, 10, 10};
  Tensor w = randomF32({24, 16, 3, 3}, 1);
  std::vector<BufferInfo> in{{true, DType::F32, xs, "x", Layout::ChannelBlocked},
                             {true, DType::F32, w.shape(), "w"}};
  BufferInfo out{true, DType::F32, ys, "y", Layout::ChannelBlocked};
  const auto &factory = *cpu::cpuKernelRegistry().find("cpu.conv");
  cpu::SharedWeightStats before = cpu::sharedWeightStats();
  auto first = factory(step, in, {out}, {nullptr, &w});
  ASSERT_NE(first->alone()->shape.find("winograd"), std::string::npos);
  cpu::SharedWeightStats one = cpu::sharedWeightStats();
  EXPECT_EQ(one.misses - before.misses, 1u);
  EXPECT_EQ(one.live - before.live, 1u);
  auto second = factory(step, in, {out}, {nullptr, &w});
  cpu::SharedWeightStats two = cpu::sharedWeightStats();
  EXPECT_EQ(two.misses, one.misses);
  EXPECT_EQ(two.hits - one.hits, 1u);
  EXPECT_EQ(two.live, one.live);
  first.reset();
  second.reset();
  EXPECT_EQ(cpu::sharedWeightStats().live, before.live);
}

// x -> 1x1 conv -> (blocked) -> 3x3 conv + bias + Relu, the Winograd route -> (blocked) -> 1x1
// conv -> y, as a plan.
struct WinogradPlan {
  Plan plan;
  int w3 = -1;
  Tensor x = randomF32({1, 16, 8, 8}, 3);
  WinogradPlan() {
    int in = plan.addInput(DType::F32, {1, 16, 8, 8}, "x");
    int y = plan.addOutput(DType::F32, {1, 16, 8, 8}, "y");
    auto blocked = [&](const std::string &name, Shape s) {
      int id = plan.addBuffer(BufferKind::Intermediate, DType::F32, s, name);
      plan.buffers[size_t(id)].layout = Layout::ChannelBlocked;
      return id;
    };
    int t1 = blocked("t1", {1, 16, 8, 8}), t2 = blocked("t2", {1, 32, 8, 8});
    plan.addStep("cpu.conv", {in, plan.addConstant("w_in", randomF32({16, 16, 1, 1}, 4)), -1},
                 {t1}, "in");
    w3 = plan.addConstant("w3", randomF32({32, 16, 3, 3}, 5));
    Step &c = plan.addStep("cpu.conv", {t1, w3, plan.addConstant("b3", randomF32({32}, 6))},
                           {t2}, "winograd");
    c.attrs.set("pads", intsAttr({1, 1, 1, 1}));
    c.attrs.set("post_ops", stringsAttr({"relu"}));
    plan.addStep("cpu.conv", {t2, plan.addConstant("w_out", randomF32({16, 32, 1, 1}, 7)), -1},
                 {y}, "out");
  }
};

std::vector<Tensor> runPlan(const Plan &plan, const Tensor &x) {
  Executor e(plan, cpu::cpuKernelRegistry());
  return e.run({x});
}

// An artifact stores the transformed weights (transform=winograd_f2x2_3x3, 16 blocks in the
// 1x1 kernel's layout); loading uses the mapped bytes in place, transforms nothing, and
// computes bit for bit what the plain plan computes. Stored in another layout (another
// machine's), they are reordered; the blocks here are U = G g Gᵀ computed by this test from the
// 3x3 weights, an independent check of the kernel's transform.
TEST(CpuConv, WinogradWeightsStoredTransformedInTheArtifact) {
  if (cpu::channelBlock() != 8)
    GTEST_SKIP() << "the Winograd route is taken on AVX2 (block 8) only";
  ConvRoutes restore(cpu::im2colConvMaxPixels(), true);
  cpu::setWinogradConv(true);
  WinogradPlan plain;
  std::vector<Tensor> want = runPlan(plain.plan, plain.x);

  WinogradPlan packed;
  cpu::prepackWeights(packed.plan);
  const Buffer &u = packed.plan.buffers[size_t(packed.w3)];
  ASSERT_NE(u.packing.find("transform=winograd_f2x2_3x3"), std::string::npos) << u.packing;
  EXPECT_EQ(u.constant.nbytes(), size_t(16 * 32 * 16 * 4));
  std::string path = tempPath("winograd.plumb");
  writeArtifact(path, packed.plan);
  Plan mapped = readArtifact(path);
  cpu::SharedWeightStats before = cpu::sharedWeightStats();
  Executor e(mapped, cpu::cpuKernelRegistry());
  EXPECT_EQ(cpu::sharedWeightStats().misses, before.misses) << "a weight was transformed at load";
  std::vector<PackedConstant> held = e.kernel(1).packedConstants();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].data, mapped.buffers[size_t(packed.w3)].constant.raw());
  expectBitwise(e.run({packed.x}), want);
  // Stored transformed, the route is taken even where it is turned off.
  cpu::setWinogradConv(false);
  expectBitwise(runPlan(mapped, packed.x), want);
  cpu::setWinogradConv(true);

  // Another machine's layout: the 16 blocks row-major {O, C, 1}.
  const float *g = plain.plan.buffers[size_t(plain.w3)].constant.data<float>();
  std::vector<float> blocks(16 * 32 * 16);
  for (int64_t oc = 0; oc < 32 * 16; ++oc) {
    const float *w = g + oc * 9;
    float t[4][3];
    for (int j = 0; j < 3; ++j) {
      t[0][j] = w[j];
      t[1][j] = 0.5f * (w[j] + w[3 + j] + w[6 + j]);
      t[2][j] = 0.5f * (w[j] - w[3 + j] + w[6 + j]);
      t[3][j] = w[6 + j];
    }
    for (int i = 0; i < 4; ++i) {
      float r[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]),
                    0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
      for (int j = 0; j < 4; ++j)
        blocks[size_t((4 * i + j) * 32 * 16 + oc)] = r[j];
    }
  }
  PackedLayout rowMajor;
  rowMajor.dims = rowMajor.padded = {32, 16, 1};
  rowMajor.strides = {16, 1, 1};
  rowMajor.transform = kWinogradF2x3;
  Plan foreign = packed.plan;
  foreign.buffers[size_t(packed.w3)].constant =
      Tensor::copyOf(DType::U8, {int64_t(blocks.size() * 4)}, blocks.data());
  foreign.buffers[size_t(packed.w3)].packing = formatPacking(rowMajor);
  before = cpu::sharedWeightStats();
  Executor f(foreign, cpu::cpuKernelRegistry());
  EXPECT_EQ(cpu::sharedWeightStats().misses - before.misses, 1u);
  expectBitwise(f.run({packed.x}), want);

  // Transformed weights where this route cannot run (a stride-2 step) or where a kernel does
  // not know the transform: one-line refusals naming why.
  auto refusal = [](const Plan &p) {
    try {
      Executor bad(p, cpu::cpuKernelRegistry());
    } catch (const Error &err) {
      return std::string(err.what());
    }
    return std::string("(accepted)");
  };
  Plan strided = packed.plan;
  strided.steps[1].attrs.set("strides", intsAttr({2, 2}));
  strided.buffers[size_t(strided.steps[1].outputs[0])].shape = {1, 32, 4, 4};
  strided.steps[2].attrs.set("strides", intsAttr({1, 1}));
  std::string m = refusal(strided);
  EXPECT_NE(m.find("weights stored for the Winograd route, which this convolution cannot take"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

} // namespace
