// cpu.conv's im2col route (backends/cpu/ConvIm2col.cpp): blocked convolutions on small maps run
// as im2col + one oneDNN 1x1 convolution. Same harness and truth as cpu_kernels_test: the
// reference Conv, plus the direct route (the im2col route turned off).
#include "tests/unit/CpuKernelHarness.h"

#include <gtest/gtest.h>

using namespace plumb;
using namespace plumb::cputest;

namespace {

// The im2col route (ConvIm2col.cpp: im2col + a 1x1 convolution) that blocked convolutions on
// maps of at most 28x28 take: against the reference and against the direct route (the route
// turned off) on kernel sizes, strides, asymmetric pads, batches, bias or none, runtime bias
// and post-ops; and the route is really taken (its per-op yardstick says so) or not, by size.
TEST(CpuConv, Im2colRouteMatchesReferenceAndDirectRoute) {
  if (cpu::channelBlock() != 8)
    GTEST_SKIP() << "the im2col route is taken on AVX2 (block 8) only; this CPU blocks by "
                 << cpu::channelBlock();
  struct Case {
    Shape x;
    int64_t m, kh, kw;
    std::vector<int64_t> strides, pads;
    bool bias, constBias;
    std::vector<std::string> post;
  };
  const std::vector<Case> cases = {
      {{1, 16, 14, 14}, 32, 3, 3, {1, 1}, {1, 1, 1, 1}, true, true, {"relu"}},
      {{2, 32, 9, 7}, 16, 3, 3, {2, 2}, {1, 0, 1, 2}, false, true, {}},
      {{1, 16, 7, 7}, 16, 5, 5, {1, 1}, {2, 2, 2, 2}, true, true, {"clip:0:6"}},
      {{1, 16, 8, 10}, 32, 1, 3, {1, 2}, {0, 1, 0, 1}, true, false, {"gelu_erf"}},
      {{1, 48, 6, 6}, 16, 3, 1, {1, 1}, {1, 0, 1, 0}, true, true, {"sigmoid_mul"}},
      {{3, 16, 5, 5}, 16, 2, 2, {1, 1}, {0, 0, 0, 0}, false, true, {"tanh"}},
      {{1, 16, 28, 28}, 16, 3, 3, {1, 1}, {1, 1, 1, 1}, true, true, {"relu"}},
  };
  int64_t route = cpu::im2colConvMaxPixels();
  // The Winograd route would take the 3x3 stride-1 cases (ConvWinograd.cpp).
  ConvRoutes restore(route, false);
  for (const Case &c : cases) {
    SCOPED_TRACE("x=" + shapeToString(c.x) + " k=" + std::to_string(c.kh) + "x" +
                 std::to_string(c.kw) + " strides=" + join(c.strides) + " pads=" + join(c.pads));
    Tensor x = randomF32(c.x, 5), w = randomF32({c.m, c.x[1], c.kh, c.kw}, 6);
    Tensor b = c.bias ? randomF32({c.m}, 7) : Tensor();
    ref::Attrs attrs;
    attrs.set("strides", intsAttr(c.strides));
    attrs.set("pads", intsAttr(c.pads));
    Tensor want = refPostOps(refOp("Conv", {&x, &w, c.bias ? &b : nullptr}, attrs), c.post, nullptr);
    attrs.set("post_ops", stringsAttr(c.post));
    std::vector<Arg> args{{x, false, Layout::ChannelBlocked}, {w, true}, {b, c.constBias}};
    std::vector<Tensor> got;
    for (int64_t pixels : {route, int64_t(0)}) {
      cpu::setIm2colConvMaxPixels(pixels);
      got.push_back(runCpu("cpu.conv", attrs, args, want.shape(), 17, Layout::ChannelBlocked));
      expectClose(got.back(), want, kDotTol);
    }
    expectClose(got[0], got[1], kDotTol);
  }

  // Which route a step gets: the yardstick names the im2col route for a 14x14 map, not for
  // a 56x56 one (nor with the route off).
  auto routeOf = [&](Shape xs, int64_t pixels) {
    cpu::setIm2colConvMaxPixels(pixels);
    Step step;
    step.kernel = "cpu.conv";
    step.attrs.set("pads", intsAttr({1, 1, 1, 1}));
    Tensor w = randomF32({16, xs[1], 3, 3}, 1);
    BufferInfo in{true, DType::F32, xs, "x", Layout::ChannelBlocked};
    BufferInfo wi{true, DType::F32, w.shape(), "w"};
    BufferInfo out{true, DType::F32, {xs[0], 16, xs[2], xs[3]}, "y", Layout::ChannelBlocked};
    auto k = (*cpu::cpuKernelRegistry().find("cpu.conv"))(step, {in, wi}, {out}, {nullptr, &w});
    auto alone = k->alone();
    return alone ? alone->shape : std::string("(none)");
  };
  EXPECT_NE(routeOf({1, 16, 14, 14}, route).find("as im2col + 1x1 conv"), std::string::npos)
      << routeOf({1, 16, 14, 14}, route);
  EXPECT_EQ(routeOf({1, 16, 56, 56}, route).find("im2col"), std::string::npos);
  EXPECT_EQ(routeOf({1, 16, 14, 14}, 0).find("im2col"), std::string::npos);
}

} // namespace
