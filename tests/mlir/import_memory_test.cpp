// Weights of a discarded module can be freed: the context keeps resource blobs until it dies,
// so importing a model twice (as `run` does to pin dynamic shapes) held two copies.
#include "frontend/onnx/Importer.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"
#include "tools/lib/Backend.h"
#include "tools/lib/Compile.h"
#include "tools/lib/Inputs.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cstring>

namespace plumb {
namespace {

std::vector<Tensor> weightsOf(mlir::ModuleOp m) {
  std::vector<Tensor> out;
  m->walk([&](ConstantOp c) {
    if (auto res = mlir::dyn_cast_or_null<mlir::DenseResourceElementsAttr>(c.getValueAttr()))
      out.push_back(tensorFromAttr(res).clone());
  });
  return out;
}

TEST(ReleaseResourceBlobs, FreesOneModulesWeightsAndLeavesTheOthers) {
  mlir::MLIRContext ctx;
  std::string path = std::string(PLUMB_SOURCE_DIR) + "/tests/models/resnet_tiny.onnx";
  auto first = importOnnxFile(ctx, path, {});
  auto second = importOnnxFile(ctx, path, {});
  std::vector<Tensor> before = weightsOf(*second);
  ASSERT_FALSE(before.empty()) << "resnet_tiny has no weights stored as resource blobs";
  size_t bytes = 0;
  for (const Tensor &t : before)
    bytes += t.nbytes();
  EXPECT_EQ(releaseResourceBlobs(*first), bytes);
  EXPECT_EQ(releaseResourceBlobs(*first), 0u); // nothing left to free
  // The released module's constants now fail cleanly instead of reading freed memory.
  first->walk([&](ConstantOp c) {
    if (auto res = mlir::dyn_cast_or_null<mlir::DenseResourceElementsAttr>(c.getValueAttr())) {
      EXPECT_THROW(tensorFromAttr(res), Error);
    }
  });
  std::vector<Tensor> after = weightsOf(*second);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i)
    EXPECT_EQ(std::memcmp(after[i].raw(), before[i].raw(), before[i].nbytes()), 0) << i;
}

size_t blobBytesWithData(mlir::ModuleOp m) {
  size_t bytes = 0;
  m->walk([&](ConstantOp c) {
    if (auto res = mlir::dyn_cast_or_null<mlir::DenseResourceElementsAttr>(c.getValueAttr()))
      if (mlir::AsmResourceBlob *blob = res.getRawHandle().getBlob())
        bytes += blob->getData().size();
  });
  return bytes;
}

// run and bench compile with releaseWeights: the executor drops the weights its convolutions
// and matmuls reordered into their own memory as it prepares them, and with no other reference
// the IR's blobs are freed (resnet_tiny: every weight is a conv's or the classifier's). A
// weight a kernel reads in its stored layout is used in place, not copied, and so stays. The
// outputs are bitwise those of a run that keeps every weight.
TEST(ReleasableWeights, ExecutorFreesTheWeightsItCopied) {
  std::string dir = std::string(PLUMB_SOURCE_DIR) + "/tests/models/";
  auto compiled = [&](mlir::MLIRContext &ctx, bool release, std::vector<Tensor> &inputs) {
    auto module = importWithInputs(ctx, dir + "resnet_tiny.onnx", {},
                                   dir + "resnet_tiny.inputs.npz", 0, inputs);
    EXPECT_GT(blobBytesWithData(*module), 0u);
    CompileSettings cs;
    cs.shapeInputs = inputs;
    cs.releaseWeights = release;
    return std::make_unique<BackendRun>(std::move(module), cs);
  };
  mlir::MLIRContext ctxKeep, ctxRelease;
  std::vector<Tensor> inputs;
  auto keep = compiled(ctxKeep, false, inputs);
  auto released = compiled(ctxRelease, true, inputs);
  EXPECT_GT(blobBytesWithData(*keep->compiled().module), 0u);
  // What stays is exactly the weights that conv/matmul kernels read at run from the IR's own
  // bytes, i.e. in their stored layout (none here: the classifier's Gemm runs as a 1x1
  // convolution with blocked weights).
  size_t borrowed = 0;
  Executor &ex = *released->cpuExecutor();
  for (size_t i = 0; i < ex.plan().steps.size(); ++i) {
    const Step &s = ex.plan().steps[i];
    if ((s.kernel == "cpu.matmul" || s.kernel == "cpu.conv") && ex.kernel(i).readsConstantsAtRun())
      borrowed += ex.plan().buffers[size_t(s.inputs[1])].constant.nbytes();
  }
  EXPECT_EQ(blobBytesWithData(*released->compiled().module), borrowed);
  for (int rep = 0; rep < 2; ++rep) {
    std::vector<Tensor> a = keep->runOutputs(inputs), b = released->runOutputs(inputs);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_EQ(std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()), 0) << "output " << i;
  }
}

} // namespace
} // namespace plumb
