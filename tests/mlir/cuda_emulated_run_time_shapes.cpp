// Shapes their values decide, and If, Loop and Scan, on the plan emulator (part of
// cuda_emulated_test):
// tests/data/cpu/run_time_shapes.onnx (NonZero, Compress, NonMaxSuppression, Unique and ops of
// static shape before and after them) compiled for cuda with one input set and run with
// another whose counts differ. The run-time-shaped values stay on the host between cuda.host
// steps; the device steps around them keep their kernels.
#include "tests/mlir/CudaGraphBuilders.h"

#include "frontend/tensorio/TensorIO.h"
#include "tests/TempFiles.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace plumb {
namespace {

using namespace cudatest;
using cudatest::graphs::expectClose;
using cudatest::graphs::stepsRunning;

const std::string kDir = std::string(PLUMB_SOURCE_DIR) + "/tests/data/cpu/";

// The reference interpreter's outputs of `model` on the inputs of `npz` (which come back in
// `inputs`).
Capture truthOn(const std::string &model, const std::string &npz, std::vector<Tensor> &inputs) {
  mlir::MLIRContext ctx;
  auto module = importWithInputs(ctx, model, {}, npz, 0, inputs);
  return captureRun(mainFunction(*module), inputs, {});
}

// `emu`'s outputs on the inputs of `npz`, checked against the reference's on `model` (shapes
// and values, within `dtype`'s rule).
std::vector<Tensor> runLikeReference(PlanEmulator &emu, const std::string &model,
                                     const std::string &npz, const std::string &dtype) {
  SCOPED_TRACE(dtype + " " + npz);
  KeptPlan k;
  std::vector<Tensor> in;
  k.truth = truthOn(model, npz, in);
  k.got = emu.run(in);
  expectClose(k, dtype);
  return k.got;
}

// A scratch .npz holding x and a Loop's trip count m; its path.
std::string loopInputs(const std::string &name, const Tensor &x, int64_t m) {
  std::string path = testing_util::scratchPath(name + ".npz");
  writeNpz(path, {{"x", x}, {"m", Tensor::fromVector(DType::I64, {}, std::vector<int64_t>{m})}});
  return path;
}

// Compiled with set 'a' (NMS keeps 2 boxes, 5 positive projections, 4 levels), run with 'b'
// (3 boxes, 6, 7) and then 'a' again: every output has the reference's shape and values on
// that run's inputs, in f32 and f16 storage. The plan holds the run-time-shaped buffers as
// such, touched by host steps only, and the MatMul, the comparison and the Add after the
// ReduceSum are device kernels.
TEST(CudaRunTimeShapes, PlanCompiledForOneCountRunsAnother) {
  for (const char *dtype : {"f32", "f16"}) {
    std::vector<Tensor> a, b;
    Compiled c = compileForCuda(kDir + "run_time_shapes.onnx", kDir + "run_time_shapes.a.npz",
                                dtype, a);
    int runTime = 0;
    for (const Buffer &buf : c.plan.buffers)
      runTime += buf.runTimeShape;
    EXPECT_GE(runTime, 8) << dtype;
    for (const Step &s : c.plan.steps)
      for (int id : s.outputs)
        if (id >= 0 && c.plan.buffers[size_t(id)].runTimeShape)
          EXPECT_EQ(s.kernel, "cuda.host") << dtype << " [" << s.nodeNames << "]";
    EXPECT_EQ(stepsRunning(c.plan, "cuda.matmul"), 1) << dtype;
    const Step *total = graphs::stepsOf(c.plan, "total").at(0);
    EXPECT_EQ(total->kernel, "cuda.generated") << dtype;

    PlanEmulator emu(c.plan, testing_util::scratchPath(std::string("emu_rts_") + dtype));
    for (const char *set : {"b", "a"}) {
      std::vector<Tensor> got = runLikeReference(emu, kDir + "run_time_shapes.onnx",
                                                 kDir + "run_time_shapes." + set + ".npz", dtype);
      ASSERT_EQ(got.size(), 5u);
      EXPECT_EQ(got[0].dtype(), DType::I64);
      EXPECT_EQ(got[3].shape(), (Shape{std::string(set) == "a" ? 2 : 3, 4})) << "kept boxes";
    }
  }
}

// A device step reading a run-time-shaped buffer has no device memory to read: the emulator
// refuses such a plan at once, naming the step, as CudaExecutor does.
TEST(CudaRunTimeShapes, DeviceStepsNeverTouchThem) {
  std::vector<Tensor> a;
  Compiled c =
      compileForCuda(kDir + "run_time_shapes.onnx", kDir + "run_time_shapes.a.npz", "f32", a);
  const Step *total = graphs::stepsOf(c.plan, "total").at(0);
  c.plan.buffers[size_t(total->outputs.at(0))].runTimeShape = true;
  try {
    PlanEmulator emu(c.plan, testing_util::scratchPath("emu_rts_bad"));
    FAIL() << "a device step wrote a run-time-shaped buffer";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("(cuda.generated, nodes 'total'): 'total' has a shape "
                                         "known only at run time, which only cuda.host steps take"),
              std::string::npos)
        << e.what();
  }
}

// An If on a value (tests/data/cpu/branch_on_value.onnx: sum(x) > 0 picks Relu(x) * w [2, 3]
// or the row sums [2, 1]) is one host step whose branches are CPU plans; compiled with an
// input taking the then branch, the plan runs both, in f32 and f16 storage, matching the
// reference's shape and values.
TEST(CudaControlFlow, IfOnAValueRunsItsBranchOnTheHost) {
  std::string model = kDir + "branch_on_value.onnx";
  std::string npz[2] = {testing_util::scratchPath("branch_then.npz"),
                        testing_util::scratchPath("branch_else.npz")};
  writeNpz(npz[0], {{"x", Tensor::fromVector(DType::F32, {2, 3},
                                             std::vector<float>{1, -2, 3, 0.5f, 2, -1})}});
  writeNpz(npz[1], {{"x", Tensor::fromVector(DType::F32, {2, 3},
                                             std::vector<float>{-1, -2, 3, 0.5f, -2, -1})}});
  for (const char *dtype : {"f32", "f16"}) {
    std::vector<Tensor> inputs;
    Compiled c = compileForCuda(model, npz[0], dtype, inputs);
    const Step *branch = graphs::stepsOf(c.plan, "branch").at(0);
    EXPECT_EQ(branch->kernel, "cuda.host") << dtype;
    EXPECT_EQ(branch->bodies.size(), 2u) << dtype;
    EXPECT_EQ(stepsRunning(c.plan, "cuda.generated"), std::string(dtype) == "f32" ? 2 : 3);
    PlanEmulator emu(c.plan, testing_util::scratchPath(std::string("emu_if_") + dtype));
    for (int taken : {0, 1, 0})
      EXPECT_EQ(runLikeReference(emu, model, npz[taken], dtype).at(0).shape(),
                (Shape{2, taken ? 1 : 3}));
  }
}

// A Loop (tests/data/cpu/doubling_loop.onnx: M iterations of acc <- 2 acc + x, stopping once
// sum(acc) passes 100, each acc scanned) is one host step whose body is a CPU plan; compiled
// with M = 3, the plan runs M = 9 (8 iterations), 0 and 3, in f32 and f16 storage, matching
// the reference's shapes and values.
TEST(CudaControlFlow, LoopRunsItsBodyOnTheHost) {
  std::string model = kDir + "doubling_loop.onnx";
  std::vector<std::string> npz;
  for (int64_t m : {3, 9, 0})
    npz.push_back(loopInputs("loop_" + std::to_string(m),
                             Tensor::fromVector(DType::F32, {3}, std::vector<float>{1, 0.5f, -1}), m));
  for (const char *dtype : {"f32", "f16"}) {
    std::vector<Tensor> inputs;
    Compiled c = compileForCuda(model, npz[0], dtype, inputs);
    const Step *loop = graphs::stepsOf(c.plan, "loop").at(0);
    EXPECT_EQ(loop->kernel, "cuda.host") << dtype;
    EXPECT_EQ(loop->attrs.getString("plumb.op", ""), "Loop") << dtype;
    PlanEmulator emu(c.plan, testing_util::scratchPath(std::string("emu_loop_") + dtype));
    for (size_t run : {1, 2, 0})
      EXPECT_EQ(runLikeReference(emu, model, npz[run], dtype).at(1).shape()[0],
                run == 1 ? 8 : run == 2 ? 0 : 3)
          << "iterations";
  }
}

// A Scan (tests/data/cpu/scan_rnn.onnx: an RNN step over axis 1 of x, and 2 x over the same
// axis reversed, stacked on axes 1 and -1, the second in reverse) is one host step whose body
// is a CPU plan reading W, R and b from the enclosing graph. Compiled with one input set, the
// plan runs two, in f32 and f16 storage, matching the reference's shapes and values.
TEST(CudaControlFlow, ScanRunsItsBodyOnTheHost) {
  std::string model = kDir + "scan_rnn.onnx";
  std::vector<std::string> npz;
  for (int seed : {1, 2}) {
    std::vector<float> x(30), h(8);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = 1.5f * std::sin(0.37f * float(size_t(seed) * 7 + i));
    for (size_t i = 0; i < h.size(); ++i)
      h[i] = 0.5f * std::cos(0.91f * float(size_t(seed) + i));
    npz.push_back(testing_util::scratchPath("scan_" + std::to_string(seed) + ".npz"));
    writeNpz(npz.back(), {{"x", Tensor::fromVector(DType::F32, {2, 5, 3}, x)},
                          {"h0", Tensor::fromVector(DType::F32, {2, 4}, h)}});
  }
  for (const char *dtype : {"f32", "f16"}) {
    std::vector<Tensor> inputs;
    Compiled c = compileForCuda(model, npz[0], dtype, inputs);
    const Step *scan = graphs::stepsOf(c.plan, "rnn").at(0);
    EXPECT_EQ(scan->kernel, "cuda.host") << dtype;
    EXPECT_EQ(scan->attrs.getString("plumb.op", ""), "Scan") << dtype;
    ASSERT_EQ(scan->bodies.size(), 1u) << dtype;
    EXPECT_EQ(scan->inputs.size(), 3u + 4u) << dtype; // h0, x, x, then W, R, b and 2
    PlanEmulator emu(c.plan, testing_util::scratchPath(std::string("emu_scan_") + dtype));
    for (size_t run : {1, 0}) {
      std::vector<Tensor> got = runLikeReference(emu, model, npz[run], dtype);
      EXPECT_EQ(got.at(1).shape(), (Shape{2, 5, 4}));
      EXPECT_EQ(got.at(2).shape(), (Shape{2, 3, 5}));
    }
  }
}

// A Loop whose body reads a value whose shape x's values decide (the positions of x's
// nonzeros) and whose carried value grows by one each iteration
// (tests/data/cpu/growing_loop.onnx): the body's plan takes both as run-time-shaped inputs.
// Compiled with M = 3 and two nonzeros, the plan runs M = 5 with four and M = 0 with none,
// matching the reference. The CUDA lowering refused such a body before.
TEST(CudaControlFlow, LoopReadsRunTimeShapesAndGrows) {
  std::string model = kDir + "growing_loop.onnx";
  struct Case {
    std::vector<float> x;
    int64_t m;
  };
  std::vector<Case> cases = {{{0, 1, 0, 2, 0, 0}, 3}, {{1, 1, 0, 2, 3, 0}, 5}, {{0, 0, 0, 0, 0, 0}, 0}};
  std::vector<std::string> npz;
  for (size_t i = 0; i < cases.size(); ++i)
    npz.push_back(loopInputs("growing_" + std::to_string(i),
                             Tensor::fromVector(DType::F32, {6}, cases[i].x), cases[i].m));
  std::vector<Tensor> inputs;
  Compiled c = compileForCuda(model, npz[0], "f32", inputs);
  const Step *loop = graphs::stepsOf(c.plan, "decode").at(0);
  ASSERT_EQ(loop->bodies.size(), 1u);
  int runTimeInputs = 0;
  for (int id : loop->bodies[0].inputs)
    runTimeInputs += loop->bodies[0].buffers[size_t(id)].runTimeShape;
  EXPECT_EQ(runTimeInputs, 2) << "the growing tokens and the positions";
  PlanEmulator emu(c.plan, testing_util::scratchPath("emu_growing"));
  for (size_t run : {1, 2, 0})
    EXPECT_EQ(runLikeReference(emu, model, npz[run], "f32").at(0).shape(),
              (Shape{cases[run].m + 1}));
}

// Two Loops collecting a list (tests/data/cpu/collect_loop.onnx: TorchScript's
// `outs.append(t)` then torch.stack / torch.cat) reach the CUDA plan as Loops with one more
// scan output (the canonicalizer's CollectedSequenceAsScan), a Transpose and a Reshape after:
// no sequence is left. Compiled with m = 3, the plan runs m = 5, matching the reference.
TEST(CudaControlFlow, CollectedListIsAScanOutput) {
  std::string model = kDir + "collect_loop.onnx";
  std::vector<std::string> npz;
  for (int64_t m : {3, 5})
    npz.push_back(loopInputs("collect_" + std::to_string(m),
                             Tensor::fromVector(DType::F32, {2, 3}, std::vector<float>{1, 2, 3, 4, 5, -6}),
                             m));
  std::vector<Tensor> inputs;
  Compiled c = compileForCuda(model, npz[0], "f32", inputs);
  int loops = 0;
  for (const Step &s : c.plan.steps)
    loops += s.attrs.getString("plumb.op", "") == "Loop";
  EXPECT_EQ(loops, 2);
  PlanEmulator emu(c.plan, testing_util::scratchPath("emu_collect"));
  std::vector<Tensor> got = runLikeReference(emu, model, npz[1], "f32");
  EXPECT_EQ(got.at(2).shape(), (Shape{2, 5, 3}));
  EXPECT_EQ(got.at(3).shape(), (Shape{2, 15}));
}

} // namespace
} // namespace plumb
