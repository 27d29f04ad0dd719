// plumb's passes (generated declarations from Passes.td) and the pipeline builders.
#pragma once

#include "ir/PlumbDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <memory>

namespace plumb {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

// Options of the CPU pipeline (travel with the pipeline, not global flags).
struct CpuPipelineOptions {
  int64_t constantFoldMaxBytes = 1 << 20;
  bool fuse = true;
  // Pack projections of one input (plumb-pack-projections) before fusion: the CUDA backend,
  // whose kernels read the Split's pieces in place.
  bool packProjections = false;
  // Opset-23 Attention ops as the ops they stand for (plumb-decompose-attention), so the
  // fusion passes make them attention bodies: the CUDA backend, which has an attention kernel
  // and would otherwise run the op on the host.
  bool decomposeAttention = false;
  // Reductions in the form row kernels compute (plumb-reductions-as-rows): the CUDA backend,
  // whose generated kernels reduce trailing axes only.
  bool reductionsAsRows = false;
  // DepthToSpace/SpaceToDepth as Reshape, Transpose, Reshape (plumb-space-depth-as-transpose):
  // the CUDA backend, which has movement kernels for transposes.
  bool spaceDepthAsTranspose = false;
  // Opset-23 RotaryEmbedding as the ops it stands for (plumb-decompose-rotary): the CUDA
  // backend, which computes them in one generated kernel.
  bool decomposeRotary = false;
  // QuantizeLinear/DequantizeLinear as elementwise ops (plumb-decompose-quantize): the CUDA
  // backend, whose generated kernels then compute a QDQ model's quantize/dequantize pairs.
  bool decomposeQuantize = false;
  // Adagrad/Adam/Momentum as elementwise ops (plumb-decompose-optimizers): the CUDA backend,
  // whose generated kernels then compute an update step.
  bool decomposeOptimizers = false;
  // Trilu as a mask and a Where (plumb-decompose-trilu): the CUDA backend, whose generated
  // elementwise kernels then compute it.
  bool decomposeTrilu = false;
  // Inference BatchNormalization (not folded into a Conv) as elementwise ops
  // (plumb-decompose-batchnorm): the CUDA backend, whose generated kernels then compute it.
  bool decomposeBatchNorm = false;
  // NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss as gathers, a LogSoftmax, sums and
  // elementwise ops (plumb-decompose-losses): the CUDA backend, which then computes them.
  bool decomposeLosses = false;
  // CenterCropPad and MaxUnpool as Slice, Pad, Expand and ScatterElements
  // (plumb-decompose-movement): the CUDA backend, which has movement kernels for those.
  bool decomposeMovement = false;
  // AffineGrid, DFT and STFT as MatMuls with constant matrices (plumb-decompose-transforms):
  // the CUDA backend, whose GEMM then computes them.
  bool decomposeTransforms = false;
  // RNN/GRU/LSTM unrolled into MatMuls and gate ops (plumb-unroll-recurrent): the CUDA
  // backend, which has cuBLASLt and generated kernels but no recurrent kernel.
  bool unrollRecurrent = false;
  // Elementwise groups with several results (plumb-fuse-elementwise multi-output): the CUDA
  // backend, whose generated kernels write each; the CPU's chains write one.
  bool multiOutputElementwise = false;
};

// The graph cleanups every backend runs: shape refinement, legacy (opset < 7) broadcasting in
// numpy's form, shape and constant folding, Conv+BN folding, canonicalization, dead-code
// removal.
void buildGraphPipeline(mlir::OpPassManager &pm, int64_t constantFoldMaxBytes = 1 << 20);
// The CPU backend's pipeline: graph cleanups, then fusion.
void buildCpuPipeline(mlir::OpPassManager &pm, const CpuPipelineOptions &opts);
// The fusion passes in priority order (attention, norms, SwiGLU, matmul, conv, GELU/SiLU,
// elementwise), each on every function.
void buildFusionPipeline(mlir::OpPassManager &pm, bool multiOutputElementwise = false);
// Registers the passes and the named pipelines ("plumb-graph", "plumb-cpu") for plumb-opt.
void registerPlumbPasses();

} // namespace plumb
