// plumb-fuse-matmul: MatMul/Gemm + bias Add + residual Add + activation -> plumb.fusion "matmul+bias+gelu" etc.
#include "passes/Passes.h"
#include "passes/fusion/Activations.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBFUSEMATMUL
#include "passes/Passes.h.inc"

using namespace mlir;

namespace {

// The number of output columns of a MatMul/Gemm, from its result or its B operand.
std::optional<int64_t> outputColumns(Operation *mm) {
  auto result = dyn_cast<RankedTensorType>(mm->getResult(0).getType());
  if (result && result.getRank() > 0 && !result.isDynamicDim(result.getRank() - 1))
    return result.getDimSize(result.getRank() - 1);
  auto b = dyn_cast<RankedTensorType>(mm->getOperand(1).getType());
  if (!b || b.getRank() < 1)
    return std::nullopt;
  int64_t dim = b.getRank() - 1;
  if (auto gemm = dyn_cast<GemmOp>(mm); gemm && gemm.getTransB().value_or(0) != 0)
    dim = 0;
  if (b.getRank() < 2 || b.isDynamicDim(dim))
    return std::nullopt;
  return b.getDimSize(dim);
}

// A constant shaped [.., 1, N] adding one value per output column (a kernel's bias); it must
// not broadcast the product to a higher rank.
bool isColumnBias(Value c, Operation *mm) {
  std::optional<SmallVector<int64_t>> shape = isConstant(c) ? staticShape(c) : std::nullopt;
  std::optional<int64_t> columns = outputColumns(mm);
  if (!shape || shape->empty() || !columns || shape->back() != *columns)
    return false;
  auto result = dyn_cast<RankedTensorType>(mm->getResult(0).getType());
  if (result && int64_t(shape->size()) > result.getRank())
    return false;
  return llvm::all_of(ArrayRef<int64_t>(*shape).drop_back(), [](int64_t d) { return d == 1; });
}

std::optional<FusionMatch> matchMatMul(Operation *mm) {
  auto gemm = dyn_cast<GemmOp>(mm);
  FusionMatch m{{mm}, gemm ? "gemm" : "matmul"};
  Value cur = mm->getResult(0);
  if (!gemm || isa<NoneType>(gemm.getC().getType()))
    if (auto add = soleUser<AddOp>(cur); add && isColumnBias(otherOperand(add, cur), mm)) {
      m.add(add);
      m.kind += "+bias";
      cur = add.getResult();
    }
  // A residual Add before any activation (a transformer's skip connection after its output
  // projection, an RNN step's x W + h R): the GEMM's C on CUDA, a sum post-op on the CPU.
  if (!gemm || isa<NoneType>(gemm.getC().getType()))
    if (auto add = soleUser<AddOp>(cur); add && isResidualAdd(add, cur, mm)) {
      m.add(add);
      m.kind += "+add";
      cur = add.getResult();
    }
  if (std::optional<ActivationMatch> act = matchActivation(cur)) {
    m.add(act->ops);
    m.kind += "+" + act->name;
  }
  if (m.ops.size() < 2)
    return std::nullopt;
  return m;
}

struct FuseMatMul : impl::PlumbFuseMatMulBase<FuseMatMul> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachTopLevelOp(getOperation(), [&](Operation *op) {
      if (!isa<MatMulOp, GemmOp>(op) || !isFusible(op))
        return;
      if (std::optional<FusionMatch> m = matchMatMul(op))
        applyFusion(rewriter, *m);
    });
  }
};

} // namespace
} // namespace plumb
