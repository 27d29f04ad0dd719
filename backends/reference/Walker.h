// The reference interpreter's IR walker (internal to backends/reference): binds values to
// run-time values, calls one kernel per op and runs region bodies (plumb.fusion, control
// flow) with nested walkers that see the enclosing values.
#pragma once

#include "backends/reference/Interpreter.h"
#include "backends/reference/RefValue.h"

#include "mlir/IR/Block.h"
#include "mlir/IR/Value.h"

#include "llvm/ADT/DenseMap.h"

namespace plumb::ref {

class Walker {
public:
  // `parent`: the walker of the enclosing block, whose values a control-flow body may read
  // (null for a function body or an isolated fusion body).
  Walker(const RunOptions &opts, int64_t opset, const Walker *parent = nullptr)
      : opts_(opts), opset_(opset), parent_(parent) {}
  std::vector<RefValue> runBlock(mlir::Block &block, const std::vector<RefValue> &args);

private:
  void runOp(mlir::Operation *op);
  const RefValue *lookup(mlir::Value v) const;
  void bind(mlir::Operation *op, unsigned i, RefValue v);
  bool roundsHere(mlir::Operation *op) const;
  std::vector<RefValue> runTensorOp(mlir::Operation *op, const std::vector<const RefValue *> &in);
  // ControlFlow.cpp
  std::vector<RefValue> runRegionOp(mlir::Operation *op, const std::vector<const RefValue *> &in);
  std::vector<RefValue> runIf(mlir::Operation *op, const std::vector<const RefValue *> &in);
  std::vector<RefValue> runLoop(mlir::Operation *op, const std::vector<const RefValue *> &in);
  std::vector<RefValue> runScan(mlir::Operation *op, const std::vector<const RefValue *> &in);
  std::vector<RefValue> runSequenceMap(mlir::Operation *op,
                                       const std::vector<const RefValue *> &in);
  // Runs a control-flow body once with a nested walker.
  std::vector<RefValue> runBody(mlir::Region &body, const std::vector<RefValue> &args) const;

  const RunOptions &opts_;
  int64_t opset_;
  const Walker *parent_;
  llvm::DenseMap<mlir::Value, RefValue> env_;
  llvm::DenseMap<mlir::Value, unsigned> remainingUses_;
};

// Values used inside `op`'s regions but defined outside it: they must stay alive until the
// op has run.
llvm::SmallVector<mlir::Value> capturedValues(mlir::Operation *op);

} // namespace plumb::ref
