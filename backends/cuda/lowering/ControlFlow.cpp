// The CUDA lowering's steps that run on the host because their shapes or their control flow
// are decided at run time: ops touching values whose shapes their values decide
// (cpu::runTimeShapedValues), and If/Loop/Scan steps whose bodies are CPU plans.
#include "backends/cuda/lowering/Lowerer.h"
#include "backends/cuda/lowering/StepAttrs.h"

#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"

using namespace mlir;

namespace plumb::cuda {

// An If whose condition is known only at run time (plumb-shape-refinement inlined the others),
// a Loop or a Scan: a host step whose bodies are the op's regions as CPU plans
// (cpu::controlFlowBodies, the CPU backend's cpu.if/cpu.loop/cpu.scan bodies), run on the host
// on copies of its inputs in the IR's types (an f16 plan's values are widened for them and the
// results narrowed back).
void Lowerer::lowerControlFlow(Operation *op) {
  std::string t = onnxOpType(op).str();
  cpu::ControlFlowParts parts = cpu::controlFlowBodies(
      op, plan_, [&](Value v) { return operand(v); }, "CUDA", hints_, opset_);
  std::vector<int> in = parts.inputs;
  std::vector<Plan> bodies = std::move(parts.bodies);
  std::vector<Value> outs(op->getResults().begin(), op->getResults().end());
  Step &s = emit("cuda.host", joinedNodeNames(op), in, outs);
  s.attrs = std::move(parts.attrs);
  s.attrs.set("plumb.op", stringAttr(t));
  s.bodies = std::move(bodies);
  stats_->byKernel["cuda.host:" + t]++;
}

// An op, or a fusion's body op by op, as host steps: each takes the shapes its run gives.
void Lowerer::lowerRunTimeShaped(Operation *op) {
  auto fusion = dyn_cast<FusionOp>(op);
  if (!fusion)
    return lowerHost(op);
  for (auto [arg, v] : llvm::zip(fusion.getBody().front().getArguments(), fusion.getInputs()))
    ids_[arg] = operand(v);
  for (Operation &inner : fusion.getBody().front().without_terminator())
    isa<ConstantOp, NoneOp>(inner) ? lowerOp(&inner) : lowerHost(&inner);
  bindResults(fusion);
}

} // namespace plumb::cuda
