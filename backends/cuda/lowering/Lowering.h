// Lowering of a (fused) plumb module to a cuda Plan: cuBLASLt/cuDNN steps for MatMul, Gemm
// and Conv (with bias/activation epilogues), NVRTC-compiled kernels generated from fusion
// bodies for everything elementwise, row reductions and attention, byte copies for
// reshapes, and host round trips (reference kernels) for the rest. Runs without a GPU: the
// kernels are compiled for the configured architectures and stored in the steps' attrs.
#pragma once

#include "backends/cpu/lowering/Lowering.h"
#include "backends/cuda/codegen/KernelIR.h"
#include "backends/cuda/codegen/Nvrtc.h"
#include "runtime/Plan.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <string>
#include <vector>

namespace plumb::cuda {

struct CudaLoweringOptions {
  NvrtcOptions nvrtc;
  bool tf32 = false; // f32 matmul/conv in TF32: off by default, for parity
};

struct CudaLoweringStats {
  int64_t deviceSteps = 0, hostSteps = 0;
  int64_t kernelsCompiled = 0, kernelsFromCache = 0;
  std::map<std::string, int64_t> byKernel; // cuda.generated:<style>, cuda.matmul, ...
  // Why a fusion (or op) did not become one generated kernel, one line each.
  std::vector<std::string> fallbacks;
};

Plan lowerToCudaPlan(mlir::ModuleOp module, const CudaLoweringOptions &opts,
                     CudaLoweringStats *stats = nullptr,
                     const std::map<std::string, Shape> *shapeHints = nullptr);

// The KernelGraph of `ops` (one block, in order): operands defined outside become inputs
// (constant scalars are folded into the source), results used outside become outputs.
// `shapeOf` gives each value's static shape (throws when there is none).
struct GroupGraph {
  KernelGraph graph;
  std::vector<mlir::Value> inputs, outputs; // parallel to graph.inputs / graph.outputs
};
GroupGraph buildGroupGraph(llvm::ArrayRef<mlir::Operation *> ops, llvm::StringRef kind,
                           int64_t opset,
                           const std::function<Shape(mlir::Value)> &shapeOf);

} // namespace plumb::cuda
