// cuda.generated (NVRTC output loaded with the runtime's library API: no driver API, no
// libcuda link), cuda.copy and the cuda.host fallback.
#include "backends/cuda/runtime/DeviceKernel.h"

#include "backends/cuda/runtime/CudaBackend.h"
#include "backends/cpu/ControlFlow.h"
#include "backends/reference/Kernel.h"
#include "runtime/Error.h"

namespace plumb::cuda {
namespace {

class GeneratedKernel : public DeviceKernel {
public:
  GeneratedKernel(const Step &s, DeviceContext &ctx)
      : label_(s.nodeNames), checks_(s.attrs.getInt("index_checks", 0) != 0),
        step_(int(ctx.preparing) + 1) {
    // The sm_90 CUBIN where it matches the device, else the portable PTX (JIT by the driver).
    const Tensor *cubin = s.attrs.getTensor("cubin");
    std::string ptx = s.attrs.getString("ptx", "");
    bool useCubin = cubin && cubin->numel() > 0 && ctx.major == 9 && ctx.minor == 0;
    if (!useCubin && ptx.empty())
      throw Error("cuda.generated step for '" + label_ + "' has no PTX for sm_" +
                  std::to_string(ctx.major) + std::to_string(ctx.minor));
    const void *image = useCubin ? cubin->raw() : static_cast<const void *>(ptx.c_str());
    check(cudaLibraryLoadData(&lib_, image, nullptr, nullptr, 0, nullptr, nullptr, 0),
          "loading the generated kernel for '" + label_ + "'");
    std::string entry = s.attrs.getString("entry", "plumb_kernel");
    check(cudaLibraryGetKernel(&kernel_, lib_, entry.c_str()), "finding " + entry);
    auto dims = [&](const char *name) {
      std::vector<int64_t> v = s.attrs.getInts(name, {1, 1, 1});
      return dim3(unsigned(v.at(0)), unsigned(v.at(1)), unsigned(v.at(2)));
    };
    grid_ = dims("grid");
    block_ = dims("block");
    shared_ = size_t(s.attrs.getInt("shared", 0));
  }
  ~GeneratedKernel() override {
    if (lib_)
      cudaLibraryUnload(lib_);
  }
  void launch(const std::vector<const void *> &in, const std::vector<void *> &out,
              DeviceContext &ctx) override {
    std::vector<const void *> ptrs(in.begin(), in.end());
    ptrs.insert(ptrs.end(), out.begin(), out.end());
    std::vector<void *> args;
    for (const void *&p : ptrs)
      args.push_back(&p);
    if (checks_) { // int *plumb_status, int plumb_step
      args.push_back(&ctx.status);
      args.push_back(&step_);
    }
    check(cudaLaunchKernel(reinterpret_cast<const void *>(kernel_), grid_, block_, args.data(),
                           shared_, ctx.stream),
          "launching the generated kernel for '" + label_ + "'");
  }

private:
  std::string label_;
  bool checks_ = false;
  int step_ = 0;
  cudaLibrary_t lib_ = nullptr;
  cudaKernel_t kernel_ = nullptr;
  dim3 grid_, block_;
  size_t shared_ = 0;
};

class CopyKernel : public DeviceKernel {
public:
  explicit CopyKernel(size_t bytes) : bytes_(bytes) {}
  void launch(const std::vector<const void *> &in, const std::vector<void *> &out,
              DeviceContext &ctx) override {
    if (out[0] == in[0]) // a reshape given its input's memory (Step::inPlaceInput)
      return;
    check(cudaMemcpyAsync(out[0], in[0], bytes_, cudaMemcpyDeviceToDevice, ctx.stream),
          "cuda.copy");
  }

private:
  size_t bytes_;
};

// `results` narrowed to the plan's storage types where they differ.
std::vector<Tensor> narrowed(std::vector<Tensor> results, const std::vector<DType> &outTypes) {
  for (size_t i = 0; i < results.size() && i < outTypes.size(); ++i)
    if (results[i].dtype() != outTypes[i])
      results[i] = results[i].cast(outTypes[i]);
  return results;
}

// Round trip through the host for ops with no device kernel: correct, slow, and it
// synchronises the stream, so a plan with such a step runs without a CUDA Graph. Values whose
// shapes each run decides (runTimeShape) stay on the host, in ctx.hostValues.
class HostKernel : public DeviceKernel {
public:
  HostKernel(const Step &s, const std::vector<BufferInfo> &in, const std::vector<BufferInfo> &out)
      : step_(s), in_(in), out_(out) {
    if (!s.bodies.empty()) // an If, a Loop or a Scan: its bodies prepared once
      bodies_ = std::make_unique<cpu::ControlFlowRunner>(s, s.attrs.getString("plumb.op", ""));
  }
  bool capturable() const override { return false; }
  void observeBodies(
      const std::function<void(const std::string &, const Tensor &)> &observer) override {
    if (bodies_)
      bodies_->observe(observer);
  }
  void launch(const std::vector<const void *> &in, const std::vector<void *> &out,
              DeviceContext &ctx) override {
    std::vector<Tensor> host;
    std::vector<const Tensor *> args;
    host.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      if (in_[i].runTimeShape) { // made by an earlier host step, never on the device
        args.push_back(&ctx.hostValues->at(size_t(step_.inputs[i])));
        continue;
      }
      if (!in[i]) {
        args.push_back(nullptr);
        continue;
      }
      host.push_back(Tensor::zeros(in_[i].dtype, in_[i].shape));
      check(cudaMemcpyAsync(host.back().mutableRaw(), in[i], host.back().nbytes(),
                            cudaMemcpyDeviceToHost, ctx.stream),
            "cuda.host input copy");
      args.push_back(&host.back());
    }
    check(cudaStreamSynchronize(ctx.stream), "cuda.host");
    std::vector<DType> types;
    for (const BufferInfo &b : out_)
      types.push_back(b.dtype);
    std::vector<Tensor> results =
        bodies_ ? narrowed(bodies_->run(args), types) : runHostStep(step_, args, types);
    for (size_t i = 0; i < out.size(); ++i) {
      if (out_[i].runTimeShape) {
        ctx.hostValues->at(size_t(step_.outputs[i])) = results.at(i);
        continue;
      }
      if (!out[i])
        continue;
      const Tensor &r = results.at(i);
      check(cudaMemcpyAsync(out[i], r.raw(), r.nbytes(), cudaMemcpyHostToDevice, ctx.stream),
            "cuda.host output copy");
      check(cudaStreamSynchronize(ctx.stream), "cuda.host");
    }
  }

private:
  Step step_;
  std::vector<BufferInfo> in_, out_;
  std::unique_ptr<cpu::ControlFlowRunner> bodies_;
};

} // namespace

void failIndexCheck(size_t index, const Step &s) {
  throw Error("step " + std::to_string(index) + " (" + s.kernel + ", nodes '" + s.nodeNames +
              "'): an index outside [-dim, dim), which ONNX refuses (the kernel wrote NaN, 0 "
              "for integers, there)");
}

void requireHostForRunTimeShapes(const Plan &plan) {
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step &s = plan.steps[i];
    if (s.kernel == "cuda.host")
      continue;
    for (const std::vector<int> *ids : {&s.inputs, &s.outputs})
      for (int id : *ids)
        if (id >= 0 && plan.buffers[size_t(id)].runTimeShape)
          throw Error("step " + std::to_string(i) + " (" + s.kernel + ", nodes '" + s.nodeNames +
                      "'): '" + plan.buffers[size_t(id)].name +
                      "' has a shape known only at run time, which only cuda.host steps take");
  }
}

std::vector<Tensor> runHostStep(const Step &s, const std::vector<const Tensor *> &inputs,
                                const std::vector<DType> &outTypes) {
  if (!s.bodies.empty())
    return narrowed(cpu::ControlFlowRunner(s, s.attrs.getString("plumb.op", "")).run(inputs),
                    outTypes);
  ref::KernelCall call;
  call.opType = s.attrs.getString("plumb.op", "");
  call.nodeName = s.nodeNames;
  call.opset = s.opset;
  call.inputs = inputs;
  call.attrs = &s.attrs;
  call.numOutputs = outTypes.size();
  return narrowed(ref::runKernel(call), outTypes);
}

void requireOneType(const Step &s, const std::vector<DType> &in, DType out) {
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] != out)
      throw Error(s.kernel + " for '" + s.nodeNames + "': input " + std::to_string(i) + " is " +
                  dtypeName(in[i]) + ", the step computes in " + dtypeName(out) +
                  " (the plan should have cast it)");
}

void requireOneType(const Step &s, const std::vector<BufferInfo> &in,
                    const std::vector<BufferInfo> &out) {
  std::vector<DType> types;
  for (const BufferInfo &b : in)
    if (b.present)
      types.push_back(b.dtype);
  requireOneType(s, types, out.at(0).dtype);
}

std::unique_ptr<DeviceKernel> makeGeneratedKernel(const Step &s, const std::vector<BufferInfo> &,
                                                  const std::vector<BufferInfo> &,
                                                  DeviceContext &ctx) {
  return std::make_unique<GeneratedKernel>(s, ctx);
}

std::unique_ptr<DeviceKernel> makeCopyKernel(const Step &s, const std::vector<BufferInfo> &in,
                                             const std::vector<BufferInfo> &out, DeviceContext &) {
  size_t bytes = size_t(numElements(out.at(0).shape)) * dtypeSize(out[0].dtype);
  if (bytes != size_t(numElements(in.at(0).shape)) * dtypeSize(in[0].dtype))
    throw Error("cuda.copy for '" + s.nodeNames + "': input and output sizes differ");
  return std::make_unique<CopyKernel>(bytes);
}

std::unique_ptr<DeviceKernel> makeHostKernel(const Step &s, const std::vector<BufferInfo> &in,
                                             const std::vector<BufferInfo> &out, DeviceContext &) {
  if (s.bodies.empty() && !ref::KernelRegistry::instance().find(s.attrs.getString("plumb.op", "")))
    throw Error("cuda.host for '" + s.nodeNames + "': no reference kernel '" +
                s.attrs.getString("plumb.op", "") + "'");
  return std::make_unique<HostKernel>(s, in, out);
}

} // namespace plumb::cuda
