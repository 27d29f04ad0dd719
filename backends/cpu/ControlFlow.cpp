// cpu.if, cpu.loop and cpu.scan (ONNX If of a run-time condition, Loop, Scan):
// ControlFlowRunner over the step's bodies, each prepared once with the CPU kernels.
#include "backends/cpu/ControlFlow.h"

#include "backends/cpu/CpuBackend.h"
#include "backends/cpu/Kernels.h"
#include "backends/reference/RefValue.h"

#include <algorithm>
#include <limits>

namespace plumb::cpu {

ControlFlowRunner::ControlFlowRunner(const Step &s, const std::string &op)
    : op_(op), label_(s.nodeNames) {
  size_t want = op == "If" ? 2 : op == "Loop" || op == "Scan" ? 1 : 0;
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
  } else if (op == "Scan") {
    int64_t n = s.attrs.getInt("states", -1);
    batched_ = s.attrs.getInt("batched", 0) != 0;
    inAxes_ = s.attrs.getInts("scan_input_axes");
    inDirs_ = s.attrs.getInts("scan_input_directions");
    outAxes_ = s.attrs.getInts("scan_output_axes");
    outDirs_ = s.attrs.getInts("scan_output_directions");
    const Plan &body = s.bodies[0];
    size_t lead = batched_ ? 1 : 0, m = inAxes_.size(), k = outAxes_.size();
    if (n < 0 || inDirs_.size() != m || outDirs_.size() != k ||
        s.inputs.size() < lead + size_t(n) + m || body.inputs.size() != s.inputs.size() - lead ||
        body.outputs.size() != size_t(n) + k || s.outputs.size() != size_t(n) + k)
      throw Error("Scan for '" + label_ + "': its body takes " +
                  std::to_string(body.inputs.size()) + " inputs and gives " +
                  std::to_string(body.outputs.size()) + " outputs, for a step of " +
                  std::to_string(s.inputs.size()) + " inputs, " + std::to_string(s.outputs.size()) +
                  " outputs, " + std::to_string(n) + " states and " + std::to_string(m) +
                  " scan inputs");
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

// Slice `index` of `t` along `axis`, without that axis.
Tensor take(const Tensor &t, int64_t axis, int64_t index) {
  Shape shape = t.shape();
  shape.erase(shape.begin() + axis);
  return ref::sliceAlong(t, axis, index, 1).reshaped(shape);
}

// `rows` (one per iteration) stacked along a new axis `axis` (negative: from the end); with
// no rows, an empty tensor of `slice`'s dtype whose other dims are its shape.
Tensor stacked(const std::vector<Tensor> &rows, int64_t axis, const Buffer &slice,
               const std::string &what) {
  Shape shape = rows.empty() ? slice.shape : rows[0].shape();
  int64_t rank = int64_t(shape.size()) + 1;
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw Error(what + ": axis " + std::to_string(axis) + " is outside its " +
                std::to_string(rank) + " dims");
  for (const Tensor &row : rows)
    if (row.shape() != rows[0].shape() || row.dtype() != rows[0].dtype())
      throw Error(what + " changed from " + rows[0].describe() + " to " + row.describe() +
                  " between iterations");
  if (!rows.empty())
    return ref::stackAlong(rows, a);
  shape.insert(shape.begin() + a, 0);
  return Tensor::empty(slice.dtype, shape);
}

} // namespace

std::vector<Tensor> ControlFlowRunner::run(const std::vector<const Tensor *> &inputs) {
  for (size_t i = op_ == "Loop" ? 2 : op_ == "Scan" && batched_ ? 1 : 0; i < inputs.size(); ++i)
    if (!inputs[i])
      throw Error(op_ + " for '" + label_ + "': input " + std::to_string(i) + " is absent");
  return op_ == "If" ? runIf(inputs) : op_ == "Loop" ? runLoop(inputs) : runScan(inputs);
}

void ControlFlowRunner::observe(const Executor::Observer &observer) {
  if (op_ == "If")
    for (std::unique_ptr<Executor> &branch : bodies_)
      branch->setObserver(observer);
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
  for (size_t k = 0; k < scans; ++k)
    results.push_back(stacked(rows[k], 0, plan.buffers[size_t(plan.outputs[1 + carried_ + k])],
                              "Loop for '" + label_ + "': scan output " + std::to_string(k)));
  return results;
}

std::vector<Tensor> ControlFlowRunner::runScan(const std::vector<const Tensor *> &inputs) {
  size_t lead = batched_ ? 1 : 0, n = carried_, m = inAxes_.size();
  std::vector<const Tensor *> captures(inputs.begin() + long(lead + n + m), inputs.end());
  if (!batched_) {
    std::vector<Tensor> states, xs;
    for (size_t i = 0; i < n + m; ++i)
      (i < n ? states : xs).push_back(*inputs[i]);
    return scanOnce(states, xs, captures);
  }
  // Opset 8: axis 0 of every input is a batch; each entry is scanned on its own.
  int64_t batch = inputs[lead]->rank() > 0 ? inputs[lead]->dim(0) : -1;
  for (size_t i = lead; i < lead + n + m; ++i)
    if (inputs[i]->rank() < (i < lead + n ? 1 : 2) || inputs[i]->dim(0) != batch || batch < 1)
      throw Error("Scan for '" + label_ + "': input " + std::to_string(i) + " (" +
                  inputs[i]->describe() + ") has no batch axis 0 of the others' size");
  if (m > 0 && inputs[0]) {
    int64_t full = inputs[lead + n]->dim(1);
    for (int64_t len : inputs[0]->toInts())
      if (len != full)
        throw Error("Scan for '" + label_ + "': a sequence_lens entry of " + std::to_string(len) +
                    " for scan inputs of " + std::to_string(full) +
                    " (shorter sequences are not supported)");
  }
  std::vector<std::vector<Tensor>> perBatch(bodies_[0]->plan().outputs.size());
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Tensor> states, xs;
    for (size_t i = 0; i < n + m; ++i)
      (i < n ? states : xs).push_back(take(*inputs[lead + i], 0, b));
    std::vector<Tensor> results = scanOnce(states, xs, captures);
    for (size_t r = 0; r < results.size(); ++r)
      perBatch[r].push_back(results[r]);
  }
  std::vector<Tensor> results;
  for (const std::vector<Tensor> &rows : perBatch)
    results.push_back(ref::stackAlong(rows, 0));
  return results;
}

std::vector<Tensor> ControlFlowRunner::scanOnce(std::vector<Tensor> states,
                                                const std::vector<Tensor> &xs,
                                                const std::vector<const Tensor *> &captures) {
  Executor &body = *bodies_[0];
  const Plan &plan = body.plan();
  size_t n = states.size(), m = xs.size(), k = outAxes_.size();
  int64_t len = -1;
  for (size_t j = 0; j < m; ++j) {
    if (inAxes_[j] < 0 || inAxes_[j] >= xs[j].rank() || (len >= 0 && xs[j].dim(inAxes_[j]) != len))
      throw Error("Scan for '" + label_ + "': scan input " + std::to_string(j) + " (" +
                  xs[j].describe() + ") has no axis " + std::to_string(inAxes_[j]) +
                  (len >= 0 ? " of length " + std::to_string(len) : std::string()));
    len = xs[j].dim(inAxes_[j]);
  }
  std::vector<std::vector<Tensor>> rows(k);
  for (int64_t t = 0; t < len; ++t) {
    std::vector<Tensor> args;
    for (size_t i = 0; i < n; ++i)
      args.push_back(asInput(body, i, states[i]));
    for (size_t j = 0; j < m; ++j)
      args.push_back(asInput(body, n + j, take(xs[j], inAxes_[j], inDirs_[j] ? len - 1 - t : t)));
    for (size_t c = 0; c < captures.size(); ++c)
      args.push_back(asInput(body, n + m + c, *captures[c]));
    std::vector<Tensor> out;
    try {
      out = body.run(args);
    } catch (const Error &e) {
      throw Error("Scan for '" + label_ + "', iteration " + std::to_string(t) + ": " + e.what());
    }
    for (size_t i = 0; i < n; ++i)
      states[i] = out[i];
    for (size_t j = 0; j < k; ++j)
      rows[j].push_back(out[n + j]);
  }
  std::vector<Tensor> results = states;
  for (size_t j = 0; j < k; ++j) {
    if (outDirs_[j])
      std::reverse(rows[j].begin(), rows[j].end());
    results.push_back(stacked(rows[j], outAxes_[j], plan.buffers[size_t(plan.outputs[n + j])],
                              "Scan for '" + label_ + "': scan output " + std::to_string(j)));
  }
  return results;
}

namespace {

// cpu.if / cpu.loop / cpu.scan: the runner's results into the planned outputs (a run-time-shaped
// one becomes the result itself).
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
  void observeBodies(const Executor::Observer &observer) override { runner_.observe(observer); }

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

std::unique_ptr<RuntimeKernel> makeScanKernel(const KernelArgs &a) {
  return std::make_unique<ControlFlowKernel>(a, "Scan");
}

} // namespace plumb::cpu
