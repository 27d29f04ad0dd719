// Pipeline builders shared by plumb, plumb-opt and the tests.
#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

namespace plumb {

void buildGraphPipeline(mlir::OpPassManager &pm, int64_t constantFoldMaxBytes) {
  mlir::OpPassManager &fpm = pm.nest<mlir::func::FuncOp>();
  fpm.addPass(createPlumbShapeRefinement());
  fpm.addPass(createPlumbLegacyBroadcast());
  fpm.addPass(createPlumbShapeFolding());
  PlumbConstantFoldingOptions cf;
  cf.maxBytes = constantFoldMaxBytes;
  fpm.addPass(createPlumbConstantFolding(cf));
  fpm.addPass(createPlumbFoldConvBatchNorm());
  // No constant CSE: merging equal constants gives the survivor an unknown location, which
  // would drop the ONNX names of the merged initializers and folded tensors.
  mlir::GreedyRewriteConfig canonicalize;
  canonicalize.enableConstantCSE(false);
  fpm.addPass(mlir::createCanonicalizerPass(canonicalize));
  fpm.addPass(createPlumbDeadCodeElimination());
}

void buildCpuPipeline(mlir::OpPassManager &pm, const CpuPipelineOptions &opts) {
  buildGraphPipeline(pm, opts.constantFoldMaxBytes);
  if (opts.decomposeAttention)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbDecomposeAttention());
  if (opts.decomposeQuantize)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbDecomposeQuantize());
  if (opts.decomposeRotary)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbDecomposeRotary());
  if (opts.unrollRecurrent)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbUnrollRecurrent());
  if (opts.decomposeBatchNorm)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbDecomposeBatchNorm());
  if (opts.decomposeLosses)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbDecomposeLosses());
  if (opts.decomposeMovement)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbDecomposeMovement());
  if (opts.decomposeTransforms)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbDecomposeTransforms());
  if (opts.decomposeTrilu)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbDecomposeTrilu());
  if (opts.decomposeOptimizers)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbDecomposeOptimizers());
  if (opts.reductionsAsRows)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbReductionsAsRows());
  if (opts.spaceDepthAsTranspose)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbSpaceDepthAsTranspose());
  if (opts.packProjections)
    pm.nest<mlir::func::FuncOp>().addPass(createPlumbPackProjections());
  if (opts.fuse)
    buildFusionPipeline(pm, opts.multiOutputElementwise);
}

void registerPlumbPasses() {
  registerPasses();
  mlir::PassPipelineRegistration<>("plumb-graph", "plumb's graph cleanups",
                                   [](mlir::OpPassManager &pm) { buildGraphPipeline(pm); });
  mlir::PassPipelineRegistration<>("plumb-cpu", "plumb's CPU pipeline (graph cleanups, fusion)",
                                   [](mlir::OpPassManager &pm) {
                                     buildCpuPipeline(pm, CpuPipelineOptions{});
                                   });
}

} // namespace plumb
