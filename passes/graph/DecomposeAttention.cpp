// plumb-decompose-attention: the opset-23 Attention op, in the form a fusion pass and a fused
// kernel take (static 4-D heads or 3-D with head counts), becomes the ops it stands for: a KV
// cache's Concat (the present outputs), MatMul(Q, K^T) * scale (+ mask, + key padding,
// + causal triangle, softcap) -> Softmax -> MatMul(., V), K and V
// repeated over grouped query heads by Unsqueeze-like Reshape + Expand + Reshape as Llama
// exports write it. The fusion passes then see the attention pattern models exported before
// opset 23 have, and the CUDA backend runs it as its attention kernel instead of on the host.
// A read qk_matmul_output is the intermediate it names (the attention fusion then leaves the
// body to be lowered op by op, still on the device).
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
  if (absent(op.getPastKey()) != absent(op.getPastValue()))
    return "past_key without past_value";
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
    // A mask shorter than the keys leaves the rest masked out (padded with -inf below).
    auto m = llvm::dyn_cast<mlir::RankedTensorType>(op.getAttnMask().getType());
    if (!m || !m.hasStaticShape() || m.getRank() < 1 || m.getRank() > 4 ||
        m.getShape().back() > past + (*k)[2])
      return "a mask that is not static, of rank 1 to 4 and at most as long as the keys";
  }
  if (!absent(op.getNonpadKvSeqlen())) {
    auto n = llvm::dyn_cast<mlir::RankedTensorType>(op.getNonpadKvSeqlen().getType());
    if (!n || !n.hasStaticShape() || n.getRank() != 1 || n.getDimSize(0) != (*q)[0])
      return "nonpad_kv_seqlen is not one length per batch";
  }
  int64_t mode = op.getQkMatmulOutputMode().value_or(0);
  if (op->getNumResults() > 3 && !op->getResult(3).use_empty() && (mode < 0 || mode > 3))
    return "qk_matmul_output_mode outside 0 to 3";
  return "";
}

// The numpy broadcast of two static shapes (their ranks may differ).
llvm::SmallVector<int64_t> broadcastOf(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> c) {
  size_t r = std::max(a.size(), c.size());
  llvm::SmallVector<int64_t> out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t y = i < r - c.size() ? 1 : c[i - (r - c.size())];
    out[i] = x == 1 ? y : x;
  }
  return out;
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
    return intsConstantOf(b, loc(what), v);
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
    return scalarConstantOf(b, loc(what), x, dt);
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
  // qk_matmul_output, when read: the scores after the scale (mode 0), the mask (1), the
  // softcap (2) or the softmax (3), as the reference computes them.
  int64_t mode = op.getQkMatmulOutputMode().value_or(0);
  bool qkRead = op->getNumResults() > 3 && !op->getResult(3).use_empty();
  Value qk = mode == 0 ? s : Value();
  // The mask, the key padding (nonpad_kv_seqlen) and the causal triangle (key j after query
  // i, upper-left aligned) become one operand of one op on the scores (the attention fusion
  // takes one): -inf/0 added, or a boolean of the allowed keys. The ops making it are folded
  // when their operands are constants (a constant mask and the triangle: one constant).
  const double ninf = -std::numeric_limits<double>::infinity();
  Value mask = op.getAttnMask();
  bool boolean = !absent(mask) && llvm::cast<mlir::RankedTensorType>(mask.getType())
                                      .getElementType().isInteger(1);
  llvm::SmallVector<mlir::Operation *> maskOps;
  auto shapeOfValue = [](Value x) { return llvm::cast<mlir::RankedTensorType>(x.getType()).getShape(); };
  // mask AND allowed, or mask + allowed (float): broadcast to their joint shape.
  auto combine = [&](Value allowed, const std::string &what) {
    if (absent(mask)) {
      mask = allowed;
      return;
    }
    auto both = mlir::RankedTensorType::get(broadcastOf(shapeOfValue(mask), shapeOfValue(allowed)),
                                            llvm::cast<mlir::RankedTensorType>(mask.getType()).getElementType());
    mlir::Operation *o = boolean ? AndOp::create(b, loc(what), both, mask, allowed).getOperation()
                                 : AddOp::create(b, loc(what), both, mask, allowed).getOperation();
    maskOps.push_back(o);
    mask = o->getResult(0);
  };
  if (!absent(mask)) {
    // Keys past the mask's end are masked out (the reference's rule): pad the last axis.
    auto mt = llvm::cast<mlir::RankedTensorType>(mask.getType());
    if (int64_t m = mt.getShape().back(); m < T) {
      int64_t r = mt.getRank();
      std::vector<int64_t> pads(size_t(2 * r), 0);
      pads.back() = T - m;
      llvm::SmallVector<int64_t> shape(mt.getShape());
      shape.back() = T;
      Value fill = boolean ? constantOf(b, loc("mask_pad_fill"), Tensor::zeros(DType::Bool, {}))
                           : scalar(ninf, "mask_pad_fill");
      auto pad = PadOp::create(b, loc("mask_padded"), mlir::RankedTensorType::get(shape, mt.getElementType()),
                               mask, ints(pads, "mask_padded.pads"), fill,
                               NoneOp::create(b, loc("mask_padded.axes"), b.getNoneType()),
                               b.getStringAttr("constant"), nullptr, nullptr);
      maskOps.push_back(pad);
      mask = pad.getResult();
    }
  }
  if (Value lens = op.getNonpadKvSeqlen(); !absent(lens)) {
    // Key j of batch b is a key when j < nonpad_kv_seqlen[b]: [1, T] iota < [B, 1] lengths.
    std::vector<int64_t> iota(static_cast<size_t>(T));
    for (int64_t j = 0; j < T; ++j)
      iota[size_t(j)] = j;
    auto i64 = [&](llvm::ArrayRef<int64_t> shape) { return mlir::RankedTensorType::get(shape, b.getI64Type()); };
    auto i1 = [&](llvm::ArrayRef<int64_t> shape) { return mlir::RankedTensorType::get(shape, b.getI1Type()); };
    Value len = ReshapeOp::create(b, loc("kv_lengths"), i64({B, 1}), lens,
                                  ints({B, 1}, "kv_lengths.shape"), nullptr);
    Value keys = constantOf(b, loc("kv_positions"), Tensor::fromVector(DType::I64, {1, T}, iota));
    Value allowed = LessOp::create(b, loc("kv_nonpad"), i1({B, T}), keys, len);
    allowed = ReshapeOp::create(b, loc("kv_nonpad_heads"), i1({B, 1, 1, T}), allowed,
                                ints({B, 1, 1, T}, "kv_nonpad_heads.shape"), nullptr);
    if (absent(mask)) {
      boolean = true;
    } else if (!boolean) {
      allowed = WhereOp::create(b, loc("kv_nonpad_bias"), type({B, 1, 1, T}), allowed,
                                scalar(0.0, "kv_nonpad_keep"), scalar(ninf, "kv_nonpad_fill"));
    }
    combine(allowed, "mask_and_nonpad");
  }
  if (op.getIsCausal().value_or(0) != 0) {
    std::vector<double> tri(size_t(S * T));
    for (int64_t i = 0; i < S; ++i)
      for (int64_t j = 0; j < T; ++j)
        tri[size_t(i * T + j)] = j <= i + past ? (boolean ? 1.0 : 0.0) : (boolean ? 0.0 : ninf);
    Tensor t = Tensor::fromVector(DType::F64, {S, T}, tri).cast(boolean ? DType::Bool : dt);
    combine(constantOf(b, loc("causal_mask"), t), "mask_and_causal");
  }
  if (!absent(mask))
    s = boolean ? Value(WhereOp::create(b, loc("masked"), type({B, H, S, T}), mask, s,
                                        scalar(ninf, "mask_fill")))
                : Value(AddOp::create(b, loc("masked"), type({B, H, S, T}), s, mask));
  if (mode == 1)
    qk = s;
  // softcap * tanh(scores / softcap), after the mask (a -inf stays -inf).
  if (double cap = op.getSoftcap() ? op.getSoftcap()->convertToDouble() : 0.0; cap > 0) {
    Value c = scalar(cap, "softcap");
    s = DivOp::create(b, loc("capped_in"), type({B, H, S, T}), s, c);
    s = TanhOp::create(b, loc("capped_tanh"), type({B, H, S, T}), s);
    s = MulOp::create(b, loc("capped"), type({B, H, S, T}), s, c);
  }
  if (mode == 2)
    qk = s;
  for (mlir::Operation *o : maskOps) // in order: each fold makes the next one's operand constant
    foldConstantOp(o, int64_t(1) << 24);
  Value p = SoftmaxOp::create(b, loc("probs"), type({B, H, S, T}), s, b.getI64IntegerAttr(-1));
  if (mode == 3)
    qk = p;
  if (qkRead) { // the intermediate is that output: named as it, so parity checks find it
    qk.getDefiningOp()->setLoc(fuseNodeLocs({op.getLoc()}, {tensorNameOf(op, 3)}));
    op->getResult(3).replaceAllUsesWith(qk);
  }
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
