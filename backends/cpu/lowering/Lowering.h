// Lowering of a (fused) plumb module to a CPU Plan: oneDNN-backed cpu.* steps where a kernel
// exists, ref.* steps (the reference kernels) for everything else.
#pragma once

#include "runtime/Plan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseSet.h"

#include <functional>
#include <map>
#include <string>

namespace plumb::cpu {

struct LoweringStats {
  int64_t cpuSteps = 0, refSteps = 0;
  std::map<std::string, int64_t> byKernel;
  int64_t blockedBuffers = 0, blockedBytes = 0; // Layout::ChannelBlocked intermediates
  int64_t runTimeShapeBuffers = 0; // Buffer::runTimeShape: shapes their values decide
};

// Builds the Plan for `module`'s @main. Large constants borrow the IR's data (resource blobs,
// owned by the MLIRContext): the context must outlive the plan and every copy of it. Every value needs a static shape (pin dynamic graph
// inputs with --input-shape); throws plumb::Error naming the value otherwise. `stats` is
// filled when given.
// `shapeHints` (ONNX tensor name -> shape) fill in values whose IR type is not static, from
// one interpretation with the inputs the plan is specialised for. Their shapes depend on values
// (the graph inputs are pinned): the hint is a sample, the buffer is runTimeShape and every op
// touching it runs on its reference kernel, which takes the shapes each run gives.
// `releasableWeights`: the plan's resource-blob weights hold the blobs themselves (see
// blobReleaseHandle), so that once every copy of a weight's tensor is gone (an executor made
// with releaseCopiedConstants drops those its kernels copied) its bytes are freed; the
// module's constants then have no data. For callers that use neither the module nor the
// plan's weights after preparing an executor (run, bench).
Plan lowerToCpuPlan(mlir::ModuleOp module, LoweringStats *stats = nullptr,
                    const std::map<std::string, Shape> *shapeHints = nullptr,
                    bool releasableWeights = false);

// Gives Layout::ChannelBlocked to every intermediate that only layout-aware steps touch: its
// writer and all its readers are cpu.conv / cpu.pool slots that accept the backend's blocked
// layout (source, output, residual), or per-element steps (eltwise, batch norm, binary and
// chain ops without broadcasting) whose operands are then all blocked together, provided a
// convolution or pool touches one of them. Part of lowerToCpuPlan; exposed for tests. Returns
// the number of buffers changed.
int64_t chooseLayouts(Plan &plan);

// A Plan is a straight list of kernel calls over tensor buffers: throws plumb::Error (one
// line naming node, op and opset) for an op with regions (control flow) or with sequence /
// optional operands or results, which `backend` ("CPU", "CUDA") cannot lower.
void requireStraightLineOp(mlir::Operation *op, int64_t opset, const std::string &backend);

// The values of `fn` whose shapes their values decide, with the graph inputs pinned: results
// of NonZero, Unique, Compress and NonMaxSuppression; results whose IR type is not static of
// an op with a non-constant operand that decides shapes (a Reshape's shape, a Range's bounds,
// a ConstantOfShape's shape, a TopK's k...: any operand but the data, operand 0); and results
// computed from such values. Their buffers are Buffer::runTimeShape: the compile-time run's
// shape is a sample. (A result the IR leaves open for other reasons, e.g. an Upsample of
// constant scales, has the one shape the compile-time run gives it.)
// A Loop's result whose type is open is one too when its body reads a value that is not a
// constant (the body's condition may stop it at any count). In a body, `seeds` (arguments or
// values read from the enclosing graph whose shapes vary) are such values to begin with.
llvm::DenseSet<mlir::Value> runTimeShapedValues(mlir::func::FuncOp fn);
llvm::DenseSet<mlir::Value> runTimeShapedValues(mlir::Block &block,
                                                const llvm::DenseSet<mlir::Value> &seeds = {});

// The values an op's regions (an If's branches) read from the enclosing graph, in first-use
// order.
std::vector<mlir::Value> valuesCapturedBy(mlir::Operation *op);
// What a body's arguments take, by argument number: `shapes` where the IR leaves a type open
// (a Loop's iteration, condition and carried values as they enter, a Scan's states and input
// slices); `runTime` where the shape may change run to run or iteration to iteration (fed a
// run-time-shaped value, or a Loop's carried value whose type refinement left open: it
// grows). Such an argument is a runTimeShape Input of the body's plan.
struct BodyArgs {
  std::vector<Shape> shapes;
  std::vector<bool> runTime;
};
// A control-flow op's regions (an If's then and else branches, a Loop's or a Scan's body) as
// CPU plans, each taking its block's arguments (`args`), then `captures` (stored as `from`:
// their dtype, shape, name and runTimeShape) as inputs and giving what the region yields:
// the bodies of a cpu.if/cpu.loop/cpu.scan step, or of the CUDA backend's host step for such
// an op. Values computed in a body from run-time-shaped arguments or captures are
// run-time-shaped in turn (their steps run on the reference kernels).
std::vector<Plan> lowerBodies(mlir::Operation *op, llvm::ArrayRef<mlir::Value> captures,
                              const std::vector<Buffer> &from,
                              const std::map<std::string, Shape> *shapeHints, int64_t opset,
                              const BodyArgs &args = {});
// A control-flow step (If, Loop or Scan): its inputs (the ids `operand` gives the op's own
// operands: an If's condition; a Loop's M, cond and initial values; a Scan's operands; then
// those of the values its bodies read from the enclosing graph, `plan`'s buffers), its
// attributes (a Loop's carried count; a Scan's states count, batched (opset 8) and normalised
// axes and directions) and its bodies (lowerBodies, in the IR's types), after the checks
// below: what the CPU backend's cpu.if/cpu.loop/cpu.scan and the CUDA backend's host step for
// such an op are made of. Throws plumb::Error (one line) for any other op with regions.
struct ControlFlowParts {
  std::vector<int> inputs;
  std::vector<Plan> bodies;
  ref::Attrs attrs;
};
ControlFlowParts controlFlowBodies(mlir::Operation *op, const Plan &plan,
                                   const std::function<int(mlir::Value)> &operand,
                                   const std::string &backend,
                                   const std::map<std::string, Shape> *shapeHints, int64_t opset);
// Throws plumb::Error (one line naming node, op and opset) unless every operand and result of
// `op` is a tensor (or absent); for If, Loop and Scan, whose bodies become plans.
void requireTensorValues(mlir::Operation *op, int64_t opset, const std::string &backend);
// Whether `op` (or an op in its body) reads or writes one of `values`: it then runs on its
// reference kernel, which takes the shapes each run gives (on the CUDA backend, on the host).
bool touchesRunTimeShape(mlir::Operation *op, const llvm::DenseSet<mlir::Value> &values);

} // namespace plumb::cpu
