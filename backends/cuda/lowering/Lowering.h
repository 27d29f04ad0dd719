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
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace plumb::cuda {

struct CudaLoweringOptions {
  NvrtcOptions nvrtc;
  bool tf32 = false; // f32 matmul/conv in TF32: off by default, for parity
  // How the plan stores f32 tensors (`--dtype f32|f16|bf16`). With f16/bf16 every f32
  // intermediate and weight is stored in that type (weights rounded once, here, to nearest
  // even), graph inputs and outputs stay f32 with one cast kernel at each boundary, and the
  // arithmetic stays f32: generated kernels compute in float, cuBLASLt in CUBLAS_COMPUTE_32F,
  // cuDNN with a FLOAT convolution type. Integer and bool tensors are untouched. Every step
  // records the choice in its attr "plumb.dtype", so artifacts carry it.
  DType dtype = DType::F32;
  // ONNX node names kept in f32 inside an f16/bf16 plan (what `plumb bisect --dtype` finds):
  // their results are stored in f32, the weights they read stay f32, a MatMul/Gemm/Conv among
  // them runs in f32, and graph inputs they read are not narrowed. Operands stored in the
  // other type reach a library step through a cast kernel (a second copy for weights).
  std::set<std::string> keepF32;
};

// "f32", "f16" or "bf16" -> the storage type; throws plumb::Error (one line) otherwise.
DType cudaStorageType(const std::string &name);
// The storage type a cuda plan records (attr "plumb.dtype" of its steps); f32 when none does.
DType planStorageType(const Plan &plan);

// The kernel graph converting a tensor of `shape` from one float type to another (a plan's
// input and output boundaries): one Identity node, loaded as `from` and stored as `to`.
KernelGraph castGraph(DType from, DType to, const Shape &shape, const std::string &label);

// The kernel graph of one movement op (Pad, Slice) on a tensor of `shape` and `dtype` giving
// `outShape`, its integer operands (pads; starts, ends, axes) constants (ConvPads.cpp).
KernelGraph movementGraph(const std::string &op, DType dtype, const Shape &shape,
                          const Shape &outShape, const std::vector<std::vector<int64_t>> &ints,
                          const std::string &label, int64_t opset);

// A Conv's / ConvTranspose's begin and end pads (one per spatial dim each, begins first) for
// input `x`, weights `w` and result `y`, with auto_pad (and ConvTranspose's output_shape)
// resolved as the reference resolves them; nullopt for attrs ONNX does not define.
std::optional<std::vector<int64_t>> convPads(const ref::Attrs &a, const Shape &x, const Shape &w,
                                             const Shape &y);
std::optional<std::vector<int64_t>> transposedPads(const ref::Attrs &a, const Shape &x,
                                                   const Shape &w, const Shape &y);

// Whether a float value decides a shape rather than carrying data: it feeds Resize's or
// Upsample's scales or Range's bounds (looking into fusion bodies). Such constants stay f32
// in an f16/bf16 plan: rounding a scale of 1/3 or a step of 0.1 could change an output size.
bool decidesShape(mlir::Value v);

struct CudaLoweringStats {
  int64_t deviceSteps = 0, hostSteps = 0;
  int64_t runTimeShapeBuffers = 0; // Buffer::runTimeShape: kept on the host, between host steps
  int64_t kernelsCompiled = 0, kernelsFromCache = 0;
  std::map<std::string, int64_t> byKernel; // cuda.generated:<style>, cuda.matmul, ...
  // Ops no step computes on its own: the generated kernels reading them compute them
  // (composite kernels: Slice, Neg and Concat inside the rotary-embedding elementwise kernel).
  int64_t computedInReader = 0;
  // Splits, slices, transposes, expands and reshapes the kernels reading them read through as
  // strided views of one buffer (a fused QKV projection's Q/K/V, a Split's pieces): no step
  // either.
  int64_t readAsViews = 0;
  // Sibling kernels (Lowerer::planSiblings): groups of elementwise ops (or fusions of them)
  // reading common values, each written by one kernel, and the ops in them.
  int64_t siblingKernels = 0, siblingOps = 0;
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
// `canonical` maps a value to the one it stands for (an elementwise body's argument to its
// fusion operand); the first `pulled` ops are producers the kernel computes for its readers
// among `ops`: their results are outputs only where `shared` says so (a value read outside
// too, which the kernel writes for those readers), given the canonical value.
GroupGraph buildGroupGraph(llvm::ArrayRef<mlir::Operation *> ops, llvm::StringRef kind,
                           int64_t opset,
                           const std::function<Shape(mlir::Value)> &shapeOf,
                           const std::function<mlir::Value(mlir::Value)> &canonical = {},
                           size_t pulled = 0,
                           const std::function<bool(mlir::Value)> &shared = {});

} // namespace plumb::cuda
