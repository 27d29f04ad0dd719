// Weights of a discarded module can be freed: the context keeps resource blobs until it dies,
// so importing a model twice (as `run` does to pin dynamic shapes) held two copies.
#include "frontend/onnx/Importer.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "mlir/IR/BuiltinOps.h"
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

} // namespace
} // namespace plumb
