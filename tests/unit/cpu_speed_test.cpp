// Speed of cpu.conv against the reference Conv on a ResNet stage-1 shape (printed), with a
// parity check of the timed result; the one assertion on time is that oneDNN wins.
#include "backends/cpu/CpuBackend.h"
#include "backends/reference/Kernel.h"
#include "tests/TestAttrs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

using namespace plumb;

namespace {

using testattrs::randomF32;

TEST(CpuConvSpeed, ResNetShape) {
  Tensor x = randomF32({1, 64, 56, 56}, 1, -1, 1), w = randomF32({64, 64, 3, 3}, 2, -0.1f, 0.1f);
  Tensor b = randomF32({64}, 3, -1, 1);
  ref::Attrs attrs;
  attrs.set("pads", ref::intsAttr({1, 1, 1, 1}));
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  ref::KernelCall call;
  call.opType = "Conv";
  call.inputs = {&x, &w, &b};
  call.attrs = &attrs;
  auto t0 = Clock::now();
  Tensor want = ref::runKernel(call)[0];
  double refMs = ms(t0);

  Step step;
  step.kernel = "cpu.conv";
  step.attrs = attrs;
  std::vector<BufferInfo> ins{{true, DType::F32, x.shape(), "x"},
                              {true, DType::F32, w.shape(), "w"},
                              {true, DType::F32, b.shape(), "b"}};
  std::vector<BufferInfo> outs{{true, DType::F32, want.shape(), "y"}};
  auto k = (*cpu::cpuKernelRegistry().find("cpu.conv"))(step, ins, outs, {nullptr, &w, &b});
  Tensor y = Tensor::empty(DType::F32, want.shape());
  std::vector<const Tensor *> in{&x, &w, &b};
  std::vector<Tensor *> out{&y};
  k->run(in, out); // warm-up: first touch of scratch memory, OpenMP thread start
  // Best of 20: the machine may be shared, and the fastest run is the kernel's own speed.
  double cpuMs = 1e30;
  for (int i = 0; i < 20; ++i) {
    t0 = Clock::now();
    k->run(in, out);
    cpuMs = std::min(cpuMs, ms(t0));
  }
  double gflop = 2.0 * 64 * 64 * 9 * 56 * 56 / 1e9;
  std::printf("conv 1x64x56x56, 64 filters 3x3 pad 1, %d thread(s): cpu.conv %.2f ms (%.1f "
              "GFLOP/s), ref Conv %.1f ms (%.2f GFLOP/s), speed-up %.0fx\n",
              cpu::cpuThreads(), cpuMs, gflop / cpuMs * 1e3, refMs, gflop / refMs * 1e3,
              refMs / cpuMs);
  // The bound of cpu_kernels_test.cpp's convolutions (K = 576 here).
  for (int64_t i = 0; i < want.numel(); ++i) {
    float r = want.data<float>()[i];
    ASSERT_LE(std::fabs(y.data<float>()[i] - r), 1e-4 * (1 + std::fabs(r))) << "element " << i;
  }
  EXPECT_LT(cpuMs, refMs);
}

} // namespace
