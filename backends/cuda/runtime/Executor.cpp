// CudaExecutor: device probe, arena, weight upload, stream, CUDA Graph replay.
#include "backends/cuda/libs/CudaLibs.h"
#include "backends/cuda/runtime/CudaBackend.h"
#include "backends/cuda/runtime/DeviceKernel.h"

#include "runtime/BufferPlanner.h"
#include "runtime/Error.h"

namespace plumb::cuda {

void check(cudaError_t e, const std::string &what) {
  if (e != cudaSuccess)
    throw Error(what + ": " + cudaGetErrorString(e));
}
void check(cublasStatus_t s, const std::string &what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw Error(what + ": cuBLAS status " + std::to_string(int(s)));
}
void check(cudnnStatus_t s, const std::string &what) {
  if (s != CUDNN_STATUS_SUCCESS)
    throw Error(what + ": " + cudnnGetErrorString(s));
}

DeviceStatus probeDevice() {
  DeviceStatus st;
  cudaError_t e = cudaGetDeviceCount(&st.count);
  if (e != cudaSuccess || st.count == 0) {
    st.reason = e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA-capable device is detected";
    cudaGetLastError(); // clear the sticky error for later calls
    st.count = 0;
    return st;
  }
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
    st.reason = "cannot read the properties of device 0";
    return st;
  }
  st.available = true;
  st.name = p.name;
  st.major = p.major;
  st.minor = p.minor;
  return st;
}

void requireDevice(const std::string &what) {
  DeviceStatus st = probeDevice();
  if (!st.available)
    throw Error(what + ": no CUDA device (" + st.reason + ")");
}

namespace {

const std::map<std::string, DeviceKernelFactory> &factories() {
  static const std::map<std::string, DeviceKernelFactory> f = {
      {"cuda.generated", makeGeneratedKernel}, {"cuda.matmul", makeMatMulKernel},
      {"cuda.conv", makeConvKernel},           {"cuda.convtranspose", makeConvKernel},
      {"cuda.copy", makeCopyKernel},           {"cuda.host", makeHostKernel}};
  return f;
}

struct DeviceBuffer {
  void *p = nullptr;
  ~DeviceBuffer() {
    if (p)
      cudaFree(p);
  }
};

} // namespace

struct CudaExecutor::Impl {
  Plan plan;
  CudaRunOptions opts;
  ArenaAssignment arena;
  DeviceContext ctx;
  std::vector<std::unique_ptr<DeviceBuffer>> owned; // arena, constants, inputs, outputs, workspace
  std::vector<void *> ptr;                          // per buffer id
  std::vector<Tensor> hostValues; // per buffer id: runTimeShape values (ctx.hostValues)
  struct Prepared {
    std::unique_ptr<DeviceKernel> kernel;
    std::vector<const void *> in;
    std::vector<void *> out;
  };
  std::vector<Prepared> steps;
  Executor::Observer observer;
  cudaGraphExec_t graph = nullptr;
  bool capturable = true;

  void *alloc(size_t bytes) {
    owned.push_back(std::make_unique<DeviceBuffer>());
    check(cudaMalloc(&owned.back()->p, std::max<size_t>(bytes, 1)), "cudaMalloc");
    return owned.back()->p;
  }

  void prepare() {
    validatePlan(plan);
    requireHostForRunTimeShapes(plan);
    hostValues.assign(plan.buffers.size(), Tensor());
    ctx.hostValues = &hostValues;
    DeviceStatus st = probeDevice();
    if (!st.available)
      throw Error("cuda plan: no CUDA device (" + st.reason + ")");
    ctx.major = st.major;
    ctx.minor = st.minor;
    check(cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasLt().cublasLtCreate(&ctx.lt), "cublasLtCreate");
    check(cudnnCreate(&ctx.dnn), "cudnnCreate");
    ctx.workspaceBytes = size_t(64) << 20;
    ctx.workspace = alloc(ctx.workspaceBytes);
    ctx.status = static_cast<int *>(alloc(sizeof(int)));
    check(cudaMemset(ctx.status, 0, sizeof(int)), "cudaMemset");
    arena = planBuffers(plan, 256);
    char *base = static_cast<char *>(alloc(arena.peakIntermediateBytes));
    ptr.assign(plan.buffers.size(), nullptr);
    for (const Buffer &b : plan.buffers) {
      if (b.runTimeShape) // on the host, made by each run's host steps
        continue;
      if (b.kind == BufferKind::Intermediate) {
        ptr[size_t(b.id)] = base + arena.offsets[size_t(b.id)];
        continue;
      }
      ptr[size_t(b.id)] = alloc(b.bytes());
      if (b.kind == BufferKind::Constant) // weights: uploaded once, here
        check(cudaMemcpy(ptr[size_t(b.id)], b.constant.raw(), b.bytes(), cudaMemcpyHostToDevice),
              "uploading '" + b.name + "'");
    }
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const Step &s = plan.steps[i];
      auto f = factories().find(s.kernel);
      if (f == factories().end())
        throw Error("step " + std::to_string(i) + " (" + s.kernel + ", nodes '" + s.nodeNames +
                    "'): the CUDA runtime has no such kernel");
      auto info = [&](const std::vector<int> &ids) {
        std::vector<BufferInfo> v;
        for (int id : ids) {
          BufferInfo bi;
          if (id >= 0) {
            const Buffer &b = plan.buffers[size_t(id)];
            if (b.layout != Layout::Plain)
              throw Error("buffer '" + b.name + "' is " + layoutName(b.layout) +
                          ": the CUDA runtime keeps plain tensors only");
            if (!b.packing.empty())
              throw Error("constant '" + b.name +
                          "' is stored pre-packed for the CPU kernels: the CUDA runtime reads "
                          "plain weights only (compile the artifact for cuda)");
            bi = {true, b.dtype, b.shape, b.name, b.layout, b.packing, b.runTimeShape};
          }
          v.push_back(bi);
        }
        return v;
      };
      Prepared p;
      ctx.preparing = i;
      p.kernel = f->second(s, info(s.inputs), info(s.outputs), ctx);
      for (int id : s.inputs)
        p.in.push_back(id < 0 ? nullptr : ptr[size_t(id)]);
      for (int id : s.outputs)
        p.out.push_back(id < 0 ? nullptr : ptr[size_t(id)]);
      capturable &= p.kernel->capturable();
      steps.push_back(std::move(p));
    }
  }

  void upload(const std::vector<Tensor> &inputs);
  void launchPlan();

  // After the stream has synchronised: fails the run when a kernel recorded a failed index
  // check (the status cleared for the next run).
  void checkIndices() {
    int failed = 0;
    check(cudaMemcpy(&failed, ctx.status, sizeof(int), cudaMemcpyDeviceToHost), "reading the index checks");
    if (failed == 0)
      return;
    check(cudaMemset(ctx.status, 0, sizeof(int)), "cudaMemset");
    size_t index = size_t(failed - 1);
    failIndexCheck(index, plan.steps.at(index));
  }

  void launchAll() {
    for (Prepared &p : steps)
      p.kernel->launch(p.in, p.out, ctx);
  }

  void observeStep(size_t i) {
    const Step &s = plan.steps[i];
    check(cudaStreamSynchronize(ctx.stream), "step " + std::to_string(i));
    checkIndices();
    for (size_t j = 0; j < s.outputs.size(); ++j) {
      if (s.outputs[j] < 0)
        continue;
      const Buffer &b = plan.buffers[size_t(s.outputs[j])];
      const std::string &name = j < s.outputNames.size() ? s.outputNames[j] : b.name;
      if (b.runTimeShape) {
        observer(name, hostValues[size_t(b.id)]);
        continue;
      }
      Tensor t = Tensor::zeros(b.dtype, b.shape);
      check(cudaMemcpy(t.mutableRaw(), ptr[size_t(b.id)], b.bytes(), cudaMemcpyDeviceToHost),
            "reading '" + b.name + "'");
      observer(name, t);
    }
  }

  ~Impl() {
    if (graph)
      cudaGraphExecDestroy(graph);
    steps.clear();
    if (ctx.dnn)
      cudnnDestroy(ctx.dnn);
    if (ctx.lt)
      cublasLt().cublasLtDestroy(ctx.lt);
    if (ctx.stream)
      cudaStreamDestroy(ctx.stream);
  }
};

CudaExecutor::CudaExecutor(Plan plan, CudaRunOptions opts) : impl_(std::make_unique<Impl>()) {
  impl_->plan = std::move(plan);
  impl_->opts = opts;
  impl_->prepare();
}

CudaExecutor::~CudaExecutor() = default;

void CudaExecutor::setObserver(Executor::Observer observer) {
  impl_->observer = std::move(observer);
  for (Impl::Prepared &p : impl_->steps)
    p.kernel->observeBodies(impl_->observer);
}
const Plan &CudaExecutor::plan() const { return impl_->plan; }
size_t CudaExecutor::arenaBytes() const { return impl_->arena.peakIntermediateBytes; }

void CudaExecutor::Impl::upload(const std::vector<Tensor> &inputs) {
  if (inputs.size() != plan.inputs.size())
    throw Error("cuda plan takes " + std::to_string(plan.inputs.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Buffer &b = plan.buffers[size_t(plan.inputs[i])];
    Tensor t = inputs[i].dtype() == b.dtype ? inputs[i] : inputs[i].cast(b.dtype);
    if (t.shape() != b.shape)
      throw Error("input '" + b.name + "' has shape " + shapeToString(t.shape()) + ", the plan " +
                  shapeToString(b.shape));
    check(cudaMemcpyAsync(ptr[size_t(b.id)], t.raw(), b.bytes(), cudaMemcpyHostToDevice,
                          ctx.stream),
          "uploading input '" + b.name + "'");
  }
}

void CudaExecutor::Impl::launchPlan() {
  if (observer) {
    for (size_t i = 0; i < steps.size(); ++i) {
      steps[i].kernel->launch(steps[i].in, steps[i].out, ctx);
      observeStep(i);
    }
  } else if (opts.useGraph && capturable) {
    if (!graph) { // capture once; buffers never move, so the graph replays as is
      cudaGraph_t g;
      check(cudaStreamBeginCapture(ctx.stream, cudaStreamCaptureModeThreadLocal), "capture");
      launchAll();
      check(cudaStreamEndCapture(ctx.stream, &g), "capture");
      cudaError_t e = cudaGraphInstantiate(&graph, g, 0);
      cudaGraphDestroy(g);
      check(e, "cudaGraphInstantiate");
    }
    check(cudaGraphLaunch(graph, ctx.stream), "cudaGraphLaunch");
  } else {
    launchAll();
  }
}

std::vector<Tensor> CudaExecutor::run(const std::vector<Tensor> &inputs) {
  Impl &m = *impl_;
  m.upload(inputs);
  m.launchPlan();
  std::vector<Tensor> outs;
  for (int id : m.plan.outputs) {
    const Buffer &b = m.plan.buffers[size_t(id)];
    if (b.runTimeShape) { // the host step that wrote it synchronised already
      outs.push_back(m.hostValues[size_t(id)]);
      continue;
    }
    outs.push_back(Tensor::zeros(b.dtype, b.shape));
    check(cudaMemcpyAsync(outs.back().mutableRaw(), m.ptr[size_t(id)], b.bytes(),
                          cudaMemcpyDeviceToHost, m.ctx.stream),
          "reading output '" + b.name + "'");
  }
  check(cudaStreamSynchronize(m.ctx.stream), "running the cuda plan");
  for (Tensor &t : m.hostValues) // this run's; the caller owns the outputs among them
    t = Tensor();
  m.checkIndices();
  return outs;
}

std::vector<double> CudaExecutor::deviceTimes(const std::vector<Tensor> &inputs, int iters) {
  Impl &m = *impl_;
  if (m.observer)
    throw Error("cuda plan: device timing with a step observer set");
  cudaEvent_t start = nullptr, stop = nullptr;
  check(cudaEventCreate(&start), "cudaEventCreate");
  std::unique_ptr<CUevent_st, cudaError_t (*)(cudaEvent_t)> holdStart(start, cudaEventDestroy);
  check(cudaEventCreate(&stop), "cudaEventCreate");
  std::unique_ptr<CUevent_st, cudaError_t (*)(cudaEvent_t)> holdStop(stop, cudaEventDestroy);
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    m.upload(inputs); // outside the timed span: the arena may reuse an input's memory
    check(cudaEventRecord(start, m.ctx.stream), "cudaEventRecord");
    m.launchPlan();
    check(cudaEventRecord(stop, m.ctx.stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "running the cuda plan");
    float t = 0;
    check(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
    ms.push_back(double(t));
    m.checkIndices();
  }
  return ms;
}

} // namespace plumb::cuda
