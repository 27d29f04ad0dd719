// plumb-decompose-attention: the opset-23 Attention op, in the form a fusion pass and a fused
// kernel take (static 4-D heads or 3-D with head counts, qk_matmul_output not read), becomes the ops it stands for: a KV
// cache's Concat (the present outputs), MatMul(Q, K^T) * scale (+ mask, + causal triangle,
// softcap) -> Softmax -> MatMul(., V), K and V
// repeated over grouped query heads by Unsqueeze-like Reshape + Expand + Reshape as Llama
// exports write it. The fusion passes then see the attention pattern models exported before
// opset 23 have, and the CUDA backend runs it as its attention kernel instead of on the host.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

#include <array>
#include <cmath>
#include <limits>

namespace plumb {
#define GEN_PASS_DEF_PLUMBDECOMPOSEATTENTION
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

bool absent(Value v) { return !v || llvm::isa<mlir::NoneType>(v.getType()); }

mlir::RankedTensorType rank4(Value v) {
  auto t = llvm::dyn_cast<mlir::RankedTensorType>(v.getType());
  return t && t.getRank() == 4 && t.hasStaticShape() ? t : nullptr;
}

// Q, K or V as [B, heads, S, d]: a 4-D static input's shape, or a 3-D static [B, S, hidden]
// one split into `heads` (q_num_heads or kv_num_heads) heads.
std::optional<std::array<int64_t, 4>> headShape(Value x, int64_t heads) {
  auto t = llvm::dyn_cast<mlir::RankedTensorType>(x.getType());
  if (!t || !t.hasStaticShape())
    return std::nullopt;
  if (t.getRank() == 4)
    return std::array<int64_t, 4>{t.getDimSize(0), t.getDimSize(1), t.getDimSize(2), t.getDimSize(3)};
  if (t.getRank() != 3 || heads <= 0 || t.getDimSize(2) % heads != 0)
    return std::nullopt;
  return std::array<int64_t, 4>{t.getDimSize(0), heads, t.getDimSize(1), t.getDimSize(2) / heads};
}

std::optional<std::array<int64_t, 4>> shapeOf(AttentionOp op, unsigned operand) {
  int64_t heads = int64_t(operand == 0 ? op.getQNumHeads().value_or(0) : op.getKvNumHeads().value_or(0));
  return headShape(op->getOperand(operand), heads);
}

// Why `op` is left to its own kernel, or "" when it decomposes.
std::string whyNot(AttentionOp op) {
  if (op->getNumResults() > 3 && !op->getResult(3).use_empty())
    return "qk_matmul_output is read";
  if (absent(op.getPastKey()) != absent(op.getPastValue()) || !absent(op.getNonpadKvSeqlen()))
    return "past_key without past_value, or nonpad_kv_seqlen";
  if (!absent(op.getPastKey()) && (!rank4(op.getPastKey()) || !rank4(op.getPastValue())))
    return "a KV cache that is not 4-D and static";
  auto q = shapeOf(op, 0), k = shapeOf(op, 1), v = shapeOf(op, 2);
  auto y = llvm::dyn_cast<mlir::RankedTensorType>(op->getResult(0).getType());
  if (!q || !k || !v || !y || !y.hasStaticShape())
    return "Q, K and V are not static 4-D, or 3-D with their head counts";
  auto qt = llvm::cast<mlir::RankedTensorType>(op.getQ().getType());
  if (qt.getRank() != llvm::cast<mlir::RankedTensorType>(op.getK().getType()).getRank() ||
      qt.getRank() != llvm::cast<mlir::RankedTensorType>(op.getV().getType()).getRank())
    return "Q, K and V of different ranks";
  std::optional<DType> dt = dtypeOf(qt.getElementType());
  if (!dt || !isFloat(*dt))
    return "Q is not a float tensor";
  if ((*k)[1] != (*v)[1] || (*q)[1] % (*k)[1] != 0 || (*k)[2] != (*v)[2] || (*q)[3] != (*k)[3])
    return "heads";
  int64_t past = absent(op.getPastKey()) ? 0 : rank4(op.getPastKey()).getDimSize(2);
  if (!absent(op.getAttnMask())) {
    auto m = llvm::dyn_cast<mlir::RankedTensorType>(op.getAttnMask().getType());
    if (!m || !m.hasStaticShape() || m.getRank() < 1 || m.getShape().back() != past + (*k)[2])
      return "a mask shorter than the keys";
  }
  return "";
}

void decompose(AttentionOp op) {
  mlir::OpBuilder b(op);
  std::string y = tensorNameOf(op, 0);
  auto loc = [&](const std::string &suffix) {
    return fuseNodeLocs({op.getLoc()}, {suffix.empty() ? y : y + "/" + suffix});
  };
  std::array<int64_t, 4> q = *shapeOf(op, 0), k = *shapeOf(op, 1), v = *shapeOf(op, 2);
  mlir::Type elt = llvm::cast<mlir::RankedTensorType>(op.getQ().getType()).getElementType();
  DType dt = *dtypeOf(elt);
  int64_t B = q[0], H = q[1], S = q[2], D = q[3];
  auto type = [&](llvm::ArrayRef<int64_t> shape) { return mlir::RankedTensorType::get(shape, elt); };
  auto ints = [&](const std::vector<int64_t> &v, const std::string &what) {
    std::vector<double> d(v.begin(), v.end());
    return constantOf(b, loc(what), Tensor::fromVector(DType::F64, {int64_t(v.size())}, d).cast(DType::I64));
  };
  // 3-D [B, S, heads * d] inputs as heads: Reshape to [B, S, heads, d], Transpose to
  // [B, heads, S, d] (views the attention kernel reads in place).
  bool threeD = llvm::cast<mlir::RankedTensorType>(op.getQ().getType()).getRank() == 3;
  auto heads = [&](Value x, const std::array<int64_t, 4> &h, const std::string &what) -> Value {
    if (!threeD)
      return x;
    Value r = ReshapeOp::create(b, loc(what + "_split"), type({h[0], h[2], h[1], h[3]}), x,
                                ints({h[0], h[2], h[1], h[3]}, what + "_split.shape"), nullptr);
    return TransposeOp::create(b, loc(what + "_heads"), type({h[0], h[1], h[2], h[3]}), r,
                               b.getI64ArrayAttr({0, 2, 1, 3}));
  };
  Value query = heads(op.getQ(), q, "q");
  // A KV cache: the keys and values are the past ones then the new ones, which are also the
  // present_key/present_value outputs (the new ones alone without a past).
  Value keys = heads(op.getK(), k, "k"), values = heads(op.getV(), v, "v");
  int64_t past = 0;
  if (!absent(op.getPastKey())) {
    past = rank4(op.getPastKey()).getDimSize(2);
    // Named as the node's present outputs, so parity checks find them.
    auto grown = [&](Value p, Value x, const std::array<int64_t, 4> &t, unsigned result,
                     const char *what) -> Value {
      std::string name = op->getNumResults() > result ? tensorNameOf(op, result) : "";
      mlir::Location l = name.empty() ? loc(what) : fuseNodeLocs({op.getLoc()}, {name});
      return ConcatOp::create(b, l, type({t[0], t[1], past + t[2], t[3]}),
                              mlir::ValueRange{p, x}, b.getI64IntegerAttr(2));
    };
    keys = grown(op.getPastKey(), keys, k, 1, "present_key");
    values = grown(op.getPastValue(), values, v, 2, "present_value");
  }
  for (unsigned i : {1u, 2u})
    if (op->getNumResults() > i)
      op->getResult(i).replaceAllUsesWith(i == 1 ? keys : values);
  int64_t Hkv = k[1], T = past + k[2], DV = v[3];
  auto scalar = [&](double x, const std::string &what) {
    return constantOf(b, loc(what), Tensor::fromVector(DType::F64, Shape{}, std::vector<double>{x}).cast(dt));
  };
  // Grouped query heads: [B, Hkv, T, d] -> [B, Hkv, 1, T, d] -> [B, Hkv, H/Hkv, T, d] -> [B, H, T, d].
  auto repeated = [&](Value x, const std::array<int64_t, 4> &t, const std::string &what) -> Value {
    if (Hkv == H)
      return x;
    int64_t d = t[3], rep = H / Hkv;
    Value r = ReshapeOp::create(b, loc(what + "_heads"), type({B, Hkv, 1, T, d}), x,
                                ints({B, Hkv, 1, T, d}, what + "_heads.shape"), nullptr);
    r = ExpandOp::create(b, loc(what + "_repeated"), type({B, Hkv, rep, T, d}), r,
                         ints({B, Hkv, rep, T, d}, what + "_repeated.shape"));
    return ReshapeOp::create(b, loc(what + "_grouped"), type({B, H, T, d}), r,
                             ints({B, H, T, d}, what + "_grouped.shape"), nullptr);
  };
  Value kr = repeated(keys, k, "k"), vr = repeated(values, v, "v");
  Value kt = TransposeOp::create(b, loc("k_t"), type({B, H, D, T}), kr,
                                 b.getI64ArrayAttr({0, 1, 3, 2}));
  Value s = MatMulOp::create(b, loc("scores"), type({B, H, S, T}), query, kt);
  double scale = op.getScale() ? op.getScale()->convertToDouble() : 1.0 / std::sqrt(double(D));
  s = MulOp::create(b, loc("scaled"), type({B, H, S, T}), s, scalar(scale, "scale"));
  // The mask and the causal triangle (key j after query i, upper-left aligned) as one operand
  // of one op on the scores (the attention fusion takes one): a float mask plus the -inf
  // triangle, or a boolean mask and the allowed triangle.
  const double ninf = -std::numeric_limits<double>::infinity();
  Value mask = op.getAttnMask();
  bool causal = op.getIsCausal().value_or(0) != 0;
  bool boolean = !absent(mask) && llvm::cast<mlir::RankedTensorType>(mask.getType())
                                      .getElementType().isInteger(1);
  mlir::Operation *combined = nullptr;
  if (causal) {
    std::vector<double> tri(size_t(S * T));
    for (int64_t i = 0; i < S; ++i)
      for (int64_t j = 0; j < T; ++j)
        tri[size_t(i * T + j)] = j <= i + past ? (boolean ? 1.0 : 0.0) : (boolean ? 0.0 : ninf);
    Tensor t = Tensor::fromVector(DType::F64, {S, T}, tri).cast(boolean ? DType::Bool : dt);
    Value c = constantOf(b, loc("causal_mask"), t);
    if (absent(mask)) {
      mask = c;
    } else {
      // [.., S, T] broadcast with [S, T]: the mask's shape, its last two dims S and T.
      auto mt = llvm::cast<mlir::RankedTensorType>(mask.getType());
      llvm::SmallVector<int64_t> shape(mt.getShape());
      while (shape.size() < 2)
        shape.insert(shape.begin(), 1);
      shape[shape.size() - 2] = S;
      shape.back() = T;
      auto both = mlir::RankedTensorType::get(shape, mt.getElementType());
      combined = boolean ? AndOp::create(b, loc("mask_and_causal"), both, mask, c).getOperation()
                         : AddOp::create(b, loc("mask_and_causal"), both, mask, c).getOperation();
      mask = combined->getResult(0);
    }
  }
  if (!absent(mask))
    s = boolean ? Value(WhereOp::create(b, loc("masked"), type({B, H, S, T}), mask, s,
                                        scalar(ninf, "mask_fill")))
                : Value(AddOp::create(b, loc("masked"), type({B, H, S, T}), s, mask));
  // softcap * tanh(scores / softcap), after the mask (a -inf stays -inf).
  if (double cap = op.getSoftcap() ? op.getSoftcap()->convertToDouble() : 0.0; cap > 0) {
    Value c = scalar(cap, "softcap");
    s = DivOp::create(b, loc("capped_in"), type({B, H, S, T}), s, c);
    s = TanhOp::create(b, loc("capped_tanh"), type({B, H, S, T}), s);
    s = MulOp::create(b, loc("capped"), type({B, H, S, T}), s, c);
  }
  // A constant mask and the triangle: one constant (folding ran before this pass).
  if (combined)
    foldConstantOp(combined, int64_t(1) << 24);
  Value p = SoftmaxOp::create(b, loc("probs"), type({B, H, S, T}), s, b.getI64IntegerAttr(-1));
  Value out;
  if (!threeD) {
    out = MatMulOp::create(b, loc(""), op->getResult(0).getType(), p, vr);
  } else { // back to [B, S, heads * DV]
    out = MatMulOp::create(b, loc("context"), type({B, H, S, DV}), p, vr);
    out = TransposeOp::create(b, loc("context_t"), type({B, S, H, DV}), out,
                              b.getI64ArrayAttr({0, 2, 1, 3}));
    out = ReshapeOp::create(b, loc(""), op->getResult(0).getType(), out,
                            ints({B, S, H * DV}, "merge.shape"), nullptr);
  }
  op->getResult(0).replaceAllUsesWith(out);
  op.erase();
}

struct DecomposeAttentionPass : impl::PlumbDecomposeAttentionBase<DecomposeAttentionPass> {
  void runOnOperation() override {
    llvm::SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) {
      if (whyNot(op).empty())
        ops.push_back(op);
    });
    for (AttentionOp op : ops)
      decompose(op);
  }
};

} // namespace
} // namespace plumb
