// Channel-blocked intermediates in the CPU plan: which buffers the lowering blocks, that the
// executor and artifact keep the layout, and that blocking changes no bit of any tensor.
#include "backends/cpu/CpuBackend.h"
#include "backends/cpu/lowering/Lowering.h"
#include "runtime/Artifact.h"
#include "runtime/BufferPlanner.h"
#include "runtime/Error.h"
#include "runtime/Executor.h"
#include "tests/TestAttrs.h"
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

  Plan plain = c.plan;
  for (Buffer &b : plain.buffers)
    b.layout = Layout::Plain;
  int64_t inPlace = 0;
  for (int alias : inPlaceAliases(c.plan))
    inPlace += alias >= 0;
  EXPECT_GT(inPlace, 0) << "no residual sum took its residual's memory";
  for (Step &s : plain.steps)
    s.inPlaceInput = -1;
  std::string path = testing::TempDir() + "/resnet_tiny_blocked.plumb";
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

} // namespace
} // namespace plumb
