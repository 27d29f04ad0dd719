// Which "attention" fusions become one cpu.attention step, and the strided views through
// which that step reads Q, Kᵀ and V and writes its result, so that the head split/merge
// Transposes, Reshapes and Splits around it need no steps of their own.
#pragma once

#include "ir/PlumbDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <optional>
#include <string>
#include <vector>

namespace plumb::cpu {

// A rank-4 [b0, b1, row, col] view into the dense buffer of `base`: [offset, 4 strides].
struct AttentionOperand {
  mlir::Value base;
  std::vector<int64_t> view;
};

struct AttentionLowering {
  AttentionOperand q, kt, v;
  std::vector<int64_t> dims;  // B0, B1, S, T, D, Dv
  std::string scaleOp = "none"; // none | div | mul
  double scale = 1.0;
  std::string mask = "none";    // none | add | where | where_not
  mlir::Value maskValue, fill;  // body values (block arguments or body constants)
  mlir::Value result;           // the value the step writes (the fusion's, or an absorbed user's)
  std::vector<int64_t> outView;
};

struct AttentionPlan {
  llvm::DenseMap<mlir::Operation *, AttentionLowering> fusions;
  llvm::DenseSet<mlir::Operation *> absorbed; // ops outside fusions that get no step
};

// Finds the attention fusions of `fn` that cpu.attention runs. Bodies outside its reach are
// left out (the lowering then goes op by op).
AttentionPlan planAttentions(mlir::func::FuncOp fn);

} // namespace plumb::cpu
