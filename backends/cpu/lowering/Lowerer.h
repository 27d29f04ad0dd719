// Internal to the CPU lowering: the Lowerer that walks @main into a cpu Plan, shared by
// Lowering.cpp (values, buffers, single ops, the walk) and FusionSteps.cpp (oneDNN steps with
// post-ops for anchored fusions, cpu.attention, cpu.chain runs of elementwise ops).
#pragma once

#include "backends/cpu/lowering/Lowering.h"

#include "backends/cpu/lowering/Attention.h"
#include "backends/cpu/CpuBackend.h"
#include "backends/reference/Kernel.h"

#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/DenseMap.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace plumb::cpu {

// cpu.* kernels take f32 tensors only (none operands aside).
bool allF32(mlir::Operation *op);

// Whether cpu.matmul takes this Gemm (MatMulKernel's rules on alpha, beta and constant B/C);
// otherwise its step is the reference kernel's, alone or leading a fusion.
bool gemmFitsMatMul(mlir::Operation *op, const ref::Attrs &attrs);

class Lowerer {
public:
  Lowerer(LoweringStats *stats, const std::map<std::string, Shape> *hints, bool releasable)
      : stats_(stats), hints_(hints), releasable_(releasable) {}
  Plan run(mlir::func::FuncOp fn);
  Plan runBody(mlir::Block &block, llvm::ArrayRef<mlir::Value> captures,
               const std::vector<Buffer> &from, const BodyArgs &args);
  void setOpset(int64_t opset) { opset_ = opset; }

private:
  int bufferFor(mlir::Value v, const std::string &name);
  int operand(mlir::Value v);
  void lowerOp(mlir::Operation *op);
  void lowerFusion(FusionOp fusion);
  void lowerControlFlow(mlir::Operation *op);
  void finish(mlir::ValueRange values, const std::vector<std::string> &names);
  bool lowerAnchored(FusionOp fusion);
  bool lowerAttention(FusionOp fusion);
  void lowerOps(llvm::ArrayRef<mlir::Operation *> ops);
  bool lowerChain(llvm::ArrayRef<mlir::Operation *> ops);
  std::optional<Shape> staticShape(mlir::Value v);
  Step &emit(const std::string &kernel, mlir::Operation *op, std::vector<int> in, std::vector<int> out);
  std::string kernelFor(mlir::Operation *op, ref::Attrs &attrs);
  std::optional<std::string> postOpFor(mlir::Operation *op, mlir::Value prev, mlir::Value *residual);

  Plan plan_;
  llvm::DenseMap<mlir::Value, int> ids_;
  LoweringStats *stats_;
  const std::map<std::string, Shape> *hints_;
  int64_t opset_ = 17;
  AttentionPlan attention_; // cpu.attention steps and the view ops they make redundant
  llvm::DenseSet<mlir::Value> runTime_; // runTimeShapedValues
  bool releasable_ = false;
  BlobHandles blobHandles_; // one release handle per weight blob (releasable_)
};

} // namespace plumb::cpu
