// Unit tests for Session's executor pool: executors share the weights their kernels reorder
// (one copy per process, bitwise the same results), and the pool's cap makes extra runs wait.
#include "backends/cpu/CpuBackend.h"
#include "runtime/Error.h"
#include "runtime/Session.h"
#include "tests/TestAttrs.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

using namespace plumb;

namespace {

using namespace testattrs;

// x -> conv(W, b) -> t -> flatten -> f -> Gemm(alpha 0.5, B, C) -> y, and a second Gemm over
// the same B with another alpha (a different reordered constant).
Plan convGemmPlan() {
  Plan plan;
  int x = plan.addInput(DType::F32, {1, 8, 6, 6}, "x");
  int w = plan.addConstant("w", randomF32({16, 8, 3, 3}, 1));
  int b = plan.addConstant("b", randomF32({16}, 2));
  int fcB = plan.addConstant("fcB", randomF32({16 * 36, 10}, 3));
  int fcC = plan.addConstant("fcC", randomF32({10}, 4));
  int t = plan.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 6, 6}, "t");
  int f = plan.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16 * 36}, "f");
  int y = plan.addOutput(DType::F32, {1, 10}, "y");
  int z = plan.addOutput(DType::F32, {1, 10}, "z");
  plan.addStep("cpu.conv", {x, w, b}, {t}, "conv").attrs.set("pads", intsAttr({1, 1, 1, 1}));
  plan.addStep("cpu.copy", {t}, {f}, "flatten");
  plan.addStep("cpu.matmul", {f, fcB, fcC}, {y}, "gemm").attrs.set("alpha", floatAttr(0.5));
  plan.addStep("cpu.matmul", {f, fcB}, {z}, "gemm2").attrs.set("alpha", floatAttr(2.0));
  return plan;
}

bool sameBits(const std::vector<Tensor> &a, const std::vector<Tensor> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].nbytes() != b[i].nbytes() || std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()) != 0)
      return false;
  return true;
}

TEST(SharedWeights, SecondExecutorReusesTheFirstOnesReorderedWeights) {
  Plan plan = convGemmPlan();
  Tensor x = randomF32({1, 8, 6, 6}, 5);
  cpu::SharedWeightStats before = cpu::sharedWeightStats();
  std::vector<Tensor> alone;
  {
    auto first = std::make_unique<Executor>(plan, cpu::cpuKernelRegistry());
    cpu::SharedWeightStats one = cpu::sharedWeightStats();
    // Conv weights, and B under two alphas: three reorders, nothing reused yet.
    EXPECT_EQ(one.misses - before.misses, 3u);
    EXPECT_EQ(one.hits - before.hits, 0u);
    EXPECT_EQ(one.live - before.live, 3u);
    alone = first->run({x});

    Executor second(plan, cpu::cpuKernelRegistry());
    cpu::SharedWeightStats two = cpu::sharedWeightStats();
    EXPECT_EQ(two.misses, one.misses);  // no new reorder ...
    EXPECT_EQ(two.hits - one.hits, 3u); // ... every constant reused
    EXPECT_EQ(two.live, one.live);
    EXPECT_TRUE(sameBits(second.run({x}), alone));
    EXPECT_TRUE(sameBits(first->run({x}), alone));

    // The first executor gone, the second still holds (and uses) the shared weights.
    first.reset();
    EXPECT_EQ(cpu::sharedWeightStats().live, one.live);
    EXPECT_TRUE(sameBits(second.run({x}), alone));
  }
  // The last kernel gone: the reordered copies are freed.
  EXPECT_EQ(cpu::sharedWeightStats().live, before.live);

  // Other weights at the same plan positions are other constants, never a stale hit.
  Plan other = convGemmPlan();
  other.buffers[1].constant = randomF32({16, 8, 3, 3}, 99);
  Executor a(plan, cpu::cpuKernelRegistry()), b(other, cpu::cpuKernelRegistry());
  EXPECT_FALSE(sameBits(a.run({x}), b.run({x})));
  EXPECT_TRUE(sameBits(a.run({x}), alone));
}

TEST(SharedWeights, ConcurrentSessionRunsShareAndMatchBitwise) {
  Plan plan = convGemmPlan();
  Tensor x = randomF32({1, 8, 6, 6}, 6);
  cpu::SharedWeightStats before = cpu::sharedWeightStats();
  Session s(plan, cpu::cpuKernelRegistry(), 4);
  std::vector<Tensor> want = s.run({x});
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i)
        mismatches += !sameBits(s.run({x}), want);
    });
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(mismatches.load(), 0);
  // However many executors the pool grew to, each constant was reordered once.
  EXPECT_EQ(cpu::sharedWeightStats().live - before.live, 3u);
  EXPECT_EQ(cpu::sharedWeightStats().misses - before.misses, 3u);
}

// test.slow copies its input after a pause, counting how many runs are inside it at once.
std::atomic<int> inFlight{0}, mostInFlight{0};
class SlowCopy final : public RuntimeKernel {
public:
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    int now = ++inFlight;
    for (int seen = mostInFlight; now > seen && !mostInFlight.compare_exchange_weak(seen, now);)
      ;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::memcpy(out[0]->mutableRaw(), in[0]->raw(), in[0]->nbytes());
    --inFlight;
  }
};

TEST(Session, PoolCapMakesExtraRunsWait) {
  KernelFactoryRegistry r;
  r.add("test.slow", [](const Step &, const std::vector<BufferInfo> &,
                        const std::vector<BufferInfo> &, const std::vector<const Tensor *> &) {
    return std::unique_ptr<RuntimeKernel>(new SlowCopy);
  });
  Plan plan;
  int x = plan.addInput(DType::F32, {4}, "x");
  int y = plan.addOutput(DType::F32, {4}, "y");
  plan.addStep("test.slow", {x}, {y}, "slow");
  Session s(plan, r, 2);
  EXPECT_EQ(s.maxExecutors(), 2u);
  mostInFlight = 0;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        Tensor in = Tensor::fromVector(DType::F32, {4}, std::vector<float>(4, float(t * 100 + i)));
        wrong += s.run({in})[0].data<float>()[3] != float(t * 100 + i);
      }
    });
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(mostInFlight.load(), 2);
  EXPECT_LE(s.executors(), 2u);

  // Default cap: the hardware thread count.
  Session d(plan, r);
  EXPECT_EQ(d.maxExecutors(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(Session, FailedRunsDoNotLeakPoolSlots) {
  Plan plan = convGemmPlan();
  Session s(plan, cpu::cpuKernelRegistry(), 1);
  Tensor bad = randomF32({1, 8, 5, 5}, 7);
  for (int i = 0; i < 3; ++i)
    EXPECT_THROW(s.run({bad}), Error);
  // The one executor came back each time: a good run does not wait forever.
  EXPECT_EQ(s.run({randomF32({1, 8, 6, 6}, 8)}).size(), 2u);
  EXPECT_EQ(s.executors(), 1u);
}

} // namespace
