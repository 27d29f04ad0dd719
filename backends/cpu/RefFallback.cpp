// ref.<OpType>: any ONNX op through the reference interpreter's kernel, the universal
// fallback for ops (or configurations) the cpu.* kernels do not cover.
#include "backends/cpu/Kernels.h"

#include <cstring>

namespace plumb::cpu {

namespace {

// Slow but exact: every run calls ref::runKernel on the step's ONNX op and copies the results
// into the planned outputs (casting when the reference computed in a wider float type). It
// takes every shape from its inputs, so it runs the steps around value-dependent shapes: a
// run-time-shaped output becomes the result itself.
class RefKernel final : public RuntimeKernel {
public:
  explicit RefKernel(const KernelArgs &a) : attrs_(a.step.attrs) {
    const std::string &name = a.step.kernel;
    if (name.rfind("ref.", 0) != 0 || name.size() == 4)
      a.fail("reference kernels are named ref.<OpType>, not '" + name + "'");
    call_.opType = name.substr(4);
    if (!ref::KernelRegistry::instance().find(call_.opType))
      a.fail("the reference interpreter has no kernel for " + call_.opType);
    call_.nodeName = a.step.nodeNames;
    call_.opset = a.step.opset;
    call_.attrs = &attrs_;
    call_.numOutputs = a.out.size();
    call_.precision = ref::Precision::F32;
    for (const BufferInfo &o : a.out) {
      runTimeShape_.push_back(o.runTimeShape);
      dtypes_.push_back(o.dtype);
    }
  }

  bool takesRunTimeShapes() const override { return true; }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    call_.inputs = in;
    std::vector<Tensor> results = ref::runKernel(call_);
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i])
        storeOutput(out[i], results[i], dtypes_[i], runTimeShape_[i], i, "the reference kernel");
  }

private:
  ref::Attrs attrs_;
  ref::KernelCall call_;
  std::vector<bool> runTimeShape_; // per output
  std::vector<DType> dtypes_;      // per output
};

} // namespace

void storeOutput(Tensor *out, const Tensor &result, DType dtype, bool runTimeShape, size_t i,
                 const std::string &who) {
  Tensor r = result.dtype() == dtype ? result : result.cast(dtype);
  if (runTimeShape) {
    *out = r;
    return;
  }
  if (r.shape() != out->shape())
    throw Error(who + " produced " + r.describe() + " for output " + std::to_string(i) +
                ", planned " + out->describe());
  std::memcpy(out->mutableRaw(), r.raw(), r.nbytes());
}

std::unique_ptr<RuntimeKernel> makeRefKernel(const KernelArgs &a) {
  return std::make_unique<RefKernel>(a);
}

} // namespace plumb::cpu
