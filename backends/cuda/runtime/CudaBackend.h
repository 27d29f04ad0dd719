// The CUDA backend's runtime face, free of CUDA headers: probing for a device and running a
// cuda Plan on it. What each cuda.* kernel expects (inputs, attrs) is listed below; the
// lowering (backends/cuda/lowering) writes steps to match.
//
//   cuda.generated  a kernel generated from a fusion body (backends/cuda/codegen). attrs:
//                   source (CUDA C++), entry, grid[3], block[3], shared, cubin (u8 tensor,
//                   sm_90), ptx (compute_80), style. Inputs then outputs become its pointer
//                   parameters, in step order.
//   cuda.matmul     cuBLASLt. Inputs A, B, [bias or C]. attrs: m, n, k, batch, stride_a,
//                   stride_b, stride_c (elements; 0 broadcasts), trans_a, trans_b, alpha,
//                   beta, bias (1: input 2 is a per-column bias vector for the epilogue),
//                   epilogue = none | relu | gelu_tanh, tf32 (0 by default: f32 parity).
//   cuda.conv       cuDNN, 2-D NCHW or 3-D NCDHW (1-D as 2-D with H = 1). Inputs X, W, [B].
//                   attrs, one value per spatial dim (2 or 3): pads (begin = end), strides,
//                   dilations; group, activation = none | relu, tf32.
//   cuda.convtranspose  ConvTranspose as cuDNN's data gradient of that conv (X is its dy, Y its
//                   dx), same attrs plus output_padding (Y's shape already holds it), bias
//                   added after.
//   cuda.copy       byte copy (Reshape, Flatten, Squeeze, Unsqueeze, Identity).
//   cuda.host       anything else: inputs copied to the host, the reference kernel of
//                   attrs "plumb.op" runs there (f16/bf16 inputs widened to f32), outputs
//                   copied back in their buffers' types. Not graph-capturable.
// Every step also carries "plumb.dtype" (f32, f16 or bf16): the plan's storage type for
// f32 tensors (CudaLoweringOptions::dtype). Kernels take their types from their buffers.
#pragma once

#include "runtime/Executor.h"
#include "runtime/Plan.h"

#include <memory>
#include <string>
#include <vector>

namespace plumb::cuda {

struct DeviceStatus {
  bool available = false;
  std::string reason; // why not, in words from the CUDA runtime
  int count = 0;
  std::string name;   // of device 0
  int major = 0, minor = 0;
};

// Never throws and never needs a driver to be present (the CUDA runtime loads it lazily).
DeviceStatus probeDevice();
// Throws plumb::Error("<what>: no CUDA device (<reason>)") unless a device is usable.
void requireDevice(const std::string &what);

struct CudaRunOptions {
  bool useGraph = true; // capture the whole plan once and replay it with one launch
};

// Runs a cuda Plan: one device arena for the intermediates (placed by the BufferPlanner),
// weights uploaded once, one stream, and (when every step allows it) a CUDA Graph replayed
// per run. Inputs and outputs are host tensors.
class CudaExecutor {
public:
  CudaExecutor(Plan plan, CudaRunOptions opts = {});
  ~CudaExecutor();
  CudaExecutor(const CudaExecutor &) = delete;
  CudaExecutor &operator=(const CudaExecutor &) = delete;

  std::vector<Tensor> run(const std::vector<Tensor> &inputs);
  // Milliseconds of device time per run, `iters` runs: CUDA events around the plan's launches
  // alone (the graph replay), each run's inputs uploaded before its span and its outputs left
  // on the device, as PyTorch's and ONNX Runtime's (I/O-bound) device benchmarks time.
  std::vector<double> deviceTimes(const std::vector<Tensor> &inputs, int iters);
  // With an observer every step's outputs are copied back after the step (no graph replay);
  // an If's host step also reports its taken branch's values.
  void setObserver(Executor::Observer observer);
  const Plan &plan() const;
  size_t arenaBytes() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// Geometry of a row-major (batched) MatMul/Gemm as cuBLASLt's column-major call sees it.
// Throws plumb::Error when the batch dims broadcast in a way one strided call cannot express.
struct MatMulGeometry {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  int64_t strideA = 0, strideB = 0, strideC = 0; // elements between batch items; 0 broadcasts
};
MatMulGeometry matmulGeometry(const Shape &a, const Shape &b, bool transA, bool transB);

// What a cuda.host step computes from host copies of its inputs (nullptr: absent): the
// reference kernel of its "plumb.op" (for a step with bodies, an If, a Loop or a Scan: the CPU
// backend's ControlFlowRunner over them), each result narrowed to `outTypes[i]` (the plan's
// storage type) where it differs.
std::vector<Tensor> runHostStep(const Step &s, const std::vector<const Tensor *> &inputs,
                                const std::vector<DType> &outTypes);

// cuBLASLt and cuDNN steps describe every operand in the output's type: throws plumb::Error
// (one line) when a present input of a cuda.matmul/cuda.conv step (`in`, in step order; absent
// inputs left out) is stored in another type. The lowering casts such operands first.
void requireOneType(const Step &s, const std::vector<DType> &in, DType out);

// The error a run ends with when step `index` (`s`) met an index outside [-dim, dim) (a
// kernel with index checks recorded it: checksIndices in codegen/Generator.h).
[[noreturn]] void failIndexCheck(size_t index, const Step &s);

// Throws unless every step touching a runTimeShape buffer is a cuda.host step: those buffers
// live on the host only (each run's host step makes them), no device memory is planned for
// them.
void requireHostForRunTimeShapes(const Plan &plan);

} // namespace plumb::cuda
