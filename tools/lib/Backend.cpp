// BackendRun: compile once, run many times with an observer at every step boundary.
#include "tools/lib/Backend.h"

#include "backends/cpu/CpuBackend.h"
#include "runtime/Error.h"
#ifdef PLUMB_HAVE_CUDA
#include "backends/cuda/runtime/CudaBackend.h"
#endif

namespace plumb {

namespace {

// Fails fast, before compiling, where the backend cannot run at all.
const CompileSettings &requireBackend(const CompileSettings &s) {
#ifdef PLUMB_HAVE_CUDA
  if (s.backend == "cuda")
    cuda::requireDevice("--backend cuda");
#else
  if (s.backend == "cuda")
    throw Error("--backend cuda: this build has no CUDA backend (configure with the CUDA toolkit)");
#endif
  return s;
}

} // namespace

BackendRun::BackendRun(mlir::OwningOpRef<mlir::ModuleOp> module, const CompileSettings &settings,
                       const KernelFactoryRegistry *kernels)
    : compiled_(compileModule(std::move(module), requireBackend(settings))) {
#ifdef PLUMB_HAVE_CUDA
  if (settings.backend == "cuda") {
    device_ = std::make_unique<cuda::CudaExecutor>(compiled_.plan);
    return;
  }
#endif
  if (!settings.releaseWeights) {
    executor_ = std::make_unique<Executor>(compiled_.plan,
                                           kernels ? *kernels : cpu::cpuKernelRegistry());
    return;
  }
  // The executor holds the only references to the weights, and drops those it copied.
  Plan plan = compiled_.plan;
  for (Buffer &b : compiled_.plan.buffers)
    b.constant = Tensor();
  executor_ = std::make_unique<Executor>(std::move(plan),
                                         kernels ? *kernels : cpu::cpuKernelRegistry(), 64, true);
}

BackendRun::~BackendRun() = default;

std::vector<Tensor> BackendRun::runOutputs(const std::vector<Tensor> &inputs) {
#ifdef PLUMB_HAVE_CUDA
  if (device_)
    return device_->run(inputs);
#endif
  return executor_->run(inputs);
}

Capture BackendRun::run(const std::vector<Tensor> &inputs) {
  Capture c;
  auto keep = [&](const std::string &name, const Tensor &t) {
    if (!name.empty())
      c.tensors[name] = t.clone();
  };
#ifdef PLUMB_HAVE_CUDA
  if (device_) {
    device_->setObserver(keep);
    c.outputs = device_->run(inputs);
    device_->setObserver(nullptr);
    return c;
  }
#endif
  executor_->setObserver(keep);
  c.outputs = executor_->run(inputs);
  executor_->setObserver(nullptr);
  return c;
}

std::string BackendRun::stepNodes(const std::string &tensor) const {
  for (const Step &s : compiled_.plan.steps)
    for (const std::string &n : s.outputNames)
      if (n == tensor)
        return s.nodeNames;
  return "";
}

std::string BackendRun::stepKernel(const std::string &tensor) const {
  for (const Step &s : compiled_.plan.steps)
    for (const std::string &n : s.outputNames)
      if (n == tensor)
        return s.kernel;
  return "";
}

} // namespace plumb
