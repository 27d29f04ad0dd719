// cpu.softmax's own kernels (vec::logSoftmaxBlock, vec::softmaxBlock: LogSoftmax, and Softmax
// along an axis with dims after it) against the exact result in ulps; the table cases in
// cpu_kernels_test.cpp hold both paths to the reference kernel.
#include "tests/unit/CpuKernelHarness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace plumb;
using namespace plumb::cputest;

namespace {

// LogSoftmax, and Softmax along a channel axis, against the exact result (double, rounded
// once to f32), in ulps: rows where one entry dominates (the others' exponentials sum to
// 1e-1 .. 1e-7, so the largest entry's log-softmax is -log(1 + small), where oneDNN's
// softmax_log was 2864 ulps off), over a last axis of 1003 (8 lanes and a tail) and a channel
// axis with 12 entries inside (8 columns at once and a scalar tail); a row with a NaN, one of
// -inf only and one with +inf give NaN, -inf entries next to finite ones -inf, as the
// reference kernel gives them.
TEST(CpuSoftmax, WithinUlpsOfDouble) {
  auto exact = [](const Tensor &x, int64_t len, int64_t inner, bool log) {
    std::vector<double> y(size_t(x.numel()));
    const float *p = x.data<float>();
    for (int64_t o = 0; o < x.numel() / (len * inner); ++o)
      for (int64_t j = 0; j < inner; ++j) {
        auto at = [&](int64_t i) { return size_t(o * len * inner + i * inner + j); };
        double m = -INFINITY, s = 0;
        for (int64_t i = 0; i < len; ++i)
          m = std::max(m, double(p[at(i)]));
        for (int64_t i = 0; i < len; ++i)
          s += std::exp(double(p[at(i)]) - m);
        for (int64_t i = 0; i < len; ++i) {
          double d = double(p[at(i)]) - m - std::log(s);
          y[at(i)] = log ? d : std::exp(d);
        }
      }
    return y;
  };
  struct Case {
    std::string op;
    Shape shape;
    int64_t axis, len, inner;
    double maxUlps;
  };
  for (const Case &c : {Case{"LogSoftmax", {6, 1003}, -1, 1003, 1, 1.0},
                        Case{"LogSoftmax", {3, 40, 12}, 1, 40, 12, 1.0},
                        Case{"Softmax", {3, 40, 12}, 1, 40, 12, 3.0}}) {
    SCOPED_TRACE(c.op + " over " + shapeToString(c.shape));
    Tensor x = randomF32(c.shape, 7, -1, 1);
    float *p = x.mutableData<float>();
    for (int64_t o = 0; o < x.numel() / (c.len * c.inner); ++o)
      for (int64_t j = 0; j < c.inner; ++j) // entry 0 dominates by 2 .. 16 + log(len)
        p[o * c.len * c.inner + j] += 2.f + 14.f * float((o * c.inner + j) % 8) / 7.f +
                                      std::log(float(c.len));
    ref::Attrs at;
    at.set("op", stringAttr(c.op));
    at.set("axis", intAttr(c.axis));
    Tensor y = runCpu("cpu.softmax", at, {{x}}, c.shape);
    std::vector<double> want = exact(x, c.len, c.inner, c.op == "LogSoftmax");
    double worst = 0;
    for (int64_t i = 0; i < x.numel(); ++i)
      worst = std::max(worst, ulpsFrom(y.data<float>()[i], want[size_t(i)]));
    EXPECT_LE(worst, c.maxUlps);
  }
  Tensor x = Tensor::fromVector(DType::F32, {4, 9},
                                std::vector<float>{1, 2, NAN, 4, 5, 6, 7, 8, 9,
                                                   -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                                   -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                                   -INFINITY,
                                                   1, 2, 3, 4, INFINITY, 6, 7, 8, 9,
                                                   -INFINITY, 0, 1, 2, 3, 4, 5, 6, 7});
  ref::Attrs at;
  at.set("op", stringAttr("LogSoftmax"));
  Tensor y = runCpu("cpu.softmax", at, {{x}}, {4, 9});
  for (int64_t i = 0; i < 27; ++i)
    EXPECT_TRUE(std::isnan(y.data<float>()[i])) << i;
  EXPECT_EQ(y.data<float>()[27], -INFINITY);
  Tensor r = refOp("LogSoftmax", {&x}, at);
  for (int64_t i = 28; i < 36; ++i)
    EXPECT_NEAR(y.data<float>()[i], r.data<float>()[i], 1e-6) << i;
}

} // namespace
