// The CUDA backend without a GPU: every fixture model compiles for cuda with each fusion's
// generated kernel accepted by NVRTC (f32 as lowered, and again with f16 and bf16 storage),
// kernels reach the artifact, unsupported bodies fail with a clear message, and the
// cuBLASLt geometry is right. Tests that need a device skip, saying why.
#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/codegen/Nvrtc.h"
#include "backends/cuda/lowering/Lowering.h"
#include "backends/cuda/runtime/CudaBackend.h"
#include "frontend/onnx/Importer.h"
#include "ir/PlumbDialect.h"
#include "parity/Metrics.h"
#include "runtime/Artifact.h"
#include "runtime/Error.h"
#include "tests/TempFiles.h"
#include "tests/mlir/CudaFixtures.h"
#include "tools/lib/Backend.h"
#include "tools/lib/Inputs.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

namespace plumb {
namespace {

using cudatest::fixture;
using cudatest::kModels;

// A fresh NVRTC cache per test binary run, so kernels really go through NVRTC.
cuda::NvrtcOptions freshNvrtc() {
  static const std::string dir = testing_util::scratchPath("nvrtc_test");
  cuda::NvrtcOptions o;
  o.cacheDir = dir;
  return o;
}

Compiled compileFor(mlir::MLIRContext &ctx, const std::string &model, std::vector<Tensor> &inputs) {
  auto module = importWithInputs(ctx, fixture(model, ".onnx"), {}, fixture(model, ".inputs.npz"),
                                 0, inputs);
  // Pin the inputs' shapes so every value in the IR is static (what the f16 test walks).
  InputShapes pinned;
  std::vector<std::string> names = inputNames(mainFunction(*module));
  for (size_t i = 0; i < names.size(); ++i)
    pinned[names[i]] = inputs[i].shape();
  module = importWithInputs(ctx, fixture(model, ".onnx"), pinned, fixture(model, ".inputs.npz"), 0,
                            inputs);
  static const std::string cliCache = testing_util::scratchPath("nvrtc_test_cli");
  ::setenv("PLUMB_CACHE_DIR", cliCache.c_str(), 1);
  CompileSettings cs;
  cs.backend = "cuda";
  cs.shapeInputs = inputs;
  return compileModule(std::move(module), cs);
}

class FixtureModel : public ::testing::TestWithParam<const char *> {};

TEST_P(FixtureModel, EveryGeneratedKernelCompilesAndTravelsInTheArtifact) {
  mlir::MLIRContext ctx;
  std::vector<Tensor> inputs;
  Compiled c = compileFor(ctx, GetParam(), inputs);
  std::set<std::string> styles;
  int generated = 0;
  for (const Step &s : c.plan.steps) {
    EXPECT_EQ(s.kernel.rfind("cuda.", 0), 0u) << s.kernel;
    if (s.kernel != "cuda.generated")
      continue;
    ++generated;
    styles.insert(s.attrs.getString("style", ""));
    const Tensor *cubin = s.attrs.getTensor("cubin");
    ASSERT_TRUE(cubin && cubin->numel() > 4) << s.nodeNames;
    // An ELF image for sm_90 and PTX text for the portable target.
    EXPECT_EQ(std::string(static_cast<const char *>(cubin->raw()), 4), "\x7f" "ELF");
    EXPECT_NE(s.attrs.getString("ptx", "").find(".target sm_80"), std::string::npos);
    EXPECT_NE(s.attrs.getString("source", "").find("plumb_kernel"), std::string::npos);
  }
  EXPECT_GT(generated, 0);
  std::string m = GetParam();
  if (m != "resnet_tiny" && m != "mamba2_tiny") {
    EXPECT_TRUE(styles.count("attention")) << m << ": attention fusion did not become one kernel";
  }
  if (m == "llama_tiny" || m == "mamba2_tiny") {
    EXPECT_TRUE(styles.count("row")) << m << ": RMSNorm did not become a row kernel";
  }
  // The artifact keeps the generated source and binaries.
  std::string path = testing_util::scratchPath(m + ".cuda.plumb");
  writeArtifact(path, c.plan);
  Plan back = readArtifact(path);
  ASSERT_EQ(back.steps.size(), c.plan.steps.size());
  for (size_t i = 0; i < back.steps.size(); ++i)
    if (back.steps[i].kernel == "cuda.generated") {
      EXPECT_EQ(back.steps[i].attrs.getString("source", "x"), c.plan.steps[i].attrs.getString("source", "y"));
      EXPECT_EQ(back.steps[i].attrs.getTensor("cubin")->nbytes(),
                c.plan.steps[i].attrs.getTensor("cubin")->nbytes());
    }
}

// Every fusion body that generates as one kernel in f32 also generates and compiles with
// f16 and with bf16 storage (f32 arithmetic inside).
TEST_P(FixtureModel, FusionKernelsCompileInHalfAndBf16) {
  mlir::MLIRContext ctx;
  std::vector<Tensor> inputs;
  Compiled c = compileFor(ctx, GetParam(), inputs);
  std::map<std::string, Shape> shapes;
  for (const Buffer &b : c.plan.buffers)
    shapes[b.name] = b.shape;
  int checked = 0;
  c.module->walk([&](FusionOp fusion) {
    std::vector<mlir::Operation *> ops;
    for (mlir::Operation &op : fusion.getBody().front().without_terminator())
      if (!mlir::isa<NoneOp, ConstantOp>(&op))
        ops.push_back(&op);
    cuda::GroupGraph gg;
    cuda::GeneratedKernel f32;
    try {
      // Shapes as the plan has them (the IR may leave the batch dim open).
      gg = cuda::buildGroupGraph(ops, fusion.getKind(), 17, [&](mlir::Value v) {
        if (auto arg = mlir::dyn_cast<mlir::BlockArgument>(v))
          v = fusion.getInputs()[arg.getArgNumber()];
        auto t = mlir::cast<mlir::RankedTensorType>(v.getType());
        if (t.hasStaticShape())
          return Shape(t.getShape().begin(), t.getShape().end());
        mlir::Operation *def = v.getDefiningOp();
        auto it = def ? shapes.find(tensorNameOf(def, mlir::cast<mlir::OpResult>(v).getResultNumber()))
                      : shapes.end();
        if (it == shapes.end())
          throw Error("dynamic");
        return it->second;
      });
      f32 = cuda::generateKernel(gg.graph);
    } catch (const Error &) {
      return; // bodies split at MatMul/Conv: covered by the f32 test through the lowering
    }
    for (DType dt : {DType::F16, DType::BF16}) {
      cuda::KernelGraph g = gg.graph;
      for (cuda::KValue &v : g.values)
        if (v.dtype == DType::F32)
          v.dtype = dt;
      cuda::GeneratedKernel k = cuda::generateKernel(g);
      EXPECT_EQ(k.style, f32.style);
      EXPECT_NE(k.source.find(dt == DType::F16 ? "__half" : "__nv_bfloat16"), std::string::npos);
      EXPECT_NO_THROW(cuda::compileKernel(k.source, g.label, freshNvrtc())) << k.source;
      ++checked;
    }
  });
  // gpt2_tiny's bodies keep shapes only known from interpretation (the lowering's hints),
  // which this walk does not have; its kernels are compiled by the f32 test.
  if (std::string(GetParam()) != "resnet_tiny" && std::string(GetParam()) != "gpt2_tiny") {
    EXPECT_GT(checked, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Cuda, FixtureModel, ::testing::ValuesIn(kModels));

cuda::KernelGraph twoOpGraph(const std::string &second) {
  cuda::KernelGraph g;
  g.kind = "elementwise";
  g.label = "n1, n2";
  int x = g.addValue(DType::F32, {2, 8});
  int y = g.addValue(DType::F32, {2, 8});
  int z = g.addValue(DType::F32, {2, 8});
  g.inputs = {x};
  g.outputs = {z};
  g.nodes.push_back({"Relu", {}, {x}, {y}, "n1"});
  g.nodes.push_back({second, {}, {y}, {z}, "n2"});
  return g;
}

TEST(CudaCodegen, UnsupportedOpInABodyIsAClearError) {
  try {
    cuda::generateKernel(twoOpGraph("NonMaxSuppression"));
    FAIL() << "expected an error";
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("node 'n2' (NonMaxSuppression) has no CUDA kernel generator rule"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("fusion 'elementwise' over [n1, n2]"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(CudaCodegen, NvrtcErrorIsOneLineNamingTheKernel) {
  try {
    cuda::compileKernel("extern \"C\" __global__ void plumb_kernel() { undeclared(); }",
                        "[bad]", freshNvrtc());
    FAIL() << "expected an error";
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("NVRTC rejected the kernel for [bad]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("undeclared"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(CudaCodegen, CacheHitsOnTheSameSource) {
  cuda::NvrtcOptions o = freshNvrtc();
  o.cacheDir = testing_util::scratchPath("nvrtc_test_cache");
  std::string src = cuda::generateKernel(twoOpGraph("Tanh")).source;
  cuda::CompiledKernel a = cuda::compileKernel(src, "[t]", o);
  cuda::CompiledKernel b = cuda::compileKernel(src, "[t]", o);
  EXPECT_FALSE(a.fromCache);
  EXPECT_TRUE(b.fromCache);
  EXPECT_EQ(a.cubin, b.cubin);
}

TEST(CudaGeometry, FoldsSharedWeightsAndStridesBatches) {
  cuda::MatMulGeometry g = cuda::matmulGeometry({2, 3, 4, 5}, {5, 7}, false, false);
  EXPECT_EQ(g.m, 24);
  EXPECT_EQ(g.n, 7);
  EXPECT_EQ(g.k, 5);
  EXPECT_EQ(g.batch, 1);
  g = cuda::matmulGeometry({2, 3, 4, 5}, {2, 3, 5, 7}, false, false);
  EXPECT_EQ(g.batch, 6);
  EXPECT_EQ(g.strideA, 20);
  EXPECT_EQ(g.strideB, 35);
  EXPECT_EQ(g.strideC, 28);
  g = cuda::matmulGeometry({4, 5}, {6, 5, 7}, false, false);
  EXPECT_EQ(g.batch, 6);
  EXPECT_EQ(g.strideA, 0); // broadcast A
  g = cuda::matmulGeometry({7, 5}, {9, 7}, true, true); // Gemm transA/transB
  EXPECT_EQ(g.m, 5);
  EXPECT_EQ(g.n, 9);
  EXPECT_EQ(g.k, 7);
  EXPECT_THROW(cuda::matmulGeometry({2, 1, 4, 5}, {1, 3, 5, 7}, false, false), Error);
  EXPECT_THROW(cuda::matmulGeometry({4, 5}, {6, 7}, false, false), Error);
}

// Needs a GPU: the cuda backend's outputs match the f32 reference interpreter.
TEST_P(FixtureModel, RunsOnTheDeviceLikeTheReference) {
  cuda::DeviceStatus st = cuda::probeDevice();
  if (!st.available)
    GTEST_SKIP() << "no CUDA device (" << st.reason << "): device run not tested";
  mlir::MLIRContext ctx;
  std::vector<Tensor> inputs;
  auto module = importWithInputs(ctx, fixture(GetParam(), ".onnx"), {},
                                 fixture(GetParam(), ".inputs.npz"), 0, inputs);
  std::vector<Tensor> want = ref::interpret(mainFunction(*module), inputs);
  CompileSettings cs;
  cs.backend = "cuda";
  cs.shapeInputs = inputs;
  BackendRun run(mlir::OwningOpRef<mlir::ModuleOp>(module->clone()), cs);
  std::vector<Tensor> got = run.runOutputs(inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    parity::TensorMetrics m = parity::compareTensors(got[i], want[i]);
    EXPECT_LT(m.maxAbsErr, 1e-3) << GetParam() << " output " << i;
  }
}

} // namespace
} // namespace plumb
