// plumb-decompose-rotary: the opset-23 RotaryEmbedding op (static shapes, a float X) becomes
// the ops it stands for, the rotary embedding Llama-style exports before opset 23 write out:
//   cos, sin = cos_cache[position_ids], sin_cache[position_ids]   (Gather; the caches as they
//              are without position_ids), broadcast over the heads
//   x1, x2   = the two halves of the first rotary_embedding_dim features (or the even and odd
//              ones when interleaved)
//   y        = concat(x1 cos - x2 sin, x1 sin + x2 cos) (interleaved back when interleaved),
//              then the features past rotary_embedding_dim unchanged
// 3-D X [B, S, heads * d] is viewed as [B, S, heads, d]. The last op carries the node and Y's
// name. A backend that fuses elementwise and movement ops computes it in one kernel (CUDA:
// the composite kernel; it ran on the host).
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBDECOMPOSEROTARY
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

void decompose(RotaryEmbeddingOp op) {
  auto xt = staticTensorType(op.getX());
  auto ct = staticTensorType(op.getCosCache());
  auto st = staticTensorType(op.getSinCache());
  auto yt = staticTensorType(op.getY());
  if (!xt || !ct || !st || !yt || ct != st || yt != xt)
    return;
  std::optional<DType> dt = dtypeOf(xt.getElementType());
  if (!dt || !isFloat(*dt) || ct.getElementType() != xt.getElementType())
    return;
  int64_t rank = xt.getRank(), B = xt.getDimSize(0), H, S, D;
  if (rank == 4) {
    H = xt.getDimSize(1), S = xt.getDimSize(2), D = xt.getDimSize(3);
  } else if (rank == 3) {
    H = int64_t(op.getNumHeads().value_or(0));
    if (H <= 0 || xt.getDimSize(2) % H != 0)
      return;
    S = xt.getDimSize(1), D = xt.getDimSize(2) / H;
  } else {
    return;
  }
  int64_t rd = int64_t(op.getRotaryEmbeddingDim().value_or(0));
  rd = rd == 0 ? D : rd;
  if (rd < 0 || rd > D || rd % 2 != 0)
    return;
  int64_t half = rd / 2;
  bool interleaved = op.getInterleaved().value_or(0) != 0;
  Value pos = op.getPositionIds();
  // The caches' rows per position must be half of the rotated features (the reference
  // allows longer rows and reads their start; left to it).
  if (ct.getShape().back() != half)
    return;
  if (!absent(pos)) {
    auto pt = staticTensorType(pos);
    if (!pt || ct.getRank() != 2 || pt.getNumElements() != B * S)
      return;
  } else if (ct.getNumElements() != B * S * half) {
    return;
  }

  mlir::OpBuilder b(op);
  std::string name = tensorNameOf(op, 0);
  auto loc = [&](const std::string &suffix) {
    return fuseNodeLocs({op.getLoc()}, {name + "/" + suffix});
  };
  mlir::Type elt = xt.getElementType();
  auto type = [&](llvm::ArrayRef<int64_t> shape) { return mlir::RankedTensorType::get(shape, elt); };
  auto reshape = [&](Value v, const std::vector<int64_t> &shape, const std::string &what) -> Value {
    return ReshapeOp::create(b, loc(what), type(shape), v, intsConstantOf(b, loc(what + ".shape"), shape),
                             nullptr);
  };
  // The heads layout the arithmetic runs in: [B, H, S, D] as given, or 3-D as [B, S, H, D].
  std::vector<int64_t> heads = rank == 4 ? std::vector<int64_t>{B, H, S, D}
                                         : std::vector<int64_t>{B, S, H, D};
  std::vector<int64_t> perPosition = rank == 4 ? std::vector<int64_t>{B, 1, S, half}
                                               : std::vector<int64_t>{B, S, 1, half};
  Value x = rank == 4 ? op.getX() : reshape(op.getX(), heads, "heads");
  auto cache = [&](Value c, const std::string &what) -> Value {
    if (!absent(pos)) {
      auto pt = llvm::cast<mlir::RankedTensorType>(pos.getType());
      llvm::SmallVector<int64_t> shape(pt.getShape());
      shape.push_back(half);
      c = GatherOp::create(b, loc(what), type(shape), c, pos, b.getI64IntegerAttr(0));
    }
    return reshape(c, perPosition, what + "_heads");
  };
  Value cosv = cache(op.getCosCache(), "cos"), sinv = cache(op.getSinCache(), "sin");
  // Features [from, to) (every `step`-th) of the last axis of `v`.
  auto slice = [&](Value v, int64_t from, int64_t to, int64_t step, const std::string &what) -> Value {
    auto vt = llvm::cast<mlir::RankedTensorType>(v.getType());
    llvm::SmallVector<int64_t> shape(vt.getShape());
    shape.back() = (to - from + step - 1) / step;
    return SliceOp::create(b, loc(what), type(shape), v, intsConstantOf(b, loc(what + ".starts"), {from}),
                           intsConstantOf(b, loc(what + ".ends"), {to}),
                           intsConstantOf(b, loc(what + ".axes"), {-1}),
                           intsConstantOf(b, loc(what + ".steps"), {step}), nullptr, nullptr, nullptr);
  };
  Value x1 = interleaved ? slice(x, 0, rd, 2, "x1") : slice(x, 0, half, 1, "x1");
  Value x2 = interleaved ? slice(x, 1, rd, 2, "x2") : slice(x, half, rd, 1, "x2");
  std::vector<int64_t> halfShape = heads;
  halfShape.back() = half;
  auto mul = [&](Value a, Value c, const std::string &what) -> Value {
    return MulOp::create(b, loc(what), type(halfShape), a, c);
  };
  Value y1 = SubOp::create(b, loc("y1"), type(halfShape), mul(x1, cosv, "x1_cos"), mul(x2, sinv, "x2_sin"));
  Value y2 = AddOp::create(b, loc("y2"), type(halfShape), mul(x1, sinv, "x1_sin"), mul(x2, cosv, "x2_cos"));
  std::vector<int64_t> rotShape = heads;
  rotShape.back() = rd;
  Value rotated;
  if (interleaved) { // pairs (y1[k], y2[k]) side by side: [.., half, 2] -> [.., rd]
    std::vector<int64_t> pair = halfShape;
    pair.push_back(1);
    std::vector<int64_t> pairs = halfShape;
    pairs.push_back(2);
    Value both = ConcatOp::create(b, loc("pairs"), type(pairs),
                                  mlir::ValueRange{reshape(y1, pair, "y1_pair"), reshape(y2, pair, "y2_pair")},
                                  b.getI64IntegerAttr(-1));
    rotated = reshape(both, rotShape, "rotated");
  } else {
    rotated = ConcatOp::create(b, loc("rotated"), type(rotShape), mlir::ValueRange{y1, y2},
                               b.getI64IntegerAttr(-1));
  }
  Value y = rotated;
  if (rd < D)
    y = ConcatOp::create(b, loc("with_rest"), type(heads),
                         mlir::ValueRange{rotated, slice(x, rd, D, 1, "rest")}, b.getI64IntegerAttr(-1));
  if (rank == 3)
    y = ReshapeOp::create(b, op.getLoc(), yt, y,
                          intsConstantOf(b, loc("merge.shape"), std::vector<int64_t>(yt.getShape())), nullptr);
  else
    y.getDefiningOp()->setLoc(op.getLoc());
  op.getY().replaceAllUsesWith(y);
  op.erase();
}

struct DecomposeRotaryPass : impl::PlumbDecomposeRotaryBase<DecomposeRotaryPass> {
  void runOnOperation() override {
    llvm::SmallVector<RotaryEmbeddingOp> ops;
    getOperation().walk([&](RotaryEmbeddingOp op) { ops.push_back(op); });
    for (RotaryEmbeddingOp op : ops)
      decompose(op);
  }
};

} // namespace
} // namespace plumb
