// buildFusionPipeline: the fusion passes in priority order (larger patterns claim ops first).
#include "passes/Passes.h"

namespace plumb {

void buildFusionPipeline(mlir::OpPassManager &pm, bool multiOutputElementwise) {
  mlir::OpPassManager &fpm = pm.nest<mlir::func::FuncOp>();
  fpm.addPass(createPlumbFuseAttention());
  fpm.addPass(createPlumbFuseNorm());
  // SwiGLU before the matmul fusion: otherwise the gate projection would be taken as
  // "matmul+silu" and the SwiGLU could no longer form (fusions do not nest).
  fpm.addPass(createPlumbFuseSwiGlu());
  fpm.addPass(createPlumbFuseMatMul());
  fpm.addPass(createPlumbFuseConv());
  fpm.addPass(createPlumbFuseActivation());
  PlumbFuseElementwiseOptions elementwise;
  elementwise.multiOutput = multiOutputElementwise;
  fpm.addPass(createPlumbFuseElementwise(elementwise));
}

} // namespace plumb
