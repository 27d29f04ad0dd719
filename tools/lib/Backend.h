// A compiled backend as a parity candidate: runs the Plan and keeps every tensor at a step
// boundary under its ONNX name.
#pragma once

#include "runtime/Executor.h"
#include "tools/lib/Capture.h"
#include "tools/lib/Compile.h"

#include <memory>

namespace plumb {
namespace cuda {
class CudaExecutor;
}

class BackendRun {
public:
  // Imports nothing: takes a module (consumed), compiles and prepares it for `backend`.
  // `kernels` defaults to the backend's own registry (tests substitute kernels).
  // Backend "cuda" first checks for a device (plumb::Error "--backend cuda: no CUDA device
  // (...)" without one), then compiles and runs on it.
  BackendRun(mlir::OwningOpRef<mlir::ModuleOp> module, const CompileSettings &settings,
             const KernelFactoryRegistry *kernels = nullptr);
  ~BackendRun();
  // Graph outputs only, on the fast path (CUDA Graph replay on cuda).
  std::vector<Tensor> runOutputs(const std::vector<Tensor> &inputs);
  // Graph outputs and every step-boundary tensor (cloned).
  Capture run(const std::vector<Tensor> &inputs);
  // The ONNX nodes of the step that produces `tensor` ("" when none does).
  std::string stepNodes(const std::string &tensor) const;
  std::string stepKernel(const std::string &tensor) const;
  const Compiled &compiled() const { return compiled_; }
  // The CPU executor (for profiling observers); null on cuda.
  Executor *cpuExecutor() { return executor_.get(); }

private:
  Compiled compiled_;
  std::unique_ptr<Executor> executor_;         // cpu
  std::unique_ptr<cuda::CudaExecutor> device_; // cuda
};

} // namespace plumb
