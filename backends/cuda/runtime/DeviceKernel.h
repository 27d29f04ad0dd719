// Internal to the CUDA runtime: the device-side kernel interface and the handles a plan's
// kernels share. Includes CUDA headers; nothing outside backends/cuda/runtime sees it.
#pragma once

#include "runtime/RuntimeKernel.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace plumb::cuda {

// Throws plumb::Error("<what>: <CUDA error string>") on failure.
void check(cudaError_t e, const std::string &what);
void check(cublasStatus_t s, const std::string &what);
void check(cudnnStatus_t s, const std::string &what);

struct DeviceContext {
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  cudnnHandle_t dnn = nullptr;
  void *workspace = nullptr; // shared by cuBLASLt and cuDNN (steps run one at a time)
  size_t workspaceBytes = 0;
  int major = 0, minor = 0; // compute capability of the device
  // Where kernels that check indices record a failed check (their step number, 1-based; 0
  // none): a device int the executor reads after each run.
  int *status = nullptr;
  size_t preparing = 0; // the index of the step whose kernel the factory is making
  // Per buffer id: this run's value of each runTimeShape buffer (host memory; cuda.host steps
  // write and read them).
  std::vector<Tensor> *hostValues = nullptr;
};

class DeviceKernel {
public:
  virtual ~DeviceKernel() = default;
  // Enqueues the step on ctx.stream. Pointers are device memory of the planned sizes.
  virtual void launch(const std::vector<const void *> &in, const std::vector<void *> &out,
                      DeviceContext &ctx) = 0;
  // False when the kernel synchronises with the host (cuda.host): no graph capture then.
  virtual bool capturable() const { return true; }
  // A control-flow host step gives `observer` to the plans it runs (an If's taken branch), as
  // RuntimeKernel::observeBodies does on the CPU backend.
  virtual void observeBodies(
      const std::function<void(const std::string &name, const Tensor &value)> & /*observer*/) {}
};

using DeviceKernelFactory = std::function<std::unique_ptr<DeviceKernel>(
    const Step &, const std::vector<BufferInfo> &in, const std::vector<BufferInfo> &out,
    DeviceContext &ctx)>;

std::unique_ptr<DeviceKernel> makeGeneratedKernel(const Step &, const std::vector<BufferInfo> &,
                                                  const std::vector<BufferInfo> &, DeviceContext &);
std::unique_ptr<DeviceKernel> makeCopyKernel(const Step &, const std::vector<BufferInfo> &,
                                             const std::vector<BufferInfo> &, DeviceContext &);
std::unique_ptr<DeviceKernel> makeHostKernel(const Step &, const std::vector<BufferInfo> &,
                                             const std::vector<BufferInfo> &, DeviceContext &);
// requireOneType (CudaBackend.h) over a library step's present inputs and its output 0.
void requireOneType(const Step &s, const std::vector<BufferInfo> &in,
                    const std::vector<BufferInfo> &out);
std::unique_ptr<DeviceKernel> makeMatMulKernel(const Step &, const std::vector<BufferInfo> &,
                                               const std::vector<BufferInfo> &, DeviceContext &);
std::unique_ptr<DeviceKernel> makeConvKernel(const Step &, const std::vector<BufferInfo> &,
                                             const std::vector<BufferInfo> &, DeviceContext &);

} // namespace plumb::cuda
