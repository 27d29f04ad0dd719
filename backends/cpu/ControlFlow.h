// Control-flow steps run on tensors with the CPU kernels: an If's two branches and a Loop's
// body are plans of their own (Step::bodies), each prepared once. The CPU backend's cpu.if and
// cpu.loop kernels and the CUDA backend's host steps for If and Loop share them. MLIR-free.
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
  // initial carried values, then the values the body reads; attr "carried": their count).
  // Throws plumb::Error when the step's bodies do not fit.
  ControlFlowRunner(const Step &s, const std::string &op);
  ~ControlFlowRunner();
  // The step's outputs for `inputs` (nullptr: absent). Inputs stored narrower than a body
  // takes them (an f16 plan's) are widened; results come in the bodies' types. A Loop's
  // carried values must keep their shapes from one iteration to the next; its scan outputs
  // are stacked along a new axis 0 (as many rows as iterations ran).
  std::vector<Tensor> run(const std::vector<const Tensor *> &inputs);

private:
  std::vector<Tensor> runIf(const std::vector<const Tensor *> &inputs);
  std::vector<Tensor> runLoop(const std::vector<const Tensor *> &inputs);

  std::string op_, label_;
  size_t carried_ = 0;
  std::vector<std::unique_ptr<Executor>> bodies_;
};

} // namespace plumb::cpu
