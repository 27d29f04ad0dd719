// plumb-fuse-attention: MatMul(Q, K^T) -> scale -> mask -> Softmax -> MatMul(., V) -> "attention".
#include "passes/Passes.h"
#include "passes/fusion/Match.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBFUSEATTENTION
#include "passes/Passes.h.inc"

using namespace mlir;

namespace {

// A Transpose that swaps the last two axes only (K -> K^T); other permutations (head
// splits) stay outside so the fusion's K operand is K^T itself.
bool swapsLastTwoAxes(TransposeOp t) {
  auto type = dyn_cast<RankedTensorType>(t.getData().getType());
  if (!type || type.getRank() < 2)
    return false;
  int64_t rank = type.getRank();
  SmallVector<int64_t> perm;
  if (std::optional<ArrayAttr> attr = t.getPerm())
    for (Attribute a : *attr)
      perm.push_back(cast<IntegerAttr>(a).getInt());
  else if (rank == 2)
    perm = {1, 0}; // default: reversed axes
  if (int64_t(perm.size()) != rank)
    return false;
  for (int64_t i = 0; i < rank - 2; ++i)
    if (perm[i] != i)
      return false;
  return perm[rank - 2] == rank - 1 && perm[rank - 1] == rank - 2;
}

// Q K^T, with the Transpose of K when it is one; appends the ops.
bool matchScores(Value v, SmallVectorImpl<Operation *> &ops) {
  auto qk = fusibleDef<MatMulOp>(v);
  if (!qk || !v.hasOneUse())
    return false;
  ops.push_back(qk);
  if (auto t = fusibleDef<TransposeOp>(qk.getB());
      t && qk.getB().hasOneUse() && swapsLastTwoAxes(t))
    ops.push_back(t);
  return true;
}

// Q K^T optionally scaled by a constant: Div(scores, c), Mul(scores, c) or Mul(c, scores).
bool matchScaledScores(Value v, SmallVectorImpl<Operation *> &ops) {
  Operation *def = v.getDefiningOp();
  if (v.hasOneUse() && isFusible(def) && isa<DivOp, MulOp>(def)) {
    for (unsigned i = 0; i < 2; ++i) {
      bool scale = (i == 0 || isa<MulOp>(def)) && scalarConstant(def->getOperand(1 - i));
      SmallVector<Operation *> scores;
      if (scale && matchScores(def->getOperand(i), scores)) {
        ops.push_back(def);
        ops.append(scores);
        return true;
      }
    }
  }
  return matchScores(v, ops);
}

// The Softmax input: scores, then an optional mask (Add on either side, or Where keeping
// the scores where the condition holds or where it does not).
bool matchMaskedScores(Value v, SmallVectorImpl<Operation *> &ops) {
  Operation *def = v.getDefiningOp();
  if (v.hasOneUse() && isFusible(def) && isa<AddOp, WhereOp>(def)) {
    unsigned first = isa<WhereOp>(def) ? 1 : 0;
    for (unsigned i = first; i < def->getNumOperands(); ++i) {
      SmallVector<Operation *> scores;
      if (matchScaledScores(def->getOperand(i), scores)) {
        ops.push_back(def);
        ops.append(scores);
        return true;
      }
    }
  }
  return matchScaledScores(v, ops);
}

// The Softmax input: masked scores, then an optional softcap c * tanh(x / c) (Gemma 2; the
// Attention op's softcap, decomposed): Mul(Tanh(Div(x, c)), c), the Mul either way round.
bool matchCappedScores(Value v, SmallVectorImpl<Operation *> &ops) {
  auto mul = v.hasOneUse() ? v.getDefiningOp<MulOp>() : nullptr;
  for (unsigned i = 0; mul && isFusible(mul) && i < 2; ++i) {
    Value c = mul->getOperand(1 - i);
    auto tanh = mul->getOperand(i).getDefiningOp<TanhOp>();
    if (!scalarConstant(c) || !tanh || !isFusible(tanh) || !tanh.getResult().hasOneUse())
      continue;
    auto div = tanh->getOperand(0).getDefiningOp<DivOp>();
    if (!div || !isFusible(div) || !div.getResult().hasOneUse() ||
        !scalarConstant(div.getB()))
      continue;
    SmallVector<Operation *> scores;
    if (matchMaskedScores(div.getA(), scores)) {
      ops.append({mul, tanh, div});
      ops.append(scores);
      return true;
    }
  }
  return matchMaskedScores(v, ops);
}

// Softmax's axis; without the attribute it is -1 from opset 13 on and 1 before.
int64_t softmaxAxis(SoftmaxOp softmax) {
  if (IntegerAttr axis = softmax.getAxisAttr())
    return axis.getInt();
  auto module = softmax->getParentOfType<ModuleOp>();
  auto opset = module ? module->getAttrOfType<IntegerAttr>(kOpsetAttr) : nullptr;
  return opset && opset.getInt() < 13 ? 1 : -1;
}

std::optional<FusionMatch> matchAttention(SoftmaxOp softmax) {
  if (!isLastAxis(softmaxAxis(softmax), softmax.getInput()))
    return std::nullopt;
  auto pv = soleUser<MatMulOp>(softmax.getResult());
  if (!pv || pv.getA() != softmax.getResult())
    return std::nullopt;
  FusionMatch m{{softmax, pv}, "attention"};
  if (!matchCappedScores(softmax.getInput(), m.ops))
    return std::nullopt;
  return m;
}

struct FuseAttention : impl::PlumbFuseAttentionBase<FuseAttention> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachTopLevelOp(getOperation(), [&](Operation *op) {
      auto softmax = dyn_cast<SoftmaxOp>(op);
      if (!softmax || !isFusible(softmax))
        return;
      if (std::optional<FusionMatch> m = matchAttention(softmax))
        applyFusion(rewriter, *m);
    });
  }
};

} // namespace
} // namespace plumb
