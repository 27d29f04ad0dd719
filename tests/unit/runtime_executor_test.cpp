// Unit tests for the Executor: small plans mixing cpu.* and ref.* kernels, run against the
// reference kernels op by op, and the observer seeing every step boundary.
#include "backends/cpu/CpuBackend.h"
#include "backends/reference/Kernel.h"
#include "runtime/Executor.h"
#include "tests/TestAttrs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace plumb;

namespace {

using namespace testattrs;

// One reference op with f32 inputs (nullptr = absent).
Tensor refOp(const std::string &op, std::vector<const Tensor *> in, const ref::Attrs &attrs = {}) {
  ref::KernelCall call;
  call.opType = op;
  call.nodeName = "test";
  call.inputs = std::move(in);
  call.attrs = &attrs;
  return ref::runKernel(call)[0];
}

void expectNear(const Tensor &got, const Tensor &want, double rel) {
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    double a = got.data<float>()[i], b = want.data<float>()[i];
    ASSERT_LE(std::fabs(a - b), rel * (1 + std::fabs(b))) << "element " << i;
  }
}

// x -> cpu.conv(+relu) -> t -> ref.Softmax(axis=1) -> y
struct ConvSoftmax {
  Plan plan;
  Tensor w = randomF32({4, 3, 3, 3}, 1), b = randomF32({4}, 2);
  ConvSoftmax() {
    int x = plan.addInput(DType::F32, {1, 3, 8, 8}, "x");
    int wi = plan.addConstant("w", w), bi = plan.addConstant("b", b);
    int t = plan.addBuffer(BufferKind::Intermediate, DType::F32, {1, 4, 8, 8}, "t");
    int y = plan.addOutput(DType::F32, {1, 4, 8, 8}, "y");
    Step &conv = plan.addStep("cpu.conv", {x, wi, bi}, {t}, "conv0,relu0");
    conv.attrs.set("pads", intsAttr({1, 1, 1, 1}));
    conv.attrs.set("post_ops", stringsAttr({"relu"}));
    plan.addStep("ref.Softmax", {t}, {y}, "softmax0").attrs.set("axis", intAttr(1));
  }
};

TEST(Executor, ConvThenRefSoftmaxMatchesTheReference) {
  ConvSoftmax p;
  Executor ex(p.plan, cpu::cpuKernelRegistry());
  Tensor x = randomF32({1, 3, 8, 8}, 3);
  std::vector<Tensor> out = ex.run({x});
  ASSERT_EQ(out.size(), 1u);

  ref::Attrs convAttrs, softAttrs;
  convAttrs.set("pads", intsAttr({1, 1, 1, 1}));
  softAttrs.set("axis", intAttr(1));
  Tensor conv = refOp("Conv", {&x, &p.w, &p.b}, convAttrs);
  Tensor relu = refOp("Relu", {&conv});
  Tensor soft = refOp("Softmax", {&relu}, softAttrs);
  // The conv's error bound (see cpu_kernels_test.cpp); softmax keeps it relative.
  expectNear(out[0], soft, 1e-4);
  // Running again gives the same bits: nothing leaks between runs.
  std::vector<Tensor> again = ex.run({x});
  EXPECT_EQ(std::memcmp(again[0].raw(), out[0].raw(), out[0].nbytes()), 0);
}

// Outputs the caller released are written again by the next run (no fresh mapping per run);
// outputs the caller still holds are never touched, and each run's values are its own.
TEST(Executor, ReusesReleasedOutputStorageAndNeverHeldOutputs) {
  ConvSoftmax p;
  Executor ex(p.plan, cpu::cpuKernelRegistry());
  Tensor x1 = randomF32({1, 3, 8, 8}, 11), x2 = randomF32({1, 3, 8, 8}, 12);
  Tensor want1 = Executor(p.plan, cpu::cpuKernelRegistry()).run({x1})[0].clone();
  Tensor want2 = Executor(p.plan, cpu::cpuKernelRegistry()).run({x2})[0].clone();
  ASSERT_NE(std::memcmp(want1.raw(), want2.raw(), want1.nbytes()), 0);

  const void *first = nullptr;
  {
    std::vector<Tensor> out = ex.run({x1});
    first = out[0].raw();
    std::weak_ptr<const void> owner = out[0].storage();
    out.clear();
    // The storage went back to the executor under the caller's owner, which is now gone.
    EXPECT_TRUE(owner.expired());
  }
  // Had the storage been freed, this allocation of the same size would likely take it.
  Tensor decoy = Tensor::empty(DType::F32, {1, 4, 8, 8});
  std::vector<Tensor> held = ex.run({x2});
  EXPECT_EQ(held[0].raw(), first) << "released output storage was not reused";
  EXPECT_NE(decoy.raw(), first);
  EXPECT_EQ(std::memcmp(held[0].raw(), want2.raw(), want2.nbytes()), 0);

  // Held across a run: the next run writes elsewhere and the held values stay as they were.
  std::vector<Tensor> next = ex.run({x1});
  EXPECT_NE(next[0].raw(), held[0].raw());
  EXPECT_EQ(std::memcmp(held[0].raw(), want2.raw(), want2.nbytes()), 0);
  EXPECT_EQ(std::memcmp(next[0].raw(), want1.raw(), want1.nbytes()), 0);

  // A tensor that outlives its executor keeps its storage.
  std::vector<Tensor> survivor;
  {
    Executor shortLived(p.plan, cpu::cpuKernelRegistry());
    survivor = shortLived.run({x1});
  }
  EXPECT_EQ(std::memcmp(survivor[0].raw(), want1.raw(), want1.nbytes()), 0);
}

TEST(Executor, ObserverSeesEveryStepBoundaryAndChangesNothing) {
  ConvSoftmax p;
  Executor ex(p.plan, cpu::cpuKernelRegistry());
  Tensor x = randomF32({1, 3, 8, 8}, 4);
  std::vector<Tensor> plain = ex.run({x});
  std::vector<std::pair<std::string, Tensor>> seen;
  ex.setObserver([&](const std::string &name, const Tensor &v) {
    seen.push_back({name, v.clone()});
  });
  std::vector<Tensor> observed = ex.run({x});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "t"); // no outputNames: the buffers' names
  EXPECT_EQ(seen[1].first, "y");
  EXPECT_EQ(std::memcmp(seen[1].second.raw(), observed[0].raw(), observed[0].nbytes()), 0);
  EXPECT_EQ(std::memcmp(plain[0].raw(), observed[0].raw(), plain[0].nbytes()), 0);
  ref::Attrs convAttrs;
  convAttrs.set("pads", intsAttr({1, 1, 1, 1}));
  Tensor conv = refOp("Conv", {&x, &p.w, &p.b}, convAttrs);
  expectNear(seen[0].second, refOp("Relu", {&conv}), 1e-4);

  // Explicit boundary names (e.g. the ONNX name of the last op fused into a step) win.
  p.plan.steps[0].outputNames = {"relu0_out"};
  Executor named(p.plan, cpu::cpuKernelRegistry());
  seen.clear();
  named.setObserver([&](const std::string &name, const Tensor &) { seen.push_back({name, {}}); });
  named.run({x});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "relu0_out");
}

// x -> conv1(relu) -> t1 -> conv2(sum x, relu) -> t2 -> GlobalAveragePool -> t3 -> Flatten
// -> t4 -> Gemm(+bias) -> y: a residual block whose temporaries share the arena.
TEST(Executor, ResidualBlockWithArenaReuse) {
  Plan plan;
  Tensor w1 = randomF32({4, 4, 3, 3}, 5), w2 = randomF32({4, 4, 3, 3}, 6);
  Tensor fc = randomF32({4, 3}, 7), fcb = randomF32({3}, 8);
  int x = plan.addInput(DType::F32, {2, 4, 6, 6}, "x");
  int w1i = plan.addConstant("w1", w1), w2i = plan.addConstant("w2", w2);
  int fci = plan.addConstant("fc", fc), fcbi = plan.addConstant("fcb", fcb);
  auto tmp = [&](Shape s, const char *name) {
    return plan.addBuffer(BufferKind::Intermediate, DType::F32, std::move(s), name);
  };
  int t1 = tmp({2, 4, 6, 6}, "t1"), t2 = tmp({2, 4, 6, 6}, "t2"), t3 = tmp({2, 4, 1, 1}, "t3");
  int t4 = tmp({2, 4}, "t4");
  int y = plan.addOutput(DType::F32, {2, 3}, "y");
  Step &c1 = plan.addStep("cpu.conv", {x, w1i, -1}, {t1});
  c1.attrs.set("pads", intsAttr({1, 1, 1, 1}));
  c1.attrs.set("post_ops", stringsAttr({"relu"}));
  Step &c2 = plan.addStep("cpu.conv", {t1, w2i, -1, x}, {t2});
  c2.attrs.set("pads", intsAttr({1, 1, 1, 1}));
  c2.attrs.set("post_ops", stringsAttr({"sum", "relu"}));
  plan.addStep("cpu.pool", {t2}, {t3}).attrs.set("op", stringAttr("GlobalAveragePool"));
  plan.addStep("ref.Flatten", {t3}, {t4});
  plan.addStep("cpu.matmul", {t4, fci, fcbi}, {y});
  Executor ex(plan, cpu::cpuKernelRegistry());
  // t3 and t4 are born after t1 died: the arena holds less than all four at once.
  EXPECT_LT(ex.arena().peakIntermediateBytes, size_t(2 * 4 * 36 * 4 * 2 + 64 * 2));

  Tensor xv = randomF32({2, 4, 6, 6}, 9);
  std::vector<Tensor> out = ex.run({xv});
  ref::Attrs pads;
  pads.set("pads", intsAttr({1, 1, 1, 1}));
  Tensor r1 = refOp("Conv", {&xv, &w1, nullptr}, pads);
  r1 = refOp("Relu", {&r1});
  Tensor r2 = refOp("Conv", {&r1, &w2, nullptr}, pads);
  r2 = refOp("Add", {&r2, &xv});
  r2 = refOp("Relu", {&r2});
  Tensor r3 = refOp("GlobalAveragePool", {&r2});
  Tensor r4 = r3.reshaped({2, 4});
  Tensor r5 = refOp("Gemm", {&r4, &fc, &fcb});
  expectNear(out[0], r5, 1e-4);
}

TEST(Executor, ErrorsNameTheStepOrInput) {
  ConvSoftmax p;
  p.plan.steps[1].kernel = "cpu.no_such_kernel";
  try {
    Executor ex(p.plan, cpu::cpuKernelRegistry());
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("step 1 (cpu.no_such_kernel, nodes 'softmax0')"),
              std::string::npos)
        << e.what();
  }
  ConvSoftmax q;
  Executor ex(q.plan, cpu::cpuKernelRegistry());
  try {
    ex.run({randomF32({1, 3, 8, 9}, 1)});
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("input 'x' must be f32[1x3x8x8]"), std::string::npos)
        << e.what();
  }
}

TEST(Executor, KernelsRefusingAStepFailAtPrepare) {
  ConvSoftmax p;
  p.plan.steps[0].attrs.set("post_ops", stringsAttr({"frobnicate"}));
  try {
    Executor ex(p.plan, cpu::cpuKernelRegistry());
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("step 0 (cpu.conv, nodes 'conv0,relu0'): unknown "
                                         "post-op 'frobnicate'"),
              std::string::npos)
        << e.what();
  }
}

// Kernels' working memory: one block of the largest request, shared by every step (they run
// one at a time), instead of one block per kernel. "test.scratch" needs `bytes` of scratch,
// fills it with its input and copies it back out, so a step that got too little memory or
// another step's data would give a wrong result.
class ScratchKernel final : public RuntimeKernel {
public:
  explicit ScratchKernel(size_t bytes, std::vector<void *> *seen) : bytes_(bytes), seen_(seen) {}
  size_t scratchBytes() const override { return bytes_; }
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    auto *s = static_cast<float *>(scratch());
    seen_->push_back(s);
    size_t n = size_t(in[0]->numel());
    for (size_t i = 0; i < bytes_ / sizeof(float); ++i)
      s[i] = in[0]->data<float>()[i % n] + 1.f;
    for (size_t i = 0; i < n; ++i)
      out[0]->mutableData<float>()[i] = s[bytes_ / sizeof(float) - n + i];
  }

private:
  size_t bytes_;
  std::vector<void *> *seen_;
};

TEST(Executor, KernelsShareOneScratchBlockOfTheLargestRequest) {
  std::vector<void *> seen;
  KernelFactoryRegistry reg;
  reg.add("test.scratch", [&](const Step &s, const std::vector<BufferInfo> &,
                              const std::vector<BufferInfo> &, const std::vector<const Tensor *> &) {
    return std::make_unique<ScratchKernel>(size_t(s.attrs.getInt("bytes", 0)), &seen);
  });
  Plan plan;
  int x = plan.addInput(DType::F32, {4}, "x");
  int t = plan.addBuffer(BufferKind::Intermediate, DType::F32, {4}, "t");
  int y = plan.addOutput(DType::F32, {4}, "y");
  plan.addStep("test.scratch", {x}, {t}, "a").attrs.set("bytes", intAttr(64));
  plan.addStep("test.scratch", {t}, {y}, "b").attrs.set("bytes", intAttr(4096));
  Executor ex(plan, reg);
  EXPECT_EQ(ex.scratchBytes(), 4096u);
  Tensor in = Tensor::fromVector<float>(DType::F32, {4}, {1, 2, 3, 4});
  std::vector<Tensor> out = ex.run({in});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], seen[1]);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(seen[0]) % 64, 0u);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(out[0].data<float>()[i], float(i + 3));
  // A kernel run without an executor allocates its own.
  ScratchKernel alone(256, &seen);
  Tensor y2 = Tensor::empty(DType::F32, {4});
  std::vector<Tensor *> o{&y2};
  alone.run({&in}, o);
  EXPECT_NE(seen.back(), seen[0]);
  EXPECT_EQ(y2.data<float>()[3], 5.f);
}

// releaseCopiedConstants: a constant every reader copied at prepare (the conv's weights) is
// dropped by the executor as soon as its last reader is prepared; one a kernel reads at run
// (a ref.Add's operand) is kept; results do not change.
TEST(Executor, ReleasesConstantsItsKernelsCopied) {
  auto weak = [](Plan &plan, const std::string &name) {
    for (Buffer &b : plan.buffers)
      if (b.name == name) {
        // Re-own the data through a handle the test can watch.
        auto owner = std::make_shared<Tensor>(b.constant.clone());
        b.constant = Tensor::borrow(owner->dtype(), owner->shape(), owner->raw(), owner);
        return std::weak_ptr<Tensor>(owner);
      }
    return std::weak_ptr<Tensor>();
  };
  for (bool release : {false, true}) {
    SCOPED_TRACE(release ? "release" : "keep");
    ConvSoftmax p;
    int c = p.plan.addConstant("c", randomF32({1, 4, 8, 8}, 5));
    int y2 = p.plan.addOutput(DType::F32, {1, 4, 8, 8}, "y2");
    p.plan.addStep("ref.Add", {p.plan.outputs[0], c}, {y2}, "add0");
    std::weak_ptr<Tensor> w = weak(p.plan, "w"), cw = weak(p.plan, "c");
    Tensor x = randomF32({1, 3, 8, 8}, 6);
    std::vector<Tensor> want = Executor(p.plan, cpu::cpuKernelRegistry()).run({x});
    Executor ex(std::move(p.plan), cpu::cpuKernelRegistry(), 64, release);
    EXPECT_EQ(w.expired(), release) << "conv weights";
    EXPECT_FALSE(cw.expired()) << "a constant ref.Add reads at run";
    for (int rep = 0; rep < 2; ++rep) {
      std::vector<Tensor> got = ex.run({x});
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_EQ(std::memcmp(got[i].raw(), want[i].raw(), want[i].nbytes()), 0) << i;
    }
  }
}

} // namespace

// x -> ref.NonZero -> nz (run-time shape) -> ref.Transpose -> y (a run-time-shaped output)
// -> ref.Shape -> ref.Gather -> count (static again), and x -> cpu.eltwise(relu) -> relu. The
// plan holds the sample shapes of one input (4 non-zeros).
struct NonZeroPlan {
  Plan plan;
  int nz = -1, y = -1;
  NonZeroPlan() {
    int x = plan.addInput(DType::F32, {2, 3}, "x");
    nz = plan.addBuffer(BufferKind::Intermediate, DType::I64, {2, 4}, "nz");
    plan.buffers[size_t(nz)].runTimeShape = true;
    y = plan.addOutput(DType::I64, {4, 2}, "y");
    plan.buffers[size_t(y)].runTimeShape = true;
    int count = plan.addOutput(DType::I64, {1}, "count");
    int relu = plan.addOutput(DType::F32, {2, 3}, "relu");
    plan.addStep("ref.NonZero", {x}, {nz}, "nonzero");
    plan.addStep("ref.Transpose", {nz}, {y}, "transpose").attrs.set("perm", intsAttr({1, 0}));
    int shape = plan.addBuffer(BufferKind::Intermediate, DType::I64, {2}, "shape");
    plan.addStep("ref.Shape", {y}, {shape}, "shape");
    int zero = plan.addConstant("zero", Tensor::fromVector(DType::I64, {1}, std::vector<int64_t>{0}));
    plan.addStep("ref.Gather", {shape, zero}, {count}, "first_dim").attrs.set("axis", intAttr(0));
    plan.addStep("cpu.eltwise", {x}, {relu}, "relu").attrs.set("op", stringAttr("Relu"));
  }
};

// Runs with other counts (more, none, fewer) give each run's shapes and the reference's
// values; the arena holds none of the run-time-shaped buffers.
TEST(Executor, RunTimeShapesComeFromEachRun) {
  NonZeroPlan p;
  Executor ex(p.plan, cpu::cpuKernelRegistry());
  EXPECT_EQ(ex.arena().offsets[size_t(p.nz)], -1) << "a run-time-shaped buffer is in the arena";
  for (const std::vector<float> &values :
       {std::vector<float>{1, 0, 2, 0, 0, 3}, std::vector<float>{0, 0, 0, 0, 0, 0},
        std::vector<float>{1, 1, 1, -1, 1, 1}, std::vector<float>{0, 0, 5, 0, 0, 0}}) {
    Tensor x = Tensor::fromVector(DType::F32, {2, 3}, values);
    std::vector<Tensor> out = ex.run({x});
    ASSERT_EQ(out.size(), 3u);
    Tensor nz = refOp("NonZero", {&x});
    ref::Attrs perm;
    perm.set("perm", intsAttr({1, 0}));
    ref::KernelCall call;
    call.opType = "Transpose";
    call.nodeName = "test";
    call.inputs = {&nz};
    call.attrs = &perm;
    Tensor want = ref::runKernel(call)[0];
    ASSERT_EQ(out[0].shape(), want.shape()) << values[0];
    EXPECT_EQ(std::memcmp(out[0].raw(), want.raw(), want.nbytes()), 0);
    EXPECT_EQ(out[1].data<int64_t>()[0], want.shape()[0]) << "Shape read the run's shape";
    Tensor relu = refOp("Relu", {&x});
    EXPECT_EQ(std::memcmp(out[2].raw(), relu.raw(), relu.nbytes()), 0);
  }
}

TEST(Executor, RunTimeShapesOnlyWhereKernelsTakeThem) {
  // A cpu.* kernel is prepared for one shape: it may not read a run-time-shaped buffer (a
  // cpu.copy of y, which takes any dtype, in place of the relu).
  NonZeroPlan p;
  p.plan.steps.back().kernel = "cpu.copy";
  p.plan.steps.back().inputs = {p.y};
  p.plan.buffers[size_t(p.plan.outputs[2])].dtype = DType::I64;
  p.plan.buffers[size_t(p.plan.outputs[2])].shape = {4, 2};
  try {
    Executor ex(p.plan, cpu::cpuKernelRegistry());
    FAIL() << "a cpu.* step read a run-time-shaped buffer";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("step 4 (cpu.copy, nodes 'relu'): 'y' has a shape "
                                         "known only at run time"),
              std::string::npos)
        << e.what();
  }
  // runInto takes storage of the declared shapes: a run-time-shaped output cannot have one.
  NonZeroPlan q;
  Executor ex(q.plan, cpu::cpuKernelRegistry());
  Tensor x = Tensor::fromVector(DType::F32, {2, 3}, std::vector<float>{1, 0, 0, 0, 0, 0});
  std::vector<Tensor> outs = {Tensor::empty(DType::I64, {4, 2}), Tensor::empty(DType::I64, {1}),
                              Tensor::empty(DType::F32, {2, 3})};
  try {
    ex.runInto({x}, outs);
    FAIL() << "runInto took a run-time-shaped output";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("output 'y' has a shape its values decide"),
              std::string::npos)
        << e.what();
  }
  // A run-time-shaped input (a control-flow body's) takes any shape of its rank, and only
  // kernels that take run-time shapes may read it.
  Plan r;
  int rx = r.addInput(DType::F32, {2, 3}, "x");
  r.buffers[size_t(rx)].runTimeShape = true;
  int rnz = r.addOutput(DType::I64, {2, 4}, "nz");
  r.buffers[size_t(rnz)].runTimeShape = true;
  r.addStep("ref.NonZero", {rx}, {rnz}, "nonzero");
  validatePlan(r);
  Executor er(r, cpu::cpuKernelRegistry());
  Tensor wide = Tensor::fromVector(DType::F32, {1, 5}, std::vector<float>{0, 2, 0, 3, 4});
  EXPECT_EQ(er.run({wide}).at(0).toInts(), (std::vector<int64_t>{0, 0, 0, 1, 3, 4}));
  try {
    er.run({Tensor::fromVector(DType::F32, {5}, std::vector<float>{0, 2, 0, 3, 4})});
    FAIL() << "a run-time-shaped input took another rank";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("input 'x' must be f32 of rank 2, got f32[5]"),
              std::string::npos)
        << e.what();
  }
  Plan relu = r;
  int out = relu.addOutput(DType::F32, {2, 3}, "relu");
  relu.addStep("cpu.eltwise", {rx}, {out}, "relu").attrs.set("op", stringAttr("Relu"));
  EXPECT_THROW(Executor(relu, cpu::cpuKernelRegistry()), Error) << "cpu.eltwise read it";
  // A constant has the one shape its data has.
  NonZeroPlan c;
  for (Buffer &b : c.plan.buffers)
    b.runTimeShape = b.runTimeShape || b.kind == BufferKind::Constant;
  EXPECT_THROW(validatePlan(c.plan), Error);
}
