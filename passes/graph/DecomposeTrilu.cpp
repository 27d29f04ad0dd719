// plumb-decompose-trilu: Trilu (static shape) as the mask it applies,
// Where(i + k <= j, x, 0) for the upper triangle and Where(j <= i + k, x, 0) for the lower,
// i the row and j the column of the last two dims. The mask is a bool [rows, cols] constant
// up to 4 MiB (a backend that generates elementwise kernels computes the op in one: CUDA ran
// it on the host), else the LessOrEqual of an i64 [rows, 1] constant of the row indices plus
// k and a [1, cols] one of the column indices (a k given at run time added to the former). Causal masks built at run
// time (torch.triu/tril of a score or a mask whose size is an input) export as Trilu.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

#include <algorithm>

namespace plumb {
#define GEN_PASS_DEF_PLUMBDECOMPOSETRILU
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

// Masks up to this size (one byte an element) are constants; larger ones are computed.
constexpr int64_t kMaskBytes = int64_t(1) << 22;

// `k` nullopt: given at run time (a one-element i64 tensor), added to the row indices.
void rewrite(TriluOp op, std::optional<int64_t> k) {
  mlir::OpBuilder b(op);
  std::string name = tensorNameOf(op, 0);
  auto loc = [&](const std::string &suffix) {
    return fuseNodeLocs({op->getLoc()}, {name + "/" + suffix});
  };
  auto t = llvm::cast<mlir::RankedTensorType>(op->getOperand(0).getType());
  int64_t rows = t.getDimSize(t.getRank() - 2), cols = t.getDimSize(t.getRank() - 1);
  bool upper = !op.getUpper() || *op.getUpper() != 0;
  Value keep;
  if (k && rows * cols <= kMaskBytes) { // the mask itself: Where reads it, one kernel in all
    std::vector<uint8_t> mask(static_cast<size_t>(rows * cols));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        mask[size_t(i * cols + j)] = upper ? i + *k <= j : j <= i + *k;
    keep = constantOf(b, loc("kept"), Tensor::fromVector(DType::Bool, {rows, cols}, mask));
  } else { // computed from the row and column indices (and k)
    std::vector<int64_t> shifted(static_cast<size_t>(rows)), columns(static_cast<size_t>(cols));
    for (int64_t i = 0; i < rows; ++i)
      shifted[size_t(i)] = i + k.value_or(0);
    for (int64_t j = 0; j < cols; ++j)
      columns[size_t(j)] = j;
    Value r = constantOf(b, loc("rows_plus_k"), Tensor::fromVector(DType::I64, {rows, 1}, shifted));
    if (!k)
      r = AddOp::create(b, loc("rows_plus_k.run_time"), r.getType(), r, op.getK());
    Value c = constantOf(b, loc("columns"), Tensor::fromVector(DType::I64, {1, cols}, columns));
    auto maskType = mlir::RankedTensorType::get({rows, cols}, b.getI1Type());
    keep = upper ? LessOrEqualOp::create(b, loc("kept"), maskType, r, c).getResult()
                 : LessOrEqualOp::create(b, loc("kept"), maskType, c, r).getResult();
  }
  std::optional<DType> dt = dtypeOf(t.getElementType());
  Value zero = constantOf(b, loc("zero"), Tensor::zeros(*dt, {}));
  Value y = WhereOp::create(b, op->getLoc(), t, keep, op->getOperand(0), zero);
  op->getResult(0).replaceAllUsesWith(y);
  op->erase();
}

struct DecomposeTriluPass : impl::PlumbDecomposeTriluBase<DecomposeTriluPass> {
  void runOnOperation() override {
    llvm::SmallVector<TriluOp> ops;
    getOperation().walk([&](TriluOp op) { ops.push_back(op); });
    for (TriluOp op : ops) {
      auto t = staticTensorType(op->getOperand(0));
      if (!t || t.getRank() < 2 || op->getResult(0).getType() != t || !dtypeOf(t.getElementType()))
        continue;
      std::optional<int64_t> k = 0;
      if (!absent(op.getK())) {
        auto kt = staticTensorType(op.getK());
        if (!kt || kt.getNumElements() != 1 || !kt.getElementType().isInteger(64) || kt.getRank() > 1)
          continue;
        std::optional<std::vector<int64_t>> c = constantInts(op.getK());
        // Past the matrix every k keeps all or nothing: clamped so i + k cannot overflow.
        k = c ? std::optional<int64_t>(std::clamp(c->front(), -t.getDimSize(t.getRank() - 2) - 1,
                                                  t.getDimSize(t.getRank() - 1) + 1))
              : std::nullopt;
      }
      rewrite(op, k);
    }
  }
};

} // namespace
} // namespace plumb
