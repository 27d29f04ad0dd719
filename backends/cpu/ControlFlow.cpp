// cpu.if and cpu.loop (ONNX If of a run-time condition, Loop): ControlFlowRunner over the
// step's bodies, each prepared once with the CPU kernels.
#include "backends/cpu/ControlFlow.h"

#include "backends/cpu/CpuBackend.h"
#include "backends/cpu/Kernels.h"

#include <cstring>
#include <limits>

namespace plumb::cpu {

ControlFlowRunner::ControlFlowRunner(const Step &s, const std::string &op)
    : op_(op), label_(s.nodeNames) {
  size_t want = op == "If" ? 2 : op == "Loop" ? 1 : 0;
  if (want == 0 || s.bodies.size() != want)
    throw Error(op + " for '" + label_ + "' needs " + std::to_string(want) + " bodies, got " +
                std::to_string(s.bodies.size()));
  if (op == "Loop") {
    int64_t n = s.attrs.getInt("carried", -1);
    const Plan &body = s.bodies[0];
    if (n < 0 || s.inputs.size() < 2 + size_t(n) || body.inputs.size() != s.inputs.size() ||
        body.outputs.size() != s.outputs.size() + 1 || s.outputs.size() < size_t(n))
      throw Error("Loop for '" + label_ + "': its body takes " +
                  std::to_string(body.inputs.size()) + " inputs and gives " +
                  std::to_string(body.outputs.size()) + " outputs, for a step of " +
                  std::to_string(s.inputs.size()) + " inputs, " + std::to_string(s.outputs.size()) +
                  " outputs and " + std::to_string(n) + " carried values");
    carried_ = size_t(n);
  } else {
    for (const Plan &body : s.bodies)
      if (s.inputs.empty() || body.inputs.size() != s.inputs.size() - 1 ||
          body.outputs.size() != s.outputs.size())
        throw Error("If for '" + label_ + "': a branch takes " +
                    std::to_string(body.inputs.size()) + " inputs and gives " +
                    std::to_string(body.outputs.size()) + " outputs, for a step of " +
                    std::to_string(s.inputs.size()) + " inputs and " +
                    std::to_string(s.outputs.size()) + " outputs");
  }
  for (const Plan &body : s.bodies)
    bodies_.push_back(std::make_unique<Executor>(body, cpuKernelRegistry()));
}

ControlFlowRunner::~ControlFlowRunner() = default;

namespace {

// `t` in the dtype body input `i` of `exec` takes.
Tensor asInput(const Executor &exec, size_t i, const Tensor &t) {
  const Plan &p = exec.plan();
  DType want = p.buffers[size_t(p.inputs.at(i))].dtype;
  return t.dtype() == want ? t : t.cast(want);
}

} // namespace

std::vector<Tensor> ControlFlowRunner::run(const std::vector<const Tensor *> &inputs) {
  return op_ == "If" ? runIf(inputs) : runLoop(inputs);
}

std::vector<Tensor> ControlFlowRunner::runIf(const std::vector<const Tensor *> &inputs) {
  Executor &branch = *bodies_[inputs.at(0)->getAsDouble(0) != 0 ? 0 : 1];
  std::vector<Tensor> args;
  for (size_t i = 1; i < inputs.size(); ++i)
    args.push_back(asInput(branch, i - 1, *inputs[i]));
  return branch.run(args);
}

std::vector<Tensor> ControlFlowRunner::runLoop(const std::vector<const Tensor *> &inputs) {
  Executor &body = *bodies_[0];
  int64_t limit = inputs.at(0) ? inputs[0]->toInts().at(0) : std::numeric_limits<int64_t>::max();
  bool go = inputs.at(1) ? inputs[1]->getAsDouble(0) != 0 : true;
  std::vector<Tensor> carried;
  for (size_t i = 0; i < carried_; ++i)
    carried.push_back(*inputs.at(2 + i));
  const Plan &plan = body.plan();
  size_t scans = plan.outputs.size() - 1 - carried_;
  std::vector<std::vector<Tensor>> rows(scans);
  for (int64_t iter = 0; iter < limit && go; ++iter) {
    std::vector<Tensor> args = {asInput(body, 0, Tensor::fromVector(DType::I64, {}, std::vector<int64_t>{iter})),
                                asInput(body, 1, Tensor::fromVector(DType::Bool, {}, std::vector<uint8_t>{uint8_t(go)}))};
    for (size_t i = 0; i < carried_; ++i)
      args.push_back(asInput(body, 2 + i, carried[i]));
    for (size_t i = 2 + carried_; i < inputs.size(); ++i)
      args.push_back(asInput(body, i, *inputs[i]));
    std::vector<Tensor> out;
    try {
      out = body.run(args);
    } catch (const Error &e) {
      throw Error("Loop for '" + label_ + "', iteration " + std::to_string(iter) + ": " + e.what());
    }
    go = out[0].getAsDouble(0) != 0;
    for (size_t i = 0; i < carried_; ++i)
      carried[i] = out[1 + i];
    for (size_t k = 0; k < scans; ++k)
      rows[k].push_back(out[1 + carried_ + k]);
  }
  std::vector<Tensor> results = carried;
  for (size_t k = 0; k < scans; ++k) {
    const Buffer &slice = plan.buffers[size_t(plan.outputs[1 + carried_ + k])];
    Shape shape = rows[k].empty() ? slice.shape : rows[k][0].shape();
    shape.insert(shape.begin(), int64_t(rows[k].size()));
    Tensor stacked = Tensor::empty(slice.dtype, shape);
    auto *dst = static_cast<char *>(stacked.mutableRaw());
    for (const Tensor &row : rows[k]) {
      if (row.nbytes() * rows[k].size() != stacked.nbytes())
        throw Error("Loop for '" + label_ + "': scan output " + std::to_string(k) +
                    " changed shape between iterations");
      std::memcpy(dst, row.raw(), row.nbytes());
      dst += row.nbytes();
    }
    results.push_back(stacked);
  }
  return results;
}

namespace {

// cpu.if / cpu.loop: the runner's results into the planned outputs (a run-time-shaped one
// becomes the result itself).
class ControlFlowKernel final : public RuntimeKernel {
public:
  ControlFlowKernel(const KernelArgs &a, const std::string &op) : runner_(a.step, op) {
    if (op == "If" && (a.input(0).dtype != DType::Bool || numElements(a.input(0).shape) != 1))
      a.fail("cpu.if: the condition is " + std::string(dtypeName(a.input(0).dtype)) + "[" +
             shapeToString(a.input(0).shape) + "], not one bool");
    for (const BufferInfo &o : a.out) {
      runTimeShape_.push_back(o.runTimeShape);
      dtypes_.push_back(o.dtype);
    }
  }

  // A branch's result, or a Loop's stacked scan, may differ in shape run to run.
  bool takesRunTimeShapes() const override { return true; }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    std::vector<Tensor> results = runner_.run(in);
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i])
        storeOutput(out[i], results.at(i), dtypes_[i], runTimeShape_[i], i, "the body");
  }

private:
  ControlFlowRunner runner_;
  std::vector<bool> runTimeShape_; // per output
  std::vector<DType> dtypes_;      // per output
};

} // namespace

std::unique_ptr<RuntimeKernel> makeIfKernel(const KernelArgs &a) {
  return std::make_unique<ControlFlowKernel>(a, "If");
}

std::unique_ptr<RuntimeKernel> makeLoopKernel(const KernelArgs &a) {
  return std::make_unique<ControlFlowKernel>(a, "Loop");
}

} // namespace plumb::cpu
