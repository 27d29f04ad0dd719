// cpu.if: ONNX If whose condition is known only at run time. Its two branches are plans of
// their own (Step::bodies), each prepared once with the CPU kernels; a run reads the condition
// and runs one of them on the step's other inputs (the values the branches read from the
// enclosing graph). MLIR-free, like every kernel.
#include "backends/cpu/CpuBackend.h"
#include "backends/cpu/Kernels.h"
#include "runtime/Executor.h"

#include <cstring>

namespace plumb::cpu {

namespace {

class IfKernel final : public RuntimeKernel {
public:
  explicit IfKernel(const KernelArgs &a) : label_(a.step.nodeNames) {
    if (a.step.bodies.size() != 2)
      a.fail("cpu.if needs two bodies (then, else), got " + std::to_string(a.step.bodies.size()));
    const BufferInfo &cond = a.input(0);
    if (cond.dtype != DType::Bool || numElements(cond.shape) != 1)
      a.fail("cpu.if: the condition is " + std::string(dtypeName(cond.dtype)) + "[" +
             shapeToString(cond.shape) + "], not one bool");
    for (const Plan &body : a.step.bodies)
      branches_.push_back(std::make_unique<Executor>(body, cpuKernelRegistry()));
    for (const BufferInfo &o : a.out)
      runTimeShape_.push_back(o.runTimeShape);
  }

  // A branch's result may differ in shape from the other's: such an output is runTimeShape.
  bool takesRunTimeShapes() const override { return true; }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    Executor &branch = *branches_[in[0]->data<bool>()[0] ? 0 : 1];
    std::vector<Tensor> args;
    for (size_t i = 1; i < in.size(); ++i)
      args.push_back(in[i] ? *in[i] : Tensor());
    std::vector<Tensor> results = branch.run(args);
    for (size_t i = 0; i < out.size(); ++i) {
      if (!out[i])
        continue;
      if (runTimeShape_[i]) {
        *out[i] = results[i];
        continue;
      }
      if (results[i].shape() != out[i]->shape() || results[i].dtype() != out[i]->dtype())
        throw Error("the branch taken gave " + results[i].describe() + " for output " +
                    std::to_string(i) + ", planned " + out[i]->describe());
      std::memcpy(out[i]->mutableRaw(), results[i].raw(), results[i].nbytes());
    }
  }

private:
  std::string label_;
  std::vector<std::unique_ptr<Executor>> branches_; // then, else
  std::vector<bool> runTimeShape_;                 // per output
};

} // namespace

std::unique_ptr<RuntimeKernel> makeIfKernel(const KernelArgs &a) {
  return std::make_unique<IfKernel>(a);
}

} // namespace plumb::cpu
