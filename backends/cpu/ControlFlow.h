// Control-flow steps run on tensors with the CPU kernels: an If's two branches and a Loop's or
// a Scan's body are plans of their own (Step::bodies), each prepared once. The CPU backend's
// cpu.if, cpu.loop and cpu.scan kernels and the CUDA backend's host steps for those ops share
// them. MLIR-free.
#pragma once

#include "runtime/Executor.h"
#include "runtime/Plan.h"

#include <memory>
#include <string>
#include <vector>

namespace plumb::cpu {

class ControlFlowRunner {
public:
  // `op` is "If" (bodies: then, else; step inputs: cond, then the values the branches read
  // from the enclosing graph) or "Loop" (one body; step inputs: M, cond (either absent), the
  // initial carried values, then the values the body reads; attr "carried": their count) or
  // "Scan" (one body; step inputs: [sequence_lens when batched,] the initial states, the scan
  // inputs, then the values the body reads; attrs as cpu.scan's in CpuBackend.h).
  // Throws plumb::Error when the step's bodies or attributes do not fit.
  ControlFlowRunner(const Step &s, const std::string &op);
  ~ControlFlowRunner();
  // The step's outputs for `inputs` (nullptr: absent). Inputs stored narrower than a body
  // takes them (an f16 plan's) are widened; results come in the bodies' types. A Loop's
  // carried values must keep their shapes from one iteration to the next; its scan outputs
  // are stacked along a new axis 0 (as many rows as iterations ran). A Scan runs its body
  // once per slice of the scan inputs along their axes (in their directions), carrying the
  // states, and stacks each scan output along its axis; batched (opset 8), once per entry of
  // the batch axis 0 of every input, the results stacked again along axis 0.
  std::vector<Tensor> run(const std::vector<const Tensor *> &inputs);
  // An If's branches report their values to `observer` (see RuntimeKernel::observeBodies).
  void observe(const Executor::Observer &observer);

private:
  std::vector<Tensor> runIf(const std::vector<const Tensor *> &inputs);
  std::vector<Tensor> runLoop(const std::vector<const Tensor *> &inputs);
  std::vector<Tensor> runScan(const std::vector<const Tensor *> &inputs);
  // One scan (no batch axis) of `states` and `xs` with `captures` read by the body.
  std::vector<Tensor> scanOnce(std::vector<Tensor> states, const std::vector<Tensor> &xs,
                               const std::vector<const Tensor *> &captures);

  std::string op_, label_;
  size_t carried_ = 0; // Loop: carried values; Scan: states
  bool batched_ = false;                        // Scan: opset 8's form
  std::vector<int64_t> inAxes_, inDirs_, outAxes_, outDirs_; // Scan
  std::vector<std::unique_ptr<Executor>> bodies_;
};

} // namespace plumb::cpu
