// cpu.conv's Winograd route (backends/cpu/ConvWinograd.cpp): 3x3 stride-1 convolutions between
// blocked maps as F(2x2, 3x3) around a oneDNN 1x1 convolution. Same harness and truth as
// cpu_kernels_test: the reference Conv, plus the direct route (Winograd and im2col turned off).
#include "tests/unit/CpuKernelHarness.h"

#include <gtest/gtest.h>

using namespace plumb;
using namespace plumb::cputest;

namespace {

struct RouteSwitches {
  int64_t im2col = cpu::im2colConvMaxPixels();
  ~RouteSwitches() {
    cpu::setIm2colConvMaxPixels(im2col);
    cpu::setWinogradConv(true);
  }
};

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
  RouteSwitches restore;
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
    cpu::setIm2colConvMaxPixels(restore.im2col);
    expectClose(winograd, direct, kDotTol);
  }
}

// Which steps take the route: the per-op yardstick names it for an eligible step, and not for
// a stride 2, a 5x5 kernel, a GELU after, a residual sum, a runtime bias, or the route off.
TEST(CpuConv, WinogradRouteIsTakenOnlyWhereItApplies) {
  if (cpu::channelBlock() != 8)
    GTEST_SKIP() << "the Winograd route is taken on AVX2 (block 8) only";
  RouteSwitches restore;
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
  RouteSwitches restore;
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

} // namespace
